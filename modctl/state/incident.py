"""Incidents: every journal entry that names one, oldest first, with what it touched (bundles,
regions, releases, hot-patches, gate verdicts), whether it changed what production serves, and
the command that made it; the incident's hot-patches that still apply at the branch tip; and the
time from its first entry to its first mitigating commit.

Read with one `git log` (the journal), one `diff-tree` (what each commit wrote) and `cat-file`
reads of the region files as they were before each commit. Renders nothing: see
`modctl.reports.incident`.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modctl import printable
from modctl.errors import ModctlError, UsageError, suggest
from modctl.model import Config
from modctl.state import hotpatch
from modctl.state.commandline import States, Written, command, duration
from modctl.state.files import read_yaml, region_state
from modctl.state.journal import Entry
from modctl.state.rollout import RegionState, parse_stamp, stamp
from modctl.state.store import Change, Store

if TYPE_CHECKING:
    from modctl.source.config import Recorded

ANALYSES = ("analyze", "advance")  # the commands that record gate verdicts
LISTED = 10  # how many known incident ids a message about an unknown one lists
Files = dict[str, bytes | None]


@dataclass(frozen=True)
class Patch:
    """A hot-patch one commit applied, reverted or changed, in the regions where it did."""

    id: str
    change: str  # applied | reverted | changed | named (by the trailer; the state shows no change)
    bundle: str
    regions: tuple[str, ...]
    record: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "regions": list(self.regions)}


@dataclass(frozen=True)
class Verdict:
    """One recorded gate evaluation of a canary: its overall verdict and each gate's."""

    bundle: str
    region: str
    release: str | None
    verdict: str
    gates: tuple[tuple[str, str, str], ...]  # gate, verdict, reason
    metrics: str | None  # where the metrics rows came from

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "gates": [{"gate": g, "verdict": v, "reason": r} for g, v, r in self.gates],
        }


@dataclass
class Step:
    """One journal entry on the incident's timeline."""

    entry: Entry
    time: str  # UTC
    related: bool = False  # an analysis of the incident's bundles and regions made outside it
    mitigating: bool = False  # it changed a deploy/ file: what production serves
    releases: list[str] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    run: dict[str, Any] | None = None  # an emergency's run record
    command: str | None = None  # the command that made it, as one shell line

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        return {
            "time": self.time,
            "commit": e.commit,
            "action": e.action,
            "summary": e.summary,
            "actor": e.actor,
            "incident": e.incident,
            "bundles": e.bundles,
            "regions": e.regions,
            "releases": self.releases,
            "reason": e.reason,
            "forced": e.forced,
            "playbook": e.playbook,
            "related": self.related,
            "mitigating": self.mitigating,
            "hotpatches": [p.to_dict() for p in self.patches],
            "verdicts": [v.to_dict() for v in self.verdicts],
            "command": self.command,
            "problem": e.problem,
        }


@dataclass(frozen=True)
class OpenPatch:
    """A hot-patch of the incident that still applies at the tip of the state branch."""

    bundle: str
    regions: tuple[str, ...]
    record: dict[str, Any]
    until: str  # when it stops applying: its expiry, or its creation plus hotpatch.max_ttl

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def revert(self) -> str:
        return f"modctl hotpatch revert {shlex.quote(self.id)}"

    @property
    def fold(self) -> str:
        return f"modctl hotpatch fold {shlex.quote(self.id)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bundle": self.bundle,
            "regions": list(self.regions),
            "record": self.record,
            "until": self.until,
            "revert": self.revert,
            "fold": self.fold,
        }


