"""The journal: what each state commit did and why, written as its subject line and `Modctl-*`
trailers, read back with one `git log`, and filtered for `modctl log` (and, later, incidents)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from modctl import printable
from modctl.errors import UsageError
from modctl.gitio import Git
from modctl.state.rollout import seconds

TRAILERS = (
    "Action",
    "Bundle",
    "Region",
    "Release",
    "Incident",
    "Actor",
    "Reason",
    "Forced",
    "Config",
    "Hotpatch",
    "Playbook",
)
# What the user typed to set a trailer, for messages about its value.
OPTIONS = {"actor": "--actor", "reason": "--reason", "incident": "--incident"}


def problem(value: str) -> str | None:
    """What keeps `value` from being one journal line a reader can see, or None."""
    if any("\ud800" <= char <= "\udfff" for char in value):
        # Bytes that are not UTF-8 reach Python's argv and environment as lone surrogates.
        return "is not UTF-8 text"
    char = printable.unsafe(value)
    if char is not None:
        return f"holds the control character {printable.escape(char)}"
    if not printable.visible(value):
        return "has no visible character"
    return None


def check(name: str, value: str) -> str:
    """`value`, or UsageError naming `name` (an option, a variable) when it is not one line of
    visible, printable UTF-8 text."""
    found = problem(value)
    if found is not None:
        raise UsageError(f"{name} {found}; the journal takes one line of visible, printable text")
    return value


@dataclass(frozen=True)
class Entry:
    """What a state commit did and why, as its subject line and trailers."""

    action: str
    actor: str
    summary: str
    bundle: str | None = None
    region: str | None = None
    release: str | None = None
    incident: str | None = None
    reason: str | None = None
    forced: str | None = None  # the check a command was told to skip, e.g. min_bake
    config: str | None = None  # the blob of the modctl.yaml a rollout command obeyed
    hotpatch: str | None = None  # the hot-patch a command made or reverted
    playbook: str | None = None  # the playbook `emergency run` ran
    commit: str | None = None
    time: str | None = None
    problem: str | None = None  # why its trailers cannot be read, for a commit read back

    def to_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)

    def check(self) -> None:
        """Refuse (UsageError) a summary or trailer value that is not one visible line of text:
        every state commit's message is made here, so every writer is held to it."""
        check("the summary", self.summary)
        for key in TRAILERS:
            value = getattr(self, key.lower())
            if value:
                check(OPTIONS.get(key.lower(), f"the {key.lower()}"), str(value))

    def message(self) -> str:
        self.check()
        lines = [self.summary, ""]
        for key in TRAILERS:
            value = getattr(self, key.lower())
            if value:
                lines.append(f"Modctl-{key}: {' '.join(str(value).split())}")
        return "\n".join(lines) + "\n"

    @property
    def regions(self) -> list[str]:
        return (self.region or "").split(",") if self.region else []

    @property
    def bundles(self) -> list[str]:
        """The bundles it touched: one, or several for one `rollout advance` run."""
        return (self.bundle or "").split(",") if self.bundle else []


@dataclass(frozen=True)
class Filter:
    """Which entries `modctl log` shows; None matches anything."""

    bundle: str | None = None
    region: str | None = None
    incident: str | None = None
    action: str | None = None
    actor: str | None = None

    def __call__(self, entry: Entry) -> bool:
        return (
            (self.bundle is None or self.bundle in entry.bundles)
            and (self.region is None or self.region in entry.regions)
            and (self.incident is None or entry.incident == self.incident)
            and (self.action is None or entry.action == self.action)
            and (self.actor is None or entry.actor == self.actor)
        )


SINCE_HELP = (
    "a date or time (2026-11-25, 2026-11-25T14:30, 2026-11-25T14:30+08:00; UTC unless it says) "
    "or a duration back from now (30m, 2h, 3d, 1h30m)"
)


def since(text: str, now: datetime) -> datetime:
    """The moment `log --since TEXT` names, in UTC without time zone (as `now` is): a duration
    back from `now`, or an ISO 8601 date or time. UsageError for anything else."""
    value = text.strip()
    try:
        if re.fullmatch(r"(?:[0-9]+[smhd])+", value):
            return now - timedelta(seconds=seconds(value))
        if value[-1:] in ("Z", "z"):
            value = value[:-1] + "+00:00"
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise UsageError(f"--since {printable.shown(text)} is not {SINCE_HELP}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def read(git: Git, ref: str, since: datetime | None = None) -> list[Entry]:
    """Every entry on `ref`, newest first, from one `git log`; with `since` (UTC), only those
    committed at or after it.

    Fields and trailers are separated by NUL, which git never prints from a commit message (it
    ends the message there), so no value can imitate a separator; each record ends with an
    empty field. A commit whose trailers cannot be read is an entry with a `problem`.
    """
    keys = ",".join(f"key=Modctl-{k}" for k in TRAILERS)
    fmt = f"%H%x00%cI%x00%s%x00%(trailers:{keys},unfold,separator=%x00)%x00"
    # Seconds since 1970 as a commit header writes them, which git reads exactly for any year
    # (its calendar dates stop at 2099); at least 1, since git takes 0 for no time at all.
    epoch = max(1, int(since.replace(tzinfo=timezone.utc).timestamp())) if since else 0
    after = [f"--since=@{epoch} +0000"] if since else []
    args = ["log", "-z", f"--format={fmt}", *after, ref, "--"]
    fields = iter(git.run(*args).split(b"\0"))
    entries = []
    for commit in fields:
        if not commit:
            continue  # the NUL that ends a record
        when, summary = next(fields, b""), next(fields, b"")
        trailers = list(iter(lambda: next(fields, b""), b""))
        entries.append(_entry(commit.decode(), when.decode(), summary, trailers))
    return entries


def _entry(commit: str, when: str, summary: bytes, trailers: list[bytes]) -> Entry:
    problems = []
    values: dict[str, str] = {}
    twice: set[str] = set()
    for raw in trailers:
        key, _, value = raw.decode(errors="replace").partition(":")
        key = key.strip()
        name = key.lower().removeprefix("modctl-")
        if not _utf8(raw):
            problems.append(f"{key} is not UTF-8 text")
        if name in values:
            twice.add(name)
            problems.append(f"{key} twice")
        values[name] = value.strip()
    for name in twice:
        del values[name]  # which one the writer meant cannot be told
    if not _utf8(summary):
        problems.append("the subject is not UTF-8 text")
    return Entry(
        action=values.pop("action", ""),
        actor=values.pop("actor", ""),
        summary=summary.decode(errors="replace"),
        commit=commit,
        time=when,
        problem="; ".join(dict.fromkeys(problems)) or None,
        **{name: value for name, value in values.items() if name in _OPTIONAL},
    )


_OPTIONAL = {key.lower() for key in TRAILERS} - {"action", "actor"}


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True
