"""State-changing operations: read the state branch, apply a pure transition, write one commit.

Region state lives in `regions/REGION/BUNDLE.yaml`, the region-wide freeze in
`regions/REGION/_region.yaml` (bundle names cannot start with `_`), and every change re-renders
`deploy/REGION/BUNDLE.json`, the effective config the production platform loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modctl import yamlio
from modctl.context import Context
from modctl.errors import ChecksFailedError, RefusedError, UsageError
from modctl.model import Config
from modctl.state.files import (
    Recorded,
    deploy_file,
    freeze_file,
    freeze_of,
    region_file,
    region_state,
    situation,
)
from modctl.state.journal import check
from modctl.state.render import render
from modctl.state.rollout import Freeze, Situation, holds, stamp
from modctl.state.store import Entry, Snapshot, Store, Transition

if TYPE_CHECKING:
    from modctl.source.metrics import Metrics
    from modctl.state.analysis import Analysis, Plan


@dataclass
class Outcome:
    summary: str
    commit: str | None
    files: dict[str, bytes | None]
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    before: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the command left alone, and why

    @property
    def regions(self) -> list[str]:
        """The regions whose deployed config the change touched."""
        return sorted({path.split("/")[1] for path in self.files if path.startswith("deploy/")})

    def diff(self) -> list[str]:
        """What the change does to the state files, as a unified diff (deploy/ files by name)."""
        import difflib

        lines: list[str] = []
        for path in sorted(self.files):
            new = self.files[path]
            if path.startswith("deploy/"):
                lines.append(f"  {path}: rendered again")
                continue
            old = self.before.get(path, b"").decode().splitlines()
            after = (new or b"").decode().splitlines()
            lines += [
                f"  {line}"
                for line in difflib.unified_diff(old, after, f"a/{path}", f"b/{path}", lineterm="")
            ]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "commit": self.commit,
            "files": sorted(self.files),
            "dry_run": self.dry_run,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Journal:
    """Who acts, why, for which incident: what every state commit records."""

    actor: str
    reason: str | None = None
    incident: str | None = None

    def __post_init__(self) -> None:
        """Refuse, before any state is computed, what the journal would refuse."""
        for name, value in (
            ("--actor", self.actor),
            ("--reason", self.reason),
            ("--incident", self.incident),
        ):
            if value:
                check(name, value)


def change(
    context: Context,
    bundle: str,
    action: str,
    mutate: Callable[[Situation], str],
    journal: Journal,
    *,
    release: str | None = None,
    forced: str | None = None,
    dry_run: bool = False,
) -> Outcome:
    """Apply a rollout transition of `bundle` as one state commit (or preview it)."""
    config = context.config
    moment = now(context)

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        return transitioned(
            snapshot, config, bundle, action, mutate, journal, moment, release, forced
        )

    return _write(context.store, transition, moment, dry_run)


def now(context: Context) -> datetime:
    """The moment a write acts at, in whole seconds: what its commit records as its time."""
    return context.now().replace(microsecond=0)


def transitioned(
    snapshot: Snapshot,
    config: Config,
    bundle: str,
    action: str,
    mutate: Callable[[Situation], str],
    journal: Journal,
    moment: datetime,
    release: str | None = None,
    forced: str | None = None,
) -> tuple[dict[str, bytes | None], Entry]:
    """The files a rollout transition writes on `snapshot` at `moment`, and its journal entry.
    Pure: `audit verify` and `sync` replay recorded commands through it."""
    s = situation(snapshot, config, bundle, moment)
    summary = mutate(s)
    files: dict[str, bytes | None] = {}
    for region, state in sorted(s.changed.items()):
        files[region_file(region, bundle)] = yamlio.dump(state.to_dict()).encode()
        files[deploy_file(region, bundle)] = render(
            snapshot, state, moment, config.max_hotpatch_ttl
        )
    entry = Entry(
        action,
        journal.actor,
        summary,
        bundle=bundle,
        region=",".join(sorted(s.changed)) or None,
        release=release or s.release,
        incident=journal.incident,
        reason=journal.reason,
        forced=forced,
        config=config.blob,
        hotpatch=s.hotpatch,
    )
    return files, entry


def _write(store: Store, transition: Transition, moment: datetime, dry_run: bool) -> Outcome:
    """Preview the transition on the current state, or write it; report the files it wrote."""
    if dry_run:
        snapshot = store.read()
        files, entry = transition(snapshot)
        return Outcome(entry.summary, None, files, dry_run=True, before=snapshot.files)
    written: dict[str, bytes | None] = {}
    before: dict[str, bytes] = {}

    def recording(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        files, entry = transition(snapshot)
        written.clear()
        written.update(files)
        before.clear()
        before.update(snapshot.files)
        return files, entry

    entry = store.write(recording, moment)
    return Outcome(entry.summary, entry.commit, written, warnings=store.warnings, before=before)


def set_freeze(
    context: Context,
    regions: list[str] | None,
    frozen: bool,
    journal: Journal,
    *,
    force: bool = False,
    dry_run: bool = False,
) -> Outcome:
    """Freeze or unfreeze regions (every region when None) in one state commit. Regions
    already so are left alone and said so; when none is left, nothing is written."""
    config = context.config
    targets = regions or list(config.regions)
    unknown = [r for r in targets if r not in config.regions]
    if unknown:
        raise UsageError(
            f"unknown region {unknown[0]!r}; modctl.yaml declares {', '.join(config.regions)}"
        )
    moment = now(context)
    notes: list[str] = []

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        files, entry, left = froze(snapshot, targets, frozen, journal, moment, force=force)
        notes[:] = _left_alone(snapshot, left, frozen)
        if not files:
            raise _NothingToDo(snapshot)
        return files, entry

    try:
        outcome = _write(context.store, transition, moment, dry_run)
    except _NothingToDo as done:
        return Outcome("nothing to do", None, {}, before=done.snapshot.files, notes=notes)
    outcome.notes = notes
    return outcome


class _NothingToDo(Exception):
    """Every region already is as asked (perhaps another writer just made it so)."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