@dataclass
class Incident:
    id: str
    steps: list[Step]  # oldest first; at least one is the incident's own
    open: list[OpenPatch]
    as_of: str  # UTC
    tip: str  # the state commit it was read at

    @property
    def own(self) -> list[Step]:
        return [s for s in self.steps if not s.related]

    @property
    def first(self) -> Step:
        return self.own[0]

    @property
    def last(self) -> Step:
        return self.own[-1]

    @property
    def mitigated(self) -> Step | None:
        """The incident's first commit that changed what production serves."""
        return next((s for s in self.own if s.mitigating), None)

    @property
    def time_to_mitigate(self) -> int | None:
        """Seconds from the incident's first entry to its first mitigating commit."""
        if self.mitigated is None:
            return None
        return int(
            (parse_stamp(self.mitigated.time) - parse_stamp(self.first.time)).total_seconds()
        )

    def _union(self, values: list[str]) -> list[str]:
        return sorted(set(values))

    @property
    def bundles(self) -> list[str]:
        return self._union(
            [b for s in self.own for b in s.entry.bundles]
            + [p.bundle for s in self.own for p in s.patches]
        )

    @property
    def regions(self) -> list[str]:
        return self._union(
            [r for s in self.own for r in s.entry.regions]
            + [r for s in self.own for p in s.patches for r in p.regions]
        )

    @property
    def releases(self) -> list[str]:
        return self._union([r for s in self.own for r in s.releases])

    @property
    def actors(self) -> list[str]:
        """Who acted, in the order they first did."""
        return list(dict.fromkeys(s.entry.actor for s in self.own if s.entry.actor))

    def summary(self) -> dict[str, Any]:
        mitigated = self.mitigated
        return {
            "incident": self.id,
            "first": self.first.time,
            "last": self.last.time,
            "entries": len(self.own),
            "related_analyses": len(self.steps) - len(self.own),
            "bundles": self.bundles,
            "regions": self.regions,
            "releases": self.releases,
            "actors": self.actors,
            "mitigated": None if mitigated is None else mitigated.time,
            "mitigating_commit": None if mitigated is None else mitigated.entry.commit,
            "time_to_mitigate_seconds": self.time_to_mitigate,
            "time_to_mitigate": None
            if self.time_to_mitigate is None
            else duration(self.time_to_mitigate),
            "as_of": self.as_of,
            "state_commit": self.tip,
        }


def read(store: Store, config: Config, ident: str, now: datetime) -> Incident:
    """The incident `ident` as the state branch records it; UsageError naming the known
    incidents when no entry names it."""
    tip = store.tip()
    if tip is None:
        raise UsageError(
            f"unknown incident {printable.shown(ident)}: there is no state branch "
            f"{store.branch} yet, so nothing was recorded under any incident"
        )
    entries = store.journal()  # newest first, along the one line of the branch
    mine = [index for index, e in enumerate(entries) if e.incident == ident]
    if not mine:
        raise UsageError(unknown(ident, entries))
    window = entries[mine[0] : mine[-1] + 1][::-1]
    chosen = [e for e in window if e.incident == ident or e.action in ANALYSES]
    changes = store.changes([e.commit or "" for e in chosen])
    before = _before(store, changes)
    reader = _Reader(store, config, ident, window)
    steps = [
        step
        for e in chosen
        if (step := reader.step(e, changes[e.commit or ""], before)) is not None
    ]
    touched = {p.id for s in steps if not s.related for p in s.patches}
    reverted = {e.hotpatch for e in entries if e.action == "hotpatch-revert" and e.hotpatch}
    found = _open(store.read(tip).files, ident, touched, reverted, now, config)
    return Incident(ident, steps, found, stamp(now), tip)


def unknown(ident: str, entries: list[Entry]) -> str:
    """What to say about an incident no entry names: the ones the journal knows, newest first."""
    known = list(dict.fromkeys(e.incident for e in entries if e.incident))
    if not known:
        return (
            f"unknown incident {printable.shown(ident)}: no journal entry names an incident yet "
            "(state commands record one with --incident ID)"
        )
    listed = ", ".join(known[:LISTED])
    if len(known) > LISTED:
        listed += f" and {len(known) - LISTED} more (`modctl log` shows them)"
    return f"unknown incident {printable.shown(ident)}; the journal names {listed}" + suggest(
        ident, known
    )


def utc(when: str | None) -> str:
    """A commit time (ISO 8601 with its offset) as a UTC stamp."""
    if not when:
        return ""
    return stamp(datetime.fromisoformat(when).astimezone(timezone.utc).replace(tzinfo=None))


def _region_path(path: str) -> tuple[str, str] | None:
    """(region, bundle) of a region state file's path."""
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "regions" and parts[2].endswith(".yaml"):
        bundle = parts[2].removesuffix(".yaml")
        if not bundle.startswith("_"):
            return parts[1], bundle
    return None


def _before(store: Store, changes: dict[str, Change]) -> dict[tuple[str, str], bytes | None]:
    """Every region file the commits changed, as it was in each commit's parent."""
    wanted = [
        (commit, path)
        for commit, change in changes.items()
        for path in change.files
        if _region_path(path)
    ]
    found = store.git.cat().read_many(f"{commit}^:{path}" for commit, path in wanted)
    return dict(zip(wanted, found, strict=True))


