"""Replaying recorded commands: a state commit's journal entry names the command that made it, and
running that command on the commit's parent state, at the commit's time and by the same pure
functions the commands use, must give exactly the commit's change.

`audit verify` checks every commit so; `sync` runs each local command again on the remote's newer
state. An `emergency` run is replayed from the run record it wrote: the playbook's text and its
typed parameters, planned again by the same planner. A few parameters are not in the journal (`promote --full`, `rollback --to`, `start
--at-step`): the one that reproduces the commit on its own parent is the one the command had.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from modctl import yamlio
from modctl.errors import RefusedError, UsageError
from modctl.model import Config
from modctl.state import rollout
from modctl.state.files import artifact_file, manifest_file, manifests
from modctl.state.journal import Entry
from modctl.state.operations import Journal, advanced, expiring, froze, transitioned
from modctl.state.rollout import Situation
from modctl.state.store import Snapshot

ROLLOUT = ("start", "promote", "demote", "pause", "resume", "abort", "rollback", "advance")
HOTPATCH = ("hotpatch", "hotpatch-revert", "hotpatch-expire")
MAX_STEPS = 16  # more steps than any wave has: a start is tried at each
ACTIONS = (*ROLLOUT, *HOTPATCH, "freeze", "unfreeze", "release", "analyze", "emergency")

Files = dict[str, bytes | None]


class Mismatch(Exception):
    """A commit is not what its recorded command makes; the message says how."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class Command:
    """A recorded command, with the parameters that reproduced its commit."""

    entry: Entry
    moment: datetime
    full: bool = False  # promote --full
    to: str | None = None  # rollback --to
    step: int = 0  # start --at-step, 0-based
    # release: manifest and artifact; analyze, advance: the analyses; emergency: the run record
    released: dict[str, bytes] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)  # hotpatch: what made the record

    def run(self, snapshot: Snapshot, config: Config) -> tuple[Files, Entry]:
        """The files the command writes on `snapshot`, and its entry; RefusedError (or
        UsageError) when it does not apply there."""
        e = self.entry
        journal = Journal(e.actor, e.reason, e.incident)
        if e.action in ("freeze", "unfreeze"):
            files, entry, _left = froze(
                snapshot,
                e.regions,
                e.action == "freeze",
                journal,
                self.moment,
                force=e.forced == "incident",
            )
            return files, entry
        if e.action == "release":
            return self._release(snapshot)
        if e.action == "analyze":
            return self._analyses(snapshot, config)
        if e.action == "advance":
            return self._advance(snapshot, config)
        if e.action == "hotpatch-expire":
            files, made = expiring(snapshot, config, journal, self.moment)
            return files, made
        if e.action == "emergency":
            return self._emergency(snapshot, config)
        if not e.bundle:
            raise UsageError(f"{e.action} names no bundle (no Modctl-Bundle trailer)")
        mutate = self._mutation()
        return transitioned(
            snapshot, config, e.bundle, e.action, mutate, journal, self.moment, forced=e.forced
        )

    def _mutation(self) -> Callable[[Situation], str]:
        from modctl.state import hotpatch

        e = self.entry
        if e.action == "hotpatch":
            return hotpatch.applying(
                e.regions, self.request, actor=e.actor, reason=e.reason or "", incident=e.incident
            )
        if e.action == "hotpatch-revert":
            if not e.hotpatch:
                raise UsageError("hotpatch-revert names no hot-patch")
            ident = e.hotpatch
            return lambda s: hotpatch.unpatch(s, ident, e.regions)
        if e.action == "start":
            version = e.release
            if not version or not e.regions:
                raise UsageError("start names no release or no region")
            return lambda s: rollout.start(s, version, e.regions, self.step)
        if len(e.regions) != 1:
            raise UsageError(f"{e.action} must name one region, not {len(e.regions)}")
        region = e.regions[0]
        if e.action == "promote":
            force = e.forced == "min_bake"
            return lambda s: rollout.promote(s, region, full=self.full, force=force)
        if e.action == "demote":
            return lambda s: rollout.demote(s, region)
        if e.action in ("pause", "resume"):
            return lambda s: rollout.pause(s, region, paused=e.action == "pause")
        if e.action == "abort":
            return lambda s: rollout.abort(s, region)
        return lambda s: rollout.rollback(s, region, self.to)

    def _analyses(self, snapshot: Snapshot, config: Config) -> tuple[Files, Entry]:
        """The recorded analyses again, each verdict recomputed from its recorded counts."""
        from modctl.state import analysis

        e = self.entry
        if not e.bundle or not self.released:
            raise UsageError("analyze names no bundle or records no analysis")
        for path, data in sorted(self.released.items()):
            if not path.startswith(f"analyses/{e.bundle}/"):
                raise RefusedError(f"{path} is no analysis of {e.bundle}")
            analysis.recheck(snapshot, config, path, data)
        journal = Journal(e.actor, e.reason, e.incident)
        made = analysis.entry(e.bundle, dict(self.released), journal, config)
        return dict(self.released), made

    def _advance(self, snapshot: Snapshot, config: Config) -> tuple[Files, Entry]:
        """The promotions and aborts again, each from the verdict its recorded analysis gives:
        promote one step where every gate passed, abort where one failed."""
        from modctl.gates.judge import FAIL, PASS
        from modctl.state import analysis

        e = self.entry
        if not e.bundle:
            raise UsageError("advance names no bundle")
        recorded = {p: d for p, d in self.released.items() if p.startswith("analyses/")}
        decisions: dict[str, dict[str, str]] = {}
        for path, data in sorted(recorded.items()):
            analysis.recheck(snapshot, config, path, data)
            record = json.loads(data)
            if record["verdict"] not in (PASS, FAIL):
                raise RefusedError(f"{path}: an inconclusive verdict moves no canary")
            decisions.setdefault(record["bundle"], {})[record["region"]] = record["verdict"]
        if not decisions:
            raise UsageError("advance records no analysis that decided it")
        journal = Journal(e.actor, e.reason, e.incident)
        files, made = advanced(snapshot, config, decisions, journal, self.moment)
        return {**files, **recorded}, made

    def _emergency(self, snapshot: Snapshot, config: Config) -> tuple[Files, Entry]:
        """The playbook run again from its run record (the playbook's text, the typed
        parameters) with the same planner, at the commit's time. Its verify steps are not run
        again: they only decided whether the run could be written (it was), by the tests of
        each release's source commit, and change no file; what is compared is the state the
        steps make."""
        from modctl.emergency import params as types
        from modctl.emergency.plan import RECORDS, plan
        from modctl.emergency.playbook import load

        e = self.entry
        records = [(path, data) for path, data in self.released.items() if path.startswith(RECORDS)]
        if not e.playbook or len(records) != 1:
            raise UsageError("an emergency run names its playbook and writes one run record")
        path, data = records[0]
        try:
            record = json.loads(data)
        except ValueError:
            record = None
        if not (
            isinstance(record, dict)
            and isinstance(record.get("source"), str)
            and isinstance(record.get("params"), dict)
        ):
            raise UsageError(f"{path} is not a run record: it holds no playbook and parameters")
        book = load(record["source"], f"playbooks/{e.playbook}.yaml", config.regions)
        params = types.values(book.params, record["params"], config.regions)
        journal = Journal(e.actor, e.reason, e.incident)
        made = plan(snapshot, config, book, params, journal, self.moment)
        return made.files, made.entry

    def _release(self, snapshot: Snapshot) -> tuple[Files, Entry]:
        e = self.entry
        if not e.bundle or not e.release:
            raise UsageError("release names no bundle or no version")
        if e.release in [m["version"] for m in manifests(snapshot, e.bundle)]:
            raise RefusedError(f"release {e.release} of {e.bundle} exists already")
        entry = Entry(
            "release",
            e.actor,
            f"release {e.bundle} {e.release}",
            bundle=e.bundle,
            release=e.release,
            incident=e.incident,
            reason=e.reason,
        )
        return dict(self.released), entry