def _left_alone(snapshot: Snapshot, regions: list[str], frozen: bool) -> list[str]:
    if not regions:
        return []
    if frozen:
        found = [(region, freeze_of(snapshot.files, region)) for region in regions]
        return [f"{held}; left as it is" for held in holds(found)]
    return [
        f"{', '.join(regions)} {'is' if len(regions) == 1 else 'are'} not frozen; nothing to lift"
    ]


def froze(
    snapshot: Snapshot,
    regions: list[str],
    frozen: bool,
    journal: Journal,
    moment: datetime,
    *,
    force: bool = False,
) -> tuple[dict[str, bytes | None], Entry, list[str]]:
    """What freezing (or unfreezing) `regions` writes on `snapshot` at `moment`: the files, the
    journal entry, and the regions left alone because they already were so. Lifting a freeze
    made under another incident than the journal's is refused unless `force`."""
    word = "freeze" if frozen else "unfreeze"
    current = {region: freeze_of(snapshot.files, region) for region in regions}
    todo = [region for region in regions if current[region].frozen != frozen]
    left = [region for region in regions if current[region].frozen == frozen]
    foreign = [] if frozen else [r for r in todo if current[r].incident != journal.incident]
    if foreign and not force:
        lifted = "; ".join(holds([(region, current[region]) for region in foreign]))
        raise RefusedError(
            f"this would lift freezes made under another incident ({lifted}); pass "
            f"--incident to match, or --force to lift them (recorded)"
        )
    # The reason as its trailer records it, so that a replay of the journal writes the same file.
    reason = " ".join(journal.reason.split()) if journal.reason else None
    files: dict[str, bytes | None] = {}
    for region in todo:
        hold = Freeze(True, stamp(moment), reason, journal.actor, journal.incident)
        files[freeze_file(region)] = yamlio.dump(hold.__dict__).encode() if frozen else None
    entry = Entry(
        word,
        journal.actor,
        f"{word} {', '.join(todo)}",
        region=",".join(todo),
        incident=journal.incident,
        reason=journal.reason,
        forced="incident" if foreign else None,
    )
    return files, entry, left


def record_analyses(
    context: Context,
    bundle: str,
    regions: list[str] | None,
    metrics: Metrics,
    journal: Journal,
    *,
    dry_run: bool = False,
) -> tuple[list[Analysis], Outcome]:
    """Judge every canary of `bundle` in flight on `metrics`, and record the analyses in one
    state commit (or, with `dry_run`, only say what they are)."""
    from modctl.state import analysis

    config = context.config
    moment = now(context)
    found: list[Analysis] = []

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        found[:] = analysis.analyse(snapshot, config, bundle, metrics, regions)
        if not found:
            raise RefusedError(
                f"no canary of {bundle} in flight{' in ' + ', '.join(regions) if regions else ''}; "
                f"`modctl rollout start {bundle} VERSION` stages one"
            )
        written = analysis.files(found, bundle, config, metrics, moment, snapshot.files.keys())
        return written, analysis.entry(bundle, written, journal, config)

    return found, _write(context.store, transition, moment, dry_run)


