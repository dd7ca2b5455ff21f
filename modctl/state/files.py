"""Where things live on the state branch, and reading them back. Pure: no I/O.

releases/BUNDLE/VERSION.yaml    manifest          artifacts/BUNDLE/VERSION.json   artifact
regions/REGION/BUNDLE.yaml      region state      regions/REGION/_region.yaml     freeze
deploy/REGION/BUNDLE.json       effective config the platform loads
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modctl import yamlio
from modctl.errors import UsageError, suggest
from modctl.model import Config
from modctl.state.rollout import Canary, Freeze, RegionState, Situation, parse_stamp
from modctl.state.store import Snapshot


def manifest_file(bundle: str, version: str) -> str:
    return f"releases/{bundle}/{version}.yaml"


def artifact_file(bundle: str, version: str) -> str:
    return f"artifacts/{bundle}/{version}.json"


def deploy_file(region: str, bundle: str) -> str:
    return f"deploy/{region}/{bundle}.json"


TAGS = "modctl/"  # release tags live under refs/tags/modctl/


def tag_name(bundle: str, version: str) -> str:
    """The git tag on a release's source commit."""
    return f"{TAGS}{bundle}/{version}"


def region_file(region: str, bundle: str) -> str:
    return f"regions/{region}/{bundle}.yaml"


def freeze_file(region: str) -> str:
    return f"regions/{region}/_region.yaml"


def semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def versions(snapshot: Snapshot, bundle: str) -> list[str]:
    """A bundle's released versions, oldest first, from the file names alone."""
    prefix = f"releases/{bundle}/"
    found = [
        path[len(prefix) : -len(".yaml")]
        for path in snapshot.files
        if path.startswith(prefix) and path.endswith(".yaml") and "/" not in path[len(prefix) :]
    ]
    return sorted(found, key=semver)


def read_yaml(path: str, content: bytes) -> Any:
    """A state file's YAML; a file modctl did not write gets one clear line, not a traceback."""
    try:
        return yamlio.loads(yamlio.decode(content))
    except yamlio.YamlError as exc:
        raise UsageError(
            f"{path} on the state branch is unreadable ({exc}); it was not written by modctl: "
            "`modctl audit verify` names the commit"
        ) from None


def read_analysis(path: str, content: bytes) -> dict[str, Any]:
    """A recorded gate evaluation; one written around modctl gets one clear line."""
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise UsageError(
            f"{path} on the state branch is not an analysis; it was not written by modctl: "
            "`modctl audit verify` names the commit"
        )
    return data


def analysis_order(path: str) -> tuple[str, int]:
    """Analyses in the order they were made: by the second in the name, then by the number
    (`_2`, `_3`, ...) that a later one of the same second carries."""
    stem, _, number = path.removesuffix(".json").rpartition("_")
    return (stem, int(number)) if stem and number.isdigit() else (path.removesuffix(".json"), 1)


def judged(record: Mapping[str, Any], canary: Canary) -> bool:
    """Whether a recorded analysis judged this canary at its current step: the same release,
    step and time it reached the step (a canary started again after an abort is another)."""
    return (record.get("release"), record.get("step"), record.get("since")) == (
        canary.version,
        canary.step,
        canary.since,
    )


def region_state(path: str, content: bytes) -> RegionState:
    data = read_yaml(path, content)
    problem = _region_problem(data)
    if problem:
        raise UsageError(
            f"{path} on the state branch is not a region state ({problem}); it was not written by "
            "modctl: `modctl audit verify` names the commit"
        )
    return RegionState.from_dict(data)


def freeze_state(path: str, content: bytes) -> Freeze:
    data = read_yaml(path, content)
    if not (
        isinstance(data, dict)
        and set(data) <= {"frozen", "since", "reason", "actor", "incident"}
        and isinstance(data.get("frozen", False), bool)
        and _stamp_or_none(data.get("since"))
        and all(isinstance(data.get(k), (str, type(None))) for k in ("reason", "actor", "incident"))
    ):
        raise UsageError(
            f"{path} on the state branch is not a freeze; it was not written by modctl: "
            "`modctl audit verify` names the commit"
        )
    return Freeze(**data)


def freeze_of(files: Mapping[str, bytes], region: str) -> Freeze:
    """The region's freeze in the state files `files` (not frozen when it has none)."""
    raw = files.get(freeze_file(region))
    return freeze_state(freeze_file(region), raw) if raw else Freeze()


def situation(snapshot: Snapshot, config: Config, bundle: str, now: datetime) -> Situation:
    """What the transitions of `bundle` need to know, read from `snapshot`."""
    released = versions(snapshot, bundle)
    states: dict[str, RegionState] = {}
    freezes: dict[str, Freeze] = {}
    for region in config.regions:
        raw = snapshot.files.get(region_file(region, bundle))
        if raw is not None:
            states[region] = region_state(region_file(region, bundle), raw)
        freezes[region] = freeze_of(snapshot.files, region)
    regions: tuple[str, ...] = ()
    if released:
        latest = snapshot.files.get(artifact_file(bundle, released[-1]))
        if latest is not None:
            regions = tuple(json.loads(latest)["regions"])

    def artifact(version: str) -> dict[str, Any] | None:
        data = snapshot.files.get(artifact_file(bundle, version))
        return json.loads(data) if data is not None else None

    return Situation(
        config, bundle, released, states, freezes, now, bundle_regions=regions, artifact=artifact
    )