def recover(
    parent: Snapshot, entry: Entry, changes: Files, config: Config, moment: datetime
) -> Command:
    """The command that made `changes` on `parent`, as its entry records it; Mismatch when
    the entry's command does not make exactly that change."""
    if entry.action not in ACTIONS:
        raise Mismatch(f"{entry.action!r} is not a modctl command")
    refusals: list[str] = []
    problems: list[str] = []
    for command in _variants(entry, changes, moment):
        try:
            files, made = command.run(parent, config)
        except (RefusedError, UsageError) as exc:
            refusals.append(exc.message)
            continue
        # A file written as it was is no change: git records none.
        files = {path: data for path, data in files.items() if parent.files.get(path) != data}
        problem = difference(entry, made, files, changes)
        if problem is None:
            return command
        problems.append(problem)
    if problems:
        raise Mismatch(problems[0])
    wrote = ", ".join(sorted(changes)[:3]) or "nothing"
    raise Mismatch(
        f"it changes {wrote}, but {entry.action} does not apply to its parent's state: "
        f"{refusals[0]}"
    )


def _variants(entry: Entry, changes: Files, moment: datetime) -> Iterator[Command]:
    base = Command(replace(entry, commit=None, time=None), moment)
    if entry.action == "promote":
        yield base
        yield replace(base, full=True)
    elif entry.action == "start":
        yield from (replace(base, step=step) for step in range(MAX_STEPS))
    elif entry.action == "rollback":
        yield base
        yield replace(base, to=entry.release)
    elif entry.action == "hotpatch":
        yield replace(base, request=_request(entry, changes))
    elif entry.action in ("analyze", "advance"):
        kept = {path: content for path, content in changes.items() if content}
        yield replace(base, released=kept)
    elif entry.action == "emergency":
        kept = {p: c for p, c in changes.items() if p.startswith("emergencies/") and c}
        yield replace(base, released=kept)
    elif entry.action == "release":
        wanted = {
            manifest_file(entry.bundle or "", entry.release or ""),
            artifact_file(entry.bundle or "", entry.release or ""),
        }
        kept = {path: content for path, content in changes.items() if path in wanted and content}
        yield replace(base, released=kept)
    else:
        yield base


