"""What runs where: `rollout status` (the frozen regions, then one row per region and bundle) and
where a release is deployed. Pure: reads a snapshot of the state branch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from modctl.errors import ModctlError, UnknownBundleError, suggest
from modctl.model import Config
from modctl.state import hotpatch, rollout
from modctl.state.files import (
    analysis_order,
    freeze_of,
    judged,
    read_analysis,
    region_file,
    region_state,
    situation,
)
from modctl.state.rollout import RegionState, Situation, parse_stamp, stamp
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


def last_analysis(snapshot: Snapshot, state: RegionState) -> dict[str, Any] | None:
    """The latest gate evaluation stored under analyses/ of the region's canary at its current
    step, if any: a verdict of an earlier step or of an earlier canary is not this one's."""
    if state.canary is None:
        return None
    prefix = f"analyses/{state.bundle}/{state.region}/"
    for path in sorted(
        (p for p in snapshot.files if p.startswith(prefix)), key=analysis_order, reverse=True
    ):
        record = read_analysis(path, snapshot.files[path])
        if judged(record, state.canary):
            return record
    return None


def verdicts(snapshot: Snapshot, bundle: str, version: str) -> list[dict[str, Any]]:
    """Every gate evaluation of one release, oldest first: region, when, look, verdict."""
    prefix = f"analyses/{bundle}/"
    found = []
    for path in sorted((p for p in snapshot.files if p.startswith(prefix)), key=analysis_order):
        record = read_analysis(path, snapshot.files[path])
        if record.get("release") == version:
            found.append(
                {
                    "region": record.get("region"),
                    "at": record.get("at"),
                    "step": record.get("step"),
                    "look": record.get("look"),
                    "verdict": record.get("verdict"),
                }
            )
    return found


@dataclass
class Status:
    """The state branch at one moment, as `rollout status` shows it."""

    as_of: datetime
    commit: str | None
    bundle: str | None  # the one bundle asked for, or None for every bundle
    freezes: list[dict[str, Any]] = field(default_factory=list)  # one per frozen region
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per region and bundle

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": stamp(self.as_of),
            "commit": self.commit,
            "bundle": self.bundle,
            "freezes": self.freezes,
            "rows": self.rows,
        }


def bundles_on(snapshot: Snapshot) -> set[str]:
    """The bundles the state branch knows: released, or with a region state."""
    found = set()
    for path in snapshot.files:
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == "releases":
            found.add(parts[1])
        elif len(parts) == 3 and parts[0] == "regions" and not parts[2].startswith("_"):
            found.add(parts[2].removesuffix(".yaml"))
    return found


def check_bundle(snapshot: Snapshot, bundle: str, known: Iterable[str]) -> None:
    """UnknownBundleError, with the closest name, unless `bundle` is on the state branch or in
    `known` (the working tree's bundles)."""
    names = sorted(bundles_on(snapshot) | set(known))
    if bundle not in names:
        listing = ", ".join(names) or "none"
        raise UnknownBundleError(
            f"no bundle named {bundle!r}{suggest(bundle, names)} (bundles: {listing})"
        )


def status(
    snapshot: Snapshot,
    config: Config,
    bundle: str | None,
    now: datetime,
    known: Iterable[str] = (),
) -> Status:
    """Every frozen region and every region state (of `bundle`, when given), in wave order.
    `known` names bundles that exist beside those of the state branch (in the working tree):
    a bundle in neither is an UnknownBundleError."""
    if bundle is not None:
        check_bundle(snapshot, bundle, known)
    regions = {path.split("/")[1] for path in snapshot.files if path.startswith("regions/")}
    frozen = {}
    for region in sorted(regions | set(config.regions), key=lambda r: _order(config, r)):
        hold = freeze_of(snapshot.files, region)
        if hold.frozen:
            frozen[region] = hold
    freezes = [
        {
            "region": region,
            "wave": _wave(config, region),
            "since": hold.since,
            "frozen_seconds": _seconds_since(hold.since, now) if hold.since else None,
            "actor": hold.actor,
            "reason": hold.reason,
            "incident": hold.incident,
        }
        for region, hold in frozen.items()
    ]
    rows = _rows(snapshot, config, bundle, now, set(frozen))
    return Status(now, snapshot.commit, bundle, freezes, rows)