_REGION_KEYS = {"bundle", "region", "stable", "history", "canary", "hotpatches"}
_CANARY_KEYS = {"version", "weight", "step", "since", "paused"}


def _region_problem(data: Any) -> str | None:
    """What keeps `data` from being a region state as modctl writes it; None when nothing."""
    if not isinstance(data, dict):
        return "not a mapping"
    if not set(data) <= _REGION_KEYS or not {"bundle", "region"} <= set(data):
        return f"its keys are {sorted(map(str, data))}"
    if not all(isinstance(data[k], str) for k in ("bundle", "region")):
        return "bundle and region must be names"
    if not isinstance(data.get("stable"), (str, type(None))):
        return "stable must be a version"
    history = data.get("history", [])
    if not isinstance(history, list) or not all(isinstance(v, str) for v in history):
        return "history must be a list of versions"
    patches = data.get("hotpatches") or []
    if not isinstance(patches, list) or not all(_is_hotpatch(p) for p in patches):
        return "hotpatches must be a list of hot-patches"
    canary = data.get("canary")
    if canary is None:
        return None
    if not isinstance(canary, dict) or set(canary) != _CANARY_KEYS:
        return "canary must have version, weight, step, since and paused"
    kinds = {"version": str, "weight": int, "step": int, "paused": bool}
    if not all(type(canary[k]) is kind for k, kind in kinds.items()):
        return "canary values have the wrong types"
    if not _stamp_or_none(canary["since"]) or canary["since"] is None:
        return "canary.since must be a UTC time such as 2026-01-31T12:00:00Z"
    return None


def _is_hotpatch(patch: Any) -> bool:
    """The keys render and status read are there, with the types they expect."""
    return (
        isinstance(patch, dict)
        and all(isinstance(patch.get(key), str) for key in ("id", "op", "target"))
        and all(isinstance(patch.get(key), str) for key in ("created", "expires"))
        and _stamp_or_none(patch["created"])
        and _stamp_or_none(patch["expires"])
    )


def _stamp_or_none(value: Any) -> bool:
    if value is None:
        return True
    try:
        parse_stamp(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def frozen(files: Mapping[str, bytes], region: str) -> bool:
    """Whether the state files `files` hold `region` frozen."""
    return freeze_of(files, region).frozen


def manifests(snapshot: Snapshot, bundle: str | None = None) -> list[dict[str, Any]]:
    """Every release manifest on the state branch, oldest version first per bundle."""
    found = []
    for path, content in snapshot.files.items():
        parts = path.split("/")
        is_manifest = len(parts) == 3 and parts[0] == "releases" and parts[2].endswith(".yaml")
        if is_manifest and (bundle is None or parts[1] == bundle):
            found.append(read_yaml(path, content))
    return sorted(found, key=lambda m: (m["bundle"], semver(m["version"])))


@dataclass(frozen=True)
class Recorded:
    """A hot-patch on the state branch: its record, its bundle, and the regions whose state holds
    it (one `hotpatch apply` writes the same record, with one id, into every region it patches)."""

    patch: dict[str, Any]
    bundle: str
    regions: tuple[str, ...]


def hotpatches(snapshot: Snapshot) -> dict[str, Recorded]:
    """Every hot-patch in the region states of `snapshot`, expired ones too, by id."""
    found: dict[str, Recorded] = {}
    for path in sorted(snapshot.files):
        parts = path.split("/")
        if len(parts) != 3 or parts[0] != "regions" or path == freeze_file(parts[1]):
            continue
        state = region_state(path, snapshot.files[path])
        for patch in state.hotpatches:
            seen = found.get(patch["id"])
            if seen is None:
                found[patch["id"]] = Recorded(patch, state.bundle, (state.region,))
            elif seen.bundle != state.bundle:
                raise UsageError(
                    f"hot-patch {patch['id']} is recorded for bundles {seen.bundle} and "
                    f"{state.bundle}; it was not written by modctl: `modctl audit verify` names "
                    "the commit"
                )
            else:
                found[patch["id"]] = Recorded(
                    seen.patch, seen.bundle, (*seen.regions, state.region)
                )
    return found


def hotpatch(snapshot: Snapshot, patch_id: str) -> Recorded:
    """The hot-patch `patch_id`; an unknown id gets the known ones and the closest."""
    found = hotpatches(snapshot)
    if patch_id in found:
        return found[patch_id]
    known = sorted(found)
    listing = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    raise UsageError(
        f"no hot-patch {patch_id!r} on the state branch{suggest(patch_id, known)} "
        f"(hot-patches: {listing or 'none'})"
    )
