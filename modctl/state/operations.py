"""State-changing operations: read the state branch, apply a pure transition, write one commit.

Region state lives in `regions/REGION/BUNDLE.yaml`, the region-wide freeze in
`regions/REGION/_region.yaml` (bundle names cannot start with `_`), and every change re-renders
`deploy/REGION/BUNDLE.json`, the effective config the production platform loads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modctl import yamlio
from modctl.model import Config
from modctl.source.config import config_at
from modctl.state import artifact, hotpatch
from modctl.state.files import (
    freeze_file,
    frozen,
    read_yaml,
    region_file,
    region_state,
    versions,
)
from modctl.state.rollout import Freeze, RegionState, Situation, parse_stamp, stamp
from modctl.state.store import Entry, Snapshot, Store, Transition


@dataclass
class Outcome:
    summary: str
    commit: str | None
    files: dict[str, bytes | None]
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    before: dict[str, bytes] = field(default_factory=dict)

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
        }


@dataclass
class Journal:
    """Who acts, why, for which incident: what every state commit records."""

    actor: str
    reason: str | None = None
    incident: str | None = None


def situation(snapshot: Snapshot, config: Config, bundle: str, now: datetime) -> Situation:
    released = versions(snapshot, bundle)
    states: dict[str, RegionState] = {}
    freezes: dict[str, Freeze] = {}
    for region in config.regions:
        raw = snapshot.files.get(region_file(region, bundle))
        if raw is not None:
            states[region] = region_state(region_file(region, bundle), raw)
        frozen = snapshot.files.get(freeze_file(region))
        if frozen is not None:
            freezes[region] = Freeze(**read_yaml(freeze_file(region), frozen))
    regions: tuple[str, ...] = ()
    if released:
        latest = snapshot.files.get(f"artifacts/{bundle}/{released[-1]}.json")
        if latest is not None:
            regions = tuple(json.loads(latest)["regions"])
    return Situation(
        config,
        bundle,
        released,
        states,
        freezes,
        now,
        bundle_regions=regions,
    )


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
        is_frozen = frozen(snapshot, state.region)
        canary = state.canary
        since = parse_stamp(canary.since) if canary else None
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
                "frozen": is_frozen,
                "hotpatches": len(hotpatch.active(state.hotpatches, now)),
                "expired_hotpatches": len(state.hotpatches)
                - len(hotpatch.active(state.hotpatches, now)),
                "gate": last_gate(snapshot, state.bundle, state.region),
            }
        )
    return rows


def render(snapshot: Snapshot, state: RegionState, now: datetime) -> bytes:
    """The effective config of one bundle in one region: stable and canary releases with the
    rules that apply there and the region's active hot-patches applied."""
    patches = hotpatch.active(state.hotpatches, now)

    def release(version: str | None) -> dict[str, Any] | None:
        if version is None:
            return None
        data = snapshot.files[f"artifacts/{state.bundle}/{version}.json"]
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
    return artifact.canonical(effective)


def change(
    root: Path,
    bundle: str,
    action: str,
    mutate: Callable[[Situation], str],
    journal: Journal,
    *,
    release: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Outcome:
    config = config_at(root)
    store = Store(root, config.state_branch, config.remote)
    moment = now or datetime.now(timezone.utc).replace(tzinfo=None)
    regions: list[str] = []

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        s = situation(snapshot, config, bundle, moment)
        summary = mutate(s)
        files: dict[str, bytes | None] = {}
        for region, state in sorted(s.changed.items()):
            files[region_file(region, bundle)] = yamlio.dump(state.to_dict()).encode()
            files[f"deploy/{region}/{bundle}.json"] = render(snapshot, state, moment)
        regions[:] = sorted(s.changed)
        entry = Entry(
            action,
            journal.actor,
            summary,
            bundle=bundle,
            region=",".join(regions) or None,
            release=release or s.release,
            incident=journal.incident,
            reason=journal.reason,
        )
        return files, entry

    return _write(store, transition, dry_run)


def _write(store: Store, transition: Transition, dry_run: bool) -> Outcome:
    """Preview the transition on the current state, or write it; report the files it wrote."""
    if dry_run:
        snapshot = store.read()
        files, entry = transition(snapshot)
        return Outcome(entry.summary, None, files, dry_run=True, before=snapshot.files)
    written: dict[str, bytes | None] = {}

    def recording(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        files, entry = transition(snapshot)
        written.clear()
        written.update(files)
        return files, entry

    entry = store.write(recording)
    return Outcome(entry.summary, entry.commit, written, warnings=store.warnings)


def set_freeze(
    root: Path, regions: list[str] | None, frozen: bool, journal: Journal, *, dry_run: bool = False
) -> Outcome:
    config = config_at(root)
    store = Store(root, config.state_branch, config.remote)
    targets = regions or list(config.regions)
    unknown = [r for r in targets if r not in config.regions]
    if unknown:
        from modctl.errors import UsageError

        raise UsageError(
            f"unknown region {unknown[0]!r}; modctl.yaml declares {', '.join(config.regions)}"
        )
    moment = stamp(datetime.now(timezone.utc).replace(tzinfo=None))
    word = "freeze" if frozen else "unfreeze"

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        files: dict[str, bytes | None] = {}
        for region in targets:
            body = Freeze(frozen, moment if frozen else None, journal.reason if frozen else None)
            files[freeze_file(region)] = yamlio.dump(body.__dict__).encode()
        summary = f"{word} {', '.join(targets)}"
        entry = Entry(
            word,
            journal.actor,
            summary,
            region=",".join(targets),
            incident=journal.incident,
            reason=journal.reason,
        )
        return files, entry

    return _write(store, transition, dry_run)