def _rows(
    snapshot: Snapshot, config: Config, bundle: str | None, now: datetime, frozen: set[str]
) -> list[dict[str, Any]]:
    bake = rollout.seconds(config.min_bake) if config.min_bake else 0
    situations: dict[str, Situation] = {}
    rows = []
    for path in snapshot.files:
        parts = path.split("/")
        if len(parts) != 3 or parts[0] != "regions" or parts[2].startswith("_"):
            continue
        state = region_state(path, snapshot.files[path])
        if bundle and state.bundle != bundle:
            continue
        canary = state.canary
        phases = [hotpatch.phase(p, now, config.max_hotpatch_ttl) for p in state.hotpatches]
        analysed = last_analysis(snapshot, state)
        gate = str(analysed["verdict"]) if analysed and analysed.get("verdict") else None
        gate_at = str(analysed["at"]) if analysed and analysed.get("at") else None
        row: dict[str, Any] = {
            "region": state.region,
            "wave": _wave(config, state.region),
            "bundle": state.bundle,
            "stable": state.stable,
            "canary": None,
            "weight": None,
            "step": None,
            "steps": None,
            "at_step_since": None,
            "seconds_at_step": None,
            "minutes_at_step": None,
            "bake_remaining_seconds": None,
            "paused": bool(canary and canary.paused),
            "frozen": state.region in frozen,
            "promotable": None,
            "hold": "frozen" if state.region in frozen else None,
            "why": None,
            "hotpatches": phases.count("live"),
            "expired_hotpatches": phases.count("expired"),
            "pending_hotpatches": phases.count("pending"),
            "gate": gate,
            "gate_at": gate_at,
            "gate_seconds_ago": _seconds_since(gate_at, now) if gate_at else None,
            "samples_missing": _missing(analysed),
        }
        if canary is not None:
            if state.bundle not in situations:
                situations[state.bundle] = situation(snapshot, config, state.bundle, now)
            waited = _seconds_since(canary.since, now)
            promotable, hold, why = _promotion(situations[state.bundle], state.region, gate)
            row |= {
                "canary": canary.version,
                "weight": canary.weight,
                "step": canary.step + 1,
                "steps": _steps(config, state.region),
                "at_step_since": canary.since,
                "seconds_at_step": waited,
                "minutes_at_step": waited // 60,
                "bake_remaining_seconds": bake - waited if waited < bake else None,
                "promotable": promotable,
                "hold": hold,
                "why": why,
            }
        rows.append(row)
    return sorted(rows, key=lambda r: (*_order(config, r["region"]), r["bundle"]))


def _promotion(s: Situation, region: str, gate: str | None) -> tuple[bool, str | None, str | None]:
    """Whether `rollout promote` would be allowed now, as the transition itself answers on a
    copy of the situation; if not, why in one word and in its own words. A failing last gate
    does not stop `promote`, but it is why not to."""
    try:
        rollout.promote(replace(s, changed={}), region)
    except rollout.HeldError as exc:
        return False, exc.hold, exc.message
    except ModctlError as exc:
        return False, "refused", exc.message
    if gate == "fail":
        return (
            True,
            "gate",
            "the last gate evaluation failed: promote is allowed, but the gate says no",
        )
    return True, None, None


def _missing(analysed: dict[str, Any] | None) -> int | None:
    """How many more canary samples the last analysis's gates need to reach min_denominator."""
    if not analysed:
        return None
    try:
        short = [
            int(gate["config"].get("min_denominator", 0)) - int(gate["counts"]["canary_of"])
            for gate in analysed.get("gates", [])
        ]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # not written by modctl: `audit verify` names the commit
    return max([0, *short])


def _seconds_since(moment: str, now: datetime) -> int:
    return max(int((now - parse_stamp(moment)).total_seconds()), 0)


def _order(config: Config, region: str) -> tuple[int, str]:
    """Wave order, then region: regions in no wave come last."""
    for index, wave in enumerate(config.waves):
        if region in wave.regions:
            return index, region
    return len(config.waves), region


def _wave(config: Config, region: str) -> str | None:
    return next((w.name for w in config.waves if region in w.regions), None)


def _steps(config: Config, region: str) -> int | None:
    return next((len(w.steps) for w in config.waves if region in w.regions), None)