def advance(
    context: Context,
    bundles: list[str],
    metrics: Metrics,
    journal: Journal,
    *,
    auto_rollback: bool = False,
    dry_run: bool = False,
) -> tuple[list[Plan], Outcome]:
    """Move every canary of `bundles` in flight by its gates: one state commit for every region
    of every bundle it changed, with the analyses that decided it; nothing when it changes
    nothing."""
    from modctl.state import analysis

    config = context.config
    moment = now(context)
    plans: list[Plan] = []

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        plans[:] = [
            analysis.plan(snapshot, config, name, metrics, moment, auto_rollback=auto_rollback)
            for name in bundles
        ]
        acting = [plan for plan in plans if plan.decisions]
        if not acting:
            raise _NothingToDo(snapshot)
        # The journal says why, with the numbers, unless the user gave a reason.
        why = journal.reason or "; ".join(
            line
            for plan in acting
            for line in plan.lines
            if line.split(" ", 1)[0] in plan.decisions
        )
        said = Journal(journal.actor, " ".join(why.split()), journal.incident)
        decisions = {plan.bundle: plan.decisions for plan in acting}
        files, entry = advanced(snapshot, config, decisions, said, moment)
        for plan in acting:
            acted = [a for a in plan.analyses if a.region in plan.decisions]
            files.update(
                analysis.files(acted, plan.bundle, config, metrics, moment, snapshot.files.keys())
            )
        return files, entry

    try:
        outcome = _write(context.store, transition, moment, dry_run)
    except _NothingToDo as done:
        return plans, Outcome(
            "nothing to do", None, {}, dry_run=dry_run, before=done.snapshot.files
        )
    return plans, outcome


def advanced(
    snapshot: Snapshot,
    config: Config,
    decisions: dict[str, dict[str, str]],
    journal: Journal,
    moment: datetime,
) -> tuple[dict[str, bytes | None], Entry]:
    """The region files `rollout advance` writes for `decisions` (bundle -> region -> pass to
    promote one step, fail to abort), and its one journal entry. Pure: replayed by `audit
    verify` and `sync`."""
    from modctl.state import analysis

    mutations = {bundle: analysis.advancing(regions) for bundle, regions in decisions.items()}
    return across(snapshot, config, "advance", mutations, journal, moment)


def across(
    snapshot: Snapshot,
    config: Config,
    action: str,
    mutations: dict[str, Callable[[Situation], str]],
    journal: Journal,
    moment: datetime,
) -> tuple[dict[str, bytes | None], Entry]:
    """One transition of several bundles (bundle -> its mutation) as one change: the files of
    each, and one journal entry naming them all (its summary `ACTION: what; what`)."""
    files: dict[str, bytes | None] = {}
    entries = []
    for bundle, mutate in sorted(mutations.items()):
        written, entry = transitioned(snapshot, config, bundle, action, mutate, journal, moment)
        files.update(written)
        entries.append(entry)
    if len(entries) == 1:
        return files, entries[0]
    prefix = f"{action}: "
    summary = prefix + "; ".join(e.summary.removeprefix(prefix) for e in entries)
    entry = Entry(
        action,
        journal.actor,
        summary,
        bundle=",".join(e.bundle or "" for e in entries),
        region=",".join(sorted({region for e in entries for region in e.regions})),
        incident=journal.incident,
        reason=journal.reason,
        config=config.blob,
    )
    return files, entry


def expired_bundles(snapshot: Snapshot, config: Config, moment: datetime) -> list[str]:
    """The bundles with a hot-patch that has lapsed at `moment` (made before it, no longer
    live)."""
    from modctl.state.files import hotpatches
    from modctl.state.hotpatch import lapsed

    return sorted(
        {
            found.bundle
            for found in hotpatches(snapshot).values()
            if lapsed(found.patch, moment, config.max_hotpatch_ttl)
        }
    )


def expiring(
    snapshot: Snapshot, config: Config, journal: Journal, moment: datetime
) -> tuple[dict[str, bytes | None], Entry]:
    """What `hotpatch expire` writes at `moment`: every lapsed hot-patch taken off its
    regions, and their `deploy/` files rendered again, in one change. Pure: replayed by
    `audit verify` and `sync`. RefusedError when nothing has lapsed."""
    from modctl.state.hotpatch import expire

    bundles = expired_bundles(snapshot, config, moment)
    if not bundles:
        raise RefusedError("no hot-patch has lapsed; nothing to expire")
    mutations: dict[str, Callable[[Situation], str]] = dict.fromkeys(bundles, expire)
    return across(snapshot, config, "hotpatch-expire", mutations, journal, moment)


