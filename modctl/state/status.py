"""What runs where: the rows of `rollout status` and where a release is deployed. Pure: reads a
snapshot of the state branch."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from modctl.model import Config
from modctl.state import hotpatch
from modctl.state.files import frozen, region_file, region_state
from modctl.state.rollout import parse_stamp
from modctl.state.store import Snapshot


def deployments(snapshot: Snapshot, config: Config, bundle: str, version: str) -> dict[str, str]:
    """Region -> "stable" or "canary at N%" for the regions that run `version` of `bundle`."""
    found = {}
    for region in config.regions:
        raw = snapshot.files.get(region_file(region, bundle))
        if raw is None:
            continue
        state = region_state(region_file(region, bundle), raw)
        if state.stable == version:
            found[region] = "stable"
        elif state.canary is not None and state.canary.version == version:
            found[region] = f"canary at {state.canary.weight}%"
    return found


def last_gate(snapshot: Snapshot, bundle: str, region: str) -> str | None:
    """The verdict of the latest gate evaluation stored under analyses/, if any."""
    prefix = f"analyses/{bundle}/{region}/"
    latest = max((p for p in snapshot.files if p.startswith(prefix)), default=None)
    if latest is None:
        return None
    verdict = json.loads(snapshot.files[latest]).get("verdict")
    return str(verdict) if verdict is not None else None


def status_rows(snapshot: Snapshot, bundle: str | None, now: datetime) -> list[dict[str, Any]]:
    """One row per region and bundle with a region state, for `rollout status`."""
    rows = []
    for path in sorted(snapshot.files):
        parts = path.split("/")
        if len(parts) != 3 or parts[0] != "regions" or parts[2].startswith("_"):
            continue
        state = region_state(path, snapshot.files[path])
        if bundle and state.bundle != bundle:
            continue
        canary = state.canary
        since = parse_stamp(canary.since) if canary else None
        active = len(hotpatch.active(state.hotpatches, now))
        rows.append(
            {
                "region": state.region,
                "bundle": state.bundle,
                "stable": state.stable,
                "canary": canary.version if canary else None,
                "weight": canary.weight if canary else None,
                "step": canary.step + 1 if canary else None,
                "at_step_since": canary.since if canary else None,
                "minutes_at_step": int((now - since).total_seconds() // 60) if since else None,
                "paused": bool(canary and canary.paused),
                "frozen": frozen(snapshot.files, state.region),
                "hotpatches": active,
                "expired_hotpatches": len(state.hotpatches) - active,
                "gate": last_gate(snapshot, state.bundle, state.region),
            }
        )
    return rows