def _request(entry: Entry, changes: Files) -> dict[str, Any]:
    """What the `hotpatch apply` of `entry` asked for, read from the record it wrote."""
    from modctl.state import hotpatch
    from modctl.state.files import region_state

    for path, data in sorted(changes.items()):
        if path.startswith("regions/") and data and not path.split("/")[2].startswith("_"):
            try:
                state = region_state(path, data)
            except UsageError:
                continue
            for record in state.hotpatches:
                if record["id"] == entry.hotpatch:
                    return hotpatch.request_of(record)
    return {"op": "", "target": "", "expires_in": ""}


def difference(entry: Entry, made: Entry, expected: Files, observed: Files) -> str | None:
    """How a commit (`entry`, `observed`) differs from what its command makes (`made`,
    `expected`); None when it does not."""
    verb = f"`{entry.action}`"
    for path in sorted(observed.keys() - expected.keys()):
        did = "deletes" if observed[path] is None else "writes"
        return f"it {did} {path}, which {verb} does not touch here"
    for path in sorted(expected.keys() - observed.keys()):
        return f"it does not write {path}, which {verb} writes"
    # State files first: a deploy/ file that differs follows from them.
    for path in sorted(expected, key=lambda path: (path.startswith("deploy/"), path)):
        want, got = expected[path], observed[path]
        if want == got:
            continue
        if got is None:
            return f"it deletes {path}, which {verb} writes"
        if path.startswith("deploy/"):
            return f"{path} differs from what its region state renders to"
        if want is not None and path.endswith(".yaml"):
            problem = _field_difference(want, got, verb)
            if problem:
                return f"{path}: {problem}"
            continue
        return f"{path} differs from what {verb} writes"
    for key in ("summary", "bundle", "region", "release", "forced", "hotpatch", "playbook"):
        if getattr(made, key) != getattr(entry, key):
            return (
                f"its {key} says {getattr(entry, key)!r}, but {verb} here is {getattr(made, key)!r}"
            )
    return None


def _field_difference(want: bytes, got: bytes, verb: str) -> str | None:
    try:
        theirs = yamlio.loads(yamlio.decode(got))
    except yamlio.YamlError:
        return "not YAML that modctl writes"
    return _data_difference(theirs, yamlio.loads(yamlio.decode(want)), verb, "")


def _data_difference(theirs: Any, mine: Any, verb: str, prefix: str) -> str | None:
    if isinstance(theirs, dict) and isinstance(mine, dict):
        for key in theirs:
            if key not in mine:
                return f"{prefix}{key} is {theirs[key]!r}, a key modctl never writes"
        for key in mine:
            if key not in theirs:
                return f"{prefix}{key} is missing; {verb} makes {mine[key]!r}"
            found = _data_difference(theirs[key], mine[key], verb, f"{prefix}{key}.")
            if found:
                return found
        return None
    if theirs != mine:
        return f"{prefix.rstrip('.') or 'the file'} is {theirs!r} where {verb} makes {mine!r}"
    return None
