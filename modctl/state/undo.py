"""The commands that undo a rollout change, from the region state before and after it. Pure.

Every write prints them as its "Undo:" line. They are worked out from the two states, not from
the command that ran, so each is a command accepted in the state after the change that brings
back the stable release and the canary (version, step, paused) of the state before. What no
command can restore is said instead: the first stable release of a region cannot be taken back
(roll forward or back to another release), and times restart at the undo.
"""

from __future__ import annotations

import shlex

from modctl.state.rollout import Canary, Freeze, RegionState


def undo(
    bundle: str, before: RegionState, after: RegionState, hold: Freeze | None = None
) -> list[str] | None:
    """The commands, in order, that take `after` back to `before` (empty when they agree);
    None when no command can (the region's first stable release). `hold` is the region's
    freeze: commands a freeze refuses (start, promote) are put between lifting it and putting
    it back, under its incident."""
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
    paused = current.paused if current is not None else False
    if current is None or current.version != wanted.version:
        if current is not None:
            commands.append(f"modctl rollout abort {where}")
        commands.append(f"modctl rollout start {bundle} {wanted.version} {_at(before)}")
        current, paused = Canary(wanted.version, wanted.weight, wanted.step, ""), False
    commands += [f"modctl rollout demote {where}"] * (current.step - wanted.step)
    if wanted.step > current.step:
        if paused:
            commands.append(f"modctl rollout resume {where}")
            paused = False
        commands += [f"modctl rollout promote {where} --force"] * (wanted.step - current.step)
    if paused != wanted.paused:
        commands.append(f"modctl rollout {'pause' if wanted.paused else 'resume'} {where}")
    held = any(c.startswith(("modctl rollout start", "modctl rollout promote")) for c in commands)
    if hold is not None and hold.frozen and held:
        match = f" --incident {shlex.quote(hold.incident)}" if hold.incident else ""
        lift = f"modctl unfreeze --region {before.region}{match}"
        commands = [lift, *commands, refreeze([before.region], hold)]
    return commands


def refreeze(regions: list[str], hold: Freeze) -> str:
    """The command that puts `hold` back on `regions` (its time and actor become the undo's)."""
    command = "modctl freeze " + " ".join(f"--region {region}" for region in regions)
    if hold.reason:
        command += f" --reason {shlex.quote(hold.reason)}"
    if hold.incident:
        command += f" --incident {shlex.quote(hold.incident)}"
    return command


def _at(state: RegionState) -> str:
    assert state.canary is not None
    step = f" --at-step {state.canary.step + 1}" if state.canary.step else ""
    return f"--region {state.region}{step}"
