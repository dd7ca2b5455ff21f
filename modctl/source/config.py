"""modctl.yaml as state commands see it: as committed at HEAD.

An unfinished or broken edit in the working tree never changes or blocks a rollback; and reading
one blob (through the invocation's one `cat-file` process) keeps an emergency command's start-up
small (no bundle loading).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from modctl import printable, yamlio
from modctl.errors import ChecksFailedError, UsageError
from modctl.findings import Finding, Severity
from modctl.gitio import Git
from modctl.lint import config as config_lint
from modctl.lint.catalogue import finding
from modctl.model import DEFAULT_STATE_BRANCH, Config
from modctl.source.files import Cache, Loaded, parse, read_source
from modctl.source.repo import CONFIG_NAME, SourceFile


def config_at(git: Git | Path, rev: str = "HEAD") -> Config:
    """The `modctl.yaml` of the folder `git` runs in (or of a strategy repository's root), as
    committed at `rev`."""
    return config_of(git, f"{rev}:./{CONFIG_NAME}", f"at {rev}")


def config_of(git: Git | Path, spec: str, where: str) -> Config:
    """The `modctl.yaml` that the git object `spec` holds (a blob, or `REV:PATH`); `where` says
    in messages which one it is."""
    reader = git if isinstance(git, Git) else Git(git)
    found = reader.cat().read(spec)
    if found is None or found.kind != "blob":
        raise UsageError(f"{CONFIG_NAME} is not committed {where}; commit it first")
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
        raise ChecksFailedError(f"{CONFIG_NAME} {where} is invalid: {first.code} {first.message}")
    return replace(config, blob=found.oid)


def uncommitted_state(git: Git, root: Path, committed: Config) -> str | None:
    """One line for the user when the working tree's `modctl.yaml` sets `state` otherwise than
    `committed` (which state commands obey), else None. The working file is parsed only when
    its bytes differ from the committed blob; one that cannot be read or parsed says nothing
    here (`validate` tells)."""
    working = read_source(root, SourceFile(CONFIG_NAME, "config"))
    found = git.cat().read(committed.blob) if committed.blob else None
    if working.findings or found is None or working.raw == found.data:
        return None
    now, then = _state(working.raw), _state(found.data)
    if now is None or then is None or now == then:
        return None
    changes = [
        f"state.{key} to {_setting(now.get(key))} (committed: {_setting(then.get(key))})"
        for key in sorted({*now, *then}, key=str)
        if now.get(key) != then.get(key)
    ]
    return (
        f"{CONFIG_NAME} in the working tree sets {', '.join(changes)}; state commands use "
        f"the {CONFIG_NAME} committed at HEAD until you commit it"
    )


def _state(raw: bytes) -> dict[Any, Any] | None:
    try:
        data = yamlio.loads(yamlio.decode(raw))
    except yamlio.YamlError:
        return None
    if not isinstance(data, dict):
        return None
    state = data.get("state") or {}
    if not isinstance(state, dict):
        return None
    return {"branch": DEFAULT_STATE_BRANCH, **state}  # unset is the default, as Config reads it


def _setting(value: Any) -> str:
    return "not set" if value is None else printable.shown(str(value))


class Recorded:
    """`modctl.yaml` as each state commit recorded it (its `Modctl-Config` blob), so that a replay
    obeys the config the command obeyed, not today's. A blob must have been `modctl.yaml` in a
    commit of the checked-out history (the reviewed one, when that is the main branch): a state
    commit cannot name a config nobody committed, or one left on an unmerged branch."""

    def __init__(self, git: Git, current: Config) -> None:
        self.git = git
        self.current = current
        self.seen: dict[str, Config] = {}

    def of(self, blob: str | None) -> Config:
        if not blob or blob == self.current.blob:
            return self.current
        if blob not in self.seen:
            found = self.git.call(
                "log", "HEAD", "--format=%H", "-1", f"--find-object={blob}", "--", CONFIG_NAME
            )
            if found.status != 0 or not found.stdout.strip():
                raise UsageError(
                    f"it names {CONFIG_NAME} blob {blob[:12]}, which no commit of the checked-out "
                    f"history has as its {CONFIG_NAME}"
                )
            self.seen[blob] = config_of(self.git, blob, f"as blob {blob[:12]}")
        return self.seen[blob]
