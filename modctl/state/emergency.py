"""`modctl emergency run`: plan a playbook run on the state branch, verify it, and write it as
one commit, or nothing.

The plan is made once, on the commit the write will build on (the remote's tip when there is a
remote), and shown before it is confirmed. The write publishes exactly that plan, and only on
that commit: when another writer moved the branch in between, it is a conflict naming what
they wrote, never the plan applied again to a state nobody looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modctl.context import Context
from modctl.emergency import params as types
from modctl.emergency.plan import Plan, plan
from modctl.emergency.playbook import Playbook
from modctl.errors import ChecksFailedError, ConflictError
from modctl.state import journal as journals
from modctl.state.operations import Journal, Outcome, now
from modctl.state.store import Entry, Snapshot, Store


@dataclass
class Prepared:
    """A run planned and verified, ready to be written."""

    plan: Plan
    params: dict[str, Any]
    moment: datetime
    verified: dict[int, list[str]] = field(default_factory=dict)  # per verify step, what passed


def prepare(
    context: Context, playbook: Playbook, given: dict[str, Any], journal: Journal
) -> Prepared:
    """Plan the run of `playbook` with the parameters `given` (typed) on the state the write
    will build on, and run its verify steps; ChecksFailedError, writing nothing, when one
    fails."""
    from modctl.state.verify import verify

    config = context.config
    values = types.values(playbook.params, given, config.regions)
    moment = now(context)
    store = context.store
    base = store.remote.base()[0] if store.remote else store.tip()
    snapshot = store.read(base) if base else Snapshot(None)
    made = plan(snapshot, config, playbook, values, journal, moment)
    prepared = Prepared(made, values, moment)
    for check in made.checks:
        after = Snapshot(base, check.files)
        result = verify(context.root, after, config, check.bundle, check.regions, moment)
        if not result.passed:
            raise ChecksFailedError(
                f"step {check.step} (verify) fails, so nothing was written:\n  "
                + "\n  ".join(result.problems[:10])
            )
        prepared.verified[check.step] = result.checked
    return prepared


def write(context: Context, prepared: Prepared) -> Outcome:
    """Write the planned run as one commit on the commit it was planned on; ConflictError,
    writing nothing, when the state branch has moved since."""
    store = context.store
    made = prepared.plan

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        if snapshot.commit != made.base:
            raise ConflictError(moved(store, made.base, snapshot.commit))
        return dict(made.files), made.entry

    entry = store.write(transition, prepared.moment)
    return Outcome(
        entry.summary, entry.commit, made.files, before=made.before, warnings=store.warnings
    )


def moved(store: Store, base: str | None, tip: str | None) -> str:
    """What the state branch holds now that the plan did not see."""
    entries = journals.read(store.git, f"{base}..{tip}" if base else str(tip)) if tip else []
    planned = f"state commit {base[:12]}" if base else "an empty state branch"
    if entries:
        newest = entries[0]
        now_at = f"{(newest.commit or '')[:12]} ({newest.summary!r} by {newest.actor}"
        now_at += f" for {newest.incident})" if newest.incident else ")"
        if len(entries) > 1:
            now_at += f" and {len(entries) - 1} earlier commit(s)"
    else:
        now_at = f"{(tip or 'nothing')[:12]}"
    return (
        f"the state branch moved after this run was planned on {planned}: it is now at "
        f"{now_at}; nothing was written: run the playbook again to plan it on the new state"
    )
