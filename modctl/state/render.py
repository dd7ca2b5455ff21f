"""The effective config the production platform loads, `deploy/REGION/BUNDLE.json`. Pure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from modctl.errors import UsageError
from modctl.state import artifact, hotpatch
from modctl.state.files import artifact_file
from modctl.state.rollout import RegionState
from modctl.state.store import Snapshot


def render(
    snapshot: Snapshot, state: RegionState, now: datetime, max_ttl: str | None = None
) -> bytes:
    """The effective config of one bundle in one region: stable and canary releases with the
    rules that apply there and the region's hot-patches applied while they live (`max_ttl`:
    `hotpatch.max_ttl` of `modctl.yaml`)."""
    patches = hotpatch.active(state.hotpatches, now, max_ttl)

    def release(version: str | None) -> dict[str, Any] | None:
        if version is None:
            return None
        data = snapshot.files.get(artifact_file(state.bundle, version))
        if data is None:
            raise UsageError(
                f"{state.bundle} {version} in {state.region} has no artifact on the state branch; "
                "it was not written by modctl: `modctl audit verify` names the commit"
            )
        built = json.loads(data)
        built["rules"] = [
            r for r in built["rules"] if r["regions"] is None or state.region in r["regions"]
        ]
        return {
            "version": version,
            "digest": artifact.digest(data),
            "config": hotpatch.apply(built, patches),
        }

    canary = None
    if state.canary is not None:
        canary = {
            **(release(state.canary.version) or {}),
            "weight": state.canary.weight,
            "paused": state.canary.paused,
        }
    effective = {
        "bundle": state.bundle,
        "region": state.region,
        "stable": release(state.stable),
        "canary": canary,
        "hotpatches": [p["id"] for p in patches],
        "assignment": "canary when bucket(bundle, item id) < weight * 100; see modctl.engine.assign",
    }
    if patches:
        # When the first hot-patch applied here lapses: past it this file is stale until
        # `modctl hotpatch expire` (or any write to the region) renders it again.
        ends = min(hotpatch.ends(p, max_ttl) for p in patches)
        effective["hotpatches_until"] = ends.strftime("%Y-%m-%dT%H:%M:%SZ")
    return artifact.canonical(effective)
