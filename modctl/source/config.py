"""modctl.yaml as state commands see it: as committed at HEAD, read with one `git show`.

An unfinished or broken edit in the working tree never changes or blocks a rollback; and reading
one blob keeps an emergency command's start-up small (no GitPython, no bundle loading).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from modctl.errors import ChecksFailedError, GitError, UsageError
from modctl.findings import Severity
from modctl.lint import config as config_lint
from modctl.lint.catalogue import finding
from modctl.model import Config
from modctl.source.files import parse
from modctl.source.repo import CONFIG_NAME, SourceFile


def config_at(root: Path, rev: str = "HEAD") -> Config:
    try:
        done = subprocess.run(
            ["git", "show", f"{rev}:./{CONFIG_NAME}"], cwd=root, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git") from None
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace")
        if "not a git repository" in error:
            raise GitError(
                f"this command needs a git repository, and {root} is not inside one; "
                "run `git init` first"
            )
        raise UsageError(f"{CONFIG_NAME} is not committed at {rev}; commit it first")
    data, found = parse(SourceFile(CONFIG_NAME, "config"), done.stdout)
    if data is not None and not found:
        config = Config.from_data(data, CONFIG_NAME)
        found = config_lint.check(config)
    errors = [f for f in found if f.severity is Severity.ERROR]
    if data is None or errors:
        first = errors[0] if errors else finding("Y001", CONFIG_NAME, "cannot be read")
        raise ChecksFailedError(f"{CONFIG_NAME} at {rev} is invalid: {first.code} {first.message}")
    return config