def _patches(path: str, content: bytes | None) -> dict[str, dict[str, Any]]:
    """The hot-patches of a region file, by id."""
    data = read_yaml(path, content) if content else None
    listed = data.get("hotpatches") if isinstance(data, dict) else None
    return {
        str(p["id"]): p
        for p in (listed if isinstance(listed, list) else [])
        if isinstance(p, dict) and "id" in p
    }


def _state(path: str, content: bytes | None, region: str, bundle: str) -> RegionState:
    return region_state(path, content) if content else RegionState(bundle, region)


class _Reader:
    """Turns each chosen journal entry into a step of the timeline."""

    def __init__(self, store: Store, config: Config, ident: str, window: list[Entry]) -> None:
        self.store = store
        self.config = config
        self.ident = ident
        own = [e for e in window if e.incident == ident]
        self.bundles = {b for e in own for b in e.bundles}
        self.regions = {r for e in own for r in e.regions}
        self._configs: Recorded | None = None

    def step(
        self, e: Entry, change: Change, before: dict[tuple[str, str], bytes | None]
    ) -> Step | None:
        related = e.incident != self.ident
        verdicts = _verdicts(change.files)
        if related:
            verdicts = [v for v in verdicts if self._in_scope(v)]
            if not verdicts:
                return None
        commit = e.commit or ""
        states: States = []
        patches: dict[tuple[str, str, str], list[str]] = {}
        records: dict[str, dict[str, Any]] = {}
        for path, after in change.files.items():
            where = _region_path(path)
            if where is None:
                continue
            region, bundle = where
            old = before.get((commit, path))
            states.append((_state(path, old, region, bundle), _state(path, after, region, bundle)))
            was, now = _patches(path, old), _patches(path, after)
            for pid in sorted(was.keys() | now.keys()):
                if pid not in was:
                    how = "applied"
                elif pid not in now:
                    how = "reverted"
                elif was[pid] != now[pid]:
                    how = "changed"
                else:
                    continue
                patches.setdefault((pid, how, bundle), []).append(region)
                records[pid] = now.get(pid) or was[pid]
        found = [
            Patch(pid, how, bundle, tuple(sorted(regions)), records[pid])
            for (pid, how, bundle), regions in sorted(patches.items(), key=lambda p: p[0][::-1])
        ]
        if e.hotpatch and e.hotpatch not in records:
            found.append(self._named(e))
        run = _run(change.files)
        step = Step(
            e,
            utc(e.time),
            related=related,
            mitigating=any(p.startswith("deploy/") for p in [*change.files, *change.irregular]),
            releases=_releases(e, states),
            patches=found,
            verdicts=verdicts,
            run=run,
        )
        if not related:
            written = Written(
                states,
                run,
                next((p.record for p in found if p.id == e.hotpatch), None),
                frozenset(v.metrics for v in verdicts if v.metrics),
                any(v.verdict == "fail" for v in verdicts),
                self._steps(e, e.regions[0]) if e.action == "promote" and e.regions else (),
                e.action == "hotpatch-revert" and self._kept(e),
            )
            step.command = command(e, written, self._default_metrics)
        return step

    def _in_scope(self, verdict: Verdict) -> bool:
        bundle_ok = not self.bundles or verdict.bundle in self.bundles
        return bundle_ok and verdict.region in self.regions

    def _named(self, e: Entry) -> Patch:
        """The hot-patch a trailer names, as the region files at the commit (or before it)
        hold it."""
        bundle = e.bundles[0] if e.bundles else ""
        for spec in (e.commit or "", f"{e.commit}^"):
            for region in e.regions:
                path = f"regions/{region}/{bundle}.yaml"
                found = self.store.git.cat().read(f"{spec}:{path}")
                record = _patches(path, found.data if found else None).get(e.hotpatch or "")
                if record is not None:
                    return Patch(e.hotpatch or "", "named", bundle, tuple(e.regions), record)
        return Patch(e.hotpatch or "", "named", bundle, tuple(e.regions), {"id": e.hotpatch})

    def _kept(self, e: Entry) -> bool:
        """Whether the hot-patch an entry names is still in some region of its bundle, other
        than the entry's, at its commit."""
        bundle = e.bundles[0] if e.bundles else ""
        others = [r for r in self.config.regions if r not in e.regions]
        paths = [f"regions/{region}/{bundle}.yaml" for region in others]
        found = self.store.git.cat().read_many(f"{e.commit}:{path}" for path in paths)
        return any(
            e.hotpatch in _patches(path, data) for path, data in zip(paths, found, strict=True)
        )

    def _steps(self, e: Entry, region: str) -> tuple[int, ...]:
        """The steps of the wave of `region` in the modctl.yaml the command obeyed."""
        from modctl.source.config import Recorded

        if self._configs is None:
            self._configs = Recorded(self.store.git, self.config)
        try:
            config = self._configs.of(e.config)
        except ModctlError:
            config = self.config
        return next((w.steps for w in config.waves if region in w.regions), ())

    def _default_metrics(self, origin: str) -> bool:
        """Whether metrics from `origin` are what modctl.yaml's source gives, with no --metrics."""
        source = self.config.metrics_source
        if origin.startswith("metrics command "):
            return True
        return "file" in source and origin == str(self.store.root / Path(str(source["file"])))


