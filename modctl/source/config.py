"""modctl.yaml as state commands see it: as committed at HEAD.

An unfinished or broken edit in the working tree never changes or blocks a rollback; and reading
one blob (through the invocation's one `cat-file` process) keeps an emergency command's start-up
small (no bundle loading).
"""

from __future__ import annotations

from pathlib import Path

from modctl.errors import ChecksFailedError, UsageError
from modctl.findings import Finding, Severity
from modctl.gitio import Git
from modctl.lint import config as config_lint
from modctl.lint.catalogue import finding
from modctl.model import Config
from modctl.source.files import Cache, Loaded, parse
from modctl.source.repo import CONFIG_NAME, SourceFile


def config_at(git: Git | Path, rev: str = "HEAD") -> Config:
    """The `modctl.yaml` of the folder `git` runs in (or of a strategy repository's root), as
    committed at `rev`."""
    reader = git if isinstance(git, Git) else Git(git)
    found = reader.cat().read(f"{rev}:./{CONFIG_NAME}")
    if found is None or found.kind != "blob":
        raise UsageError(f"{CONFIG_NAME} is not committed at {rev}; commit it first")
    loaded = Loaded(SourceFile(CONFIG_NAME, "config"), found.data)
    # The same content passed the schema before (here or in `modctl validate`): the parse cache
    # has it, keyed by content, and the schema validator need not even be imported.
    cache = Cache.of(reader.cwd)
    data = cache.parsed(loaded) if cache is not None else None
    findings: list[Finding] = []
    if data is None:
        data, findings = parse(loaded.source, loaded.raw)
        if cache is not None and data is not None and not findings:
            cache.keep(loaded, data)
    if data is not None and not findings:
        config = Config.from_data(data, CONFIG_NAME)
        findings = config_lint.check(config)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if data is None or errors:
        first = errors[0] if errors else finding("Y001", CONFIG_NAME, "cannot be read")
        raise ChecksFailedError(f"{CONFIG_NAME} at {rev} is invalid: {first.code} {first.message}")
    return config
