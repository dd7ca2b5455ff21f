"""The commands that undo a rollout change, from the region state before and after it. Pure.

Every write prints them as its "Undo:" line. They are worked out from the two states, not from
the command that ran, so each is a command accepted in the state after the change that brings
back the stable release and the canary (version, step, paused) of the state before. What no
command can restore is said instead: the first stable release of a region cannot be taken back
(roll forward or back to another release), and times restart at the undo.
"""

from __future__ import annotations

from modctl.state.rollout import Canary, RegionState


def undo(bundle: str, before: RegionState, after: RegionState) -> list[str] | None:
    """The commands, in order, that take `after` back to `before` (empty when they agree);
    None when no command can (the region's first stable release)."""
    where = f"{bundle} --region {before.region}"
    commands: list[str] = []
    current = after.canary
    if before.stable != after.stable:
        if before.stable is None:
            return None
        commands.append(f"modctl rollback {where} --to {before.stable}")
        current = None  # a rollback takes any canary off
    wanted = before.canary
    if wanted is None:
        if current is not None:
            commands.append(f"modctl rollout abort {where}")
        return commands
    if current is None or current.version != wanted.version:
        if current is not None:
            commands.append(f"modctl rollout abort {where}")
        commands.append(f"modctl rollout start {bundle} {wanted.version} {_at(before)}")
        current = Canary(wanted.version, wanted.weight, wanted.step, "", paused=False)
    commands += [f"modctl rollout demote {where}"] * (current.step - wanted.step)
    commands += [f"modctl rollout promote {where} --force"] * (wanted.step - current.step)
    if current.paused != wanted.paused:
        commands.append(f"modctl rollout {'pause' if wanted.paused else 'resume'} {where}")
    return commands


def _at(state: RegionState) -> str:
    assert state.canary is not None
    step = f" --at-step {state.canary.step + 1}" if state.canary.step else ""
    return f"--region {state.region}{step}"