def _releases(e: Entry, states: States) -> list[str]:
    """The releases an entry names, those whose place (stable, canary) it changed, and those a
    hot-patch it applied or reverted patches (the stable and canary of the region)."""
    found: set[str | None] = {e.release}
    for before, after in states:
        if before.stable != after.stable:
            found |= {before.stable, after.stable}
        if before.hotpatches != after.hotpatches:
            found |= {after.stable, after.canary.version if after.canary else None}
        was = before.canary.version if before.canary else None
        now = after.canary.version if after.canary else None
        if was != now:
            found |= {was, now}
    return sorted(v for v in found if v)


def _verdicts(files: Files) -> list[Verdict]:
    """The gate evaluations a commit recorded under analyses/."""
    found = []
    for path, content in sorted(files.items()):
        if not (path.startswith("analyses/") and path.endswith(".json") and content):
            continue
        try:
            record = json.loads(content)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        gates = record.get("gates")
        metrics = record.get("metrics")
        parts = path.split("/")
        found.append(
            Verdict(
                str(record.get("bundle") or parts[1]),
                str(record.get("region") or (parts[2] if len(parts) > 3 else "")),
                None if record.get("release") is None else str(record["release"]),
                str(record.get("verdict", "")),
                tuple(
                    (str(g.get("gate", "")), str(g.get("verdict", "")), str(g.get("reason", "")))
                    for g in (gates if isinstance(gates, list) else [])
                    if isinstance(g, dict)
                ),
                str(metrics["origin"])
                if isinstance(metrics, dict) and "origin" in metrics
                else None,
            )
        )
    return found


def _run(files: Files) -> dict[str, Any] | None:
    """The run record an `emergency run` wrote under emergencies/."""
    for path, content in sorted(files.items()):
        if path.startswith("emergencies/") and path.endswith(".json") and content:
            try:
                record = json.loads(content)
            except ValueError:
                return None
            return record if isinstance(record, dict) else None
    return None


def _open(
    files: dict[str, bytes],
    ident: str,
    touched: set[str],
    reverted: set[str],
    now: datetime,
    config: Config,
) -> list[OpenPatch]:
    """The hot-patches at the tip that the incident made (or that name it) and that still
    apply, as render applies them: made, not expired, within hotpatch.max_ttl; not reverted."""
    grouped: dict[tuple[str, str], tuple[dict[str, Any], list[str], str]] = {}
    for path, content in sorted(files.items()):
        where = _region_path(path)
        if where is None:
            continue
        region, bundle = where
        for pid, record in _patches(path, content).items():
            mine = record.get("incident") == ident or pid in touched
            if not mine or pid in reverted:
                continue
            try:
                if not hotpatch.live(record, now, config.max_hotpatch_ttl):
                    continue
                until = stamp(hotpatch.ends(record, config.max_hotpatch_ttl))
            except (KeyError, ValueError):
                continue  # times that cannot be read: render never applies it either
            grouped.setdefault((bundle, pid), (record, [], until))[1].append(region)
    return [
        OpenPatch(bundle, tuple(regions), record, until)
        for (bundle, _pid), (record, regions, until) in sorted(grouped.items())
    ]
