"""The commands that undo a playbook run, from the state files before and after it. Pure.

In this order: revert the hot-patches it made, lift the freezes it made (so that a canary it
aborted may start again), put back each region's stable release and canary as `state.undo`
says, region by region in wave order, put back the hot-patches it reverted, and last the
freezes it lifted.
"""

from __future__ import annotations

import shlex
from typing import Any

from modctl.model import Config
from modctl.state import hotpatch
from modctl.state.files import freeze_of, region_file, region_state
from modctl.state.operations import Journal
from modctl.state.rollout import Freeze, RegionState
from modctl.state.undo import refreeze
from modctl.state.undo import undo as rollout_undo


def undo(
    before: dict[str, bytes],
    after: dict[str, bytes],
    config: Config,
    made: list[str],
    reverted: list[dict[str, Any]],
    journal: Journal,
) -> list[str]:
    commands = [f"modctl hotpatch revert {ident}" for ident in made]
    froze = [r for r in config.regions if freeze_of(after, r).frozen and not _held(before, r)]
    if froze:
        match = f" --incident {shlex.quote(journal.incident)}" if journal.incident else ""
        commands.append("modctl unfreeze " + " ".join(f"--region {r}" for r in froze) + match)
    waves = [region for wave in config.waves for region in wave.regions]
    rest = [region for region in config.regions if region not in waves]
    order = {region: at for at, region in enumerate([*waves, *rest])}
    for path in sorted(set(before) | set(after), key=lambda p: _wave_order(p, order)):
        parts = path.split("/")
        if len(parts) != 3 or parts[0] != "regions" or parts[2].startswith("_"):
            continue
        if before.get(path) == after.get(path):
            continue
        region, bundle = parts[1], parts[2].removesuffix(".yaml")
        old = _state(before, region, bundle)
        new = _state(after, region, bundle)
        found = rollout_undo(bundle, old, new, freeze_of(before, region))
        if found is None:
            commands.append(
                f"none for {bundle} in {region}: it had no stable release before; roll it back "
                "or forward to another release"
            )
        else:
            commands += found
    commands += [
        f"re-apply {patch['id']} ({hotpatch.describe(patch)}) with `modctl hotpatch apply`"
        for patch in reverted
    ]
    lifted: dict[Freeze, list[str]] = {}
    for region in config.regions:
        if _held(before, region) and not freeze_of(after, region).frozen:
            lifted.setdefault(freeze_of(before, region), []).append(region)
    commands += [refreeze(regions, hold) for hold, regions in lifted.items()]
    return commands


def _wave_order(path: str, order: dict[str, int]) -> tuple[int, str]:
    """Region files in wave order, so that an earlier wave runs a release again before a later
    wave's canary of it starts again (`start` checks the waves before it)."""
    parts = path.split("/")
    region = parts[1] if len(parts) == 3 else ""
    return order.get(region, len(order)), path


def _held(files: dict[str, bytes], region: str) -> bool:
    return freeze_of(files, region).frozen


def _state(files: dict[str, bytes], region: str, bundle: str) -> RegionState:
    path = region_file(region, bundle)
    raw = files.get(path)
    return region_state(path, raw) if raw is not None else RegionState(bundle, region)