def hotpatch_expire(context: Context, journal: Journal, *, dry_run: bool = False) -> Outcome:
    """Take every lapsed hot-patch off the state in one commit, so that `deploy/` no longer
    carries it; nothing when none has lapsed."""
    config = context.config
    moment = now(context)

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        if not expired_bundles(snapshot, config, moment):
            raise _NothingToDo(snapshot)
        return expiring(snapshot, config, journal, moment)

    try:
        return _write(context.store, transition, moment, dry_run)
    except _NothingToDo as done:
        return Outcome("nothing to do", None, {}, before=done.snapshot.files)


@dataclass
class Patched:
    """A hot-patch write: its outcome, the record, and what verify checked."""

    outcome: Outcome
    record: dict[str, Any]
    checked: list[str]


def hotpatch_apply(
    context: Context,
    bundle: str,
    regions: list[str],
    request: dict[str, Any],
    journal: Journal,
    *,
    dry_run: bool = False,
) -> Patched:
    """Make the hot-patch `request` (op, target, value, queue, expires_in) on `bundle` in
    `regions`, verify the effective configs it makes (lint and the tests that still apply),
    and write it in one state commit, or nothing (ChecksFailedError) when verify fails."""
    from modctl.state import hotpatch
    from modctl.state.verify import verify

    config = context.config
    moment = now(context)
    if not journal.reason:
        raise UsageError("a hot-patch needs --reason: it is recorded with the patch")
    mutate = hotpatch.applying(
        regions, request, actor=journal.actor, reason=journal.reason, incident=journal.incident
    )
    checked: list[str] = []
    made: list[dict[str, Any]] = []

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        files, entry = transitioned(snapshot, config, bundle, "hotpatch", mutate, journal, moment)
        after = Snapshot(snapshot.commit, _overlay(snapshot.files, files))
        verified = verify(context.root, after, config, bundle, regions, moment)
        if not verified.passed:
            raise ChecksFailedError(
                "the patched config fails verify, so nothing was written:\n  "
                + "\n  ".join(verified.problems[:10])
            )
        checked[:] = verified.checked
        state = region_state(
            region_file(regions[0], bundle), files[region_file(regions[0], bundle)] or b""
        )
        made[:] = [p for p in state.hotpatches if p["id"] == entry.hotpatch]
        return files, entry

    outcome = _write(context.store, transition, moment, dry_run)
    return Patched(outcome, made[0], checked)


@dataclass(frozen=True)
class Gone:
    """The commit that took a hot-patch off the state branch (a revert, `hotpatch expire`)."""

    commit: str
    moment: datetime
    action: str

    def __str__(self) -> str:
        return f"taken off by {self.action or 'commit'} {self.commit[:12]} at {stamp(self.moment)}"


def recorded_hotpatch(store: Store, ident: str) -> tuple[Recorded, Gone | None]:
    """The hot-patch `ident` as the state branch holds it; once taken off, as the state held it
    just before, with the commit that took it off. UsageError for an id the branch never had."""
    from modctl.state.files import hotpatch, hotpatches

    try:
        return hotpatch(store.read(), ident), None
    except UsageError:
        last = store.last_change(ident, "regions/")
        if last is None:
            raise
        found = hotpatches(store.read(f"{last[0]}^")).get(ident)
        if found is None:
            raise
        return found, Gone(*last)


def hotpatch_revert(
    context: Context,
    ident: str,
    regions: list[str] | None,
    journal: Journal,
    *,
    dry_run: bool = False,
) -> Outcome:
    """Take the hot-patch `ident` off every region that has it (or `regions`), in one state
    commit."""
    from modctl.state import hotpatch
    from modctl.state.files import hotpatch as hotpatch_on

    config = context.config
    moment = now(context)

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        bundle = hotpatch_on(snapshot, ident).bundle
        mutate = lambda s: hotpatch.unpatch(s, ident, regions)  # noqa: E731
        return transitioned(snapshot, config, bundle, "hotpatch-revert", mutate, journal, moment)

    try:
        return _write(context.store, transition, moment, dry_run)
    except UsageError:
        gone = recorded_hotpatch(context.store, ident)[1]
        if gone is None:
            raise
        raise UsageError(
            f"hot-patch {ident} is no longer on the state branch ({gone}); nothing to revert"
        ) from None


def _overlay(files: dict[str, bytes], changes: dict[str, bytes | None]) -> dict[str, bytes]:
    merged = dict(files)
    for path, data in changes.items():
        if data is None:
            merged.pop(path, None)
        else:
            merged[path] = data
    return merged
