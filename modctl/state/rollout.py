"""Rollout transitions: pure functions from the state of a bundle's regions to the next state.

Per region and bundle the state is the stable release, the history of earlier stables (so a
rollback needs no history scan), and the canary in flight: its version, weight, step of the
wave and since when it sits there. A region-wide freeze stops starting and promoting canaries;
rollback and abort stay allowed. Every refusal says what would make the transition possible.
No I/O: the CLI reads the state branch, calls a transition, and the store writes the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from modctl.errors import RefusedError, UsageError
from modctl.model import Config, Wave

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"(?:[0-9]+[smhd])+")  # `90s`, `4h`, `1h30m`: whole numbers, no sign
STAMP = "%Y-%m-%dT%H:%M:%SZ"  # how every time on the state branch is written (UTC)


def seconds(duration: str) -> int:
    """`1h30m` -> 5400."""
    parts = re.findall(r"([0-9]+)([smhd])", duration)
    return sum(int(n) * UNITS[unit] for n, unit in parts)


def stamp(moment: datetime) -> str:
    return moment.strftime(STAMP)


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, STAMP)


class HeldError(RefusedError):
    """A refusal of `promote` for something that passes or that someone set: `hold` names it in
    one word (frozen, paused, baking), as `rollout status` shows it."""

    def __init__(self, message: str, hold: str, brief: str | None = None) -> None:
        super().__init__(message)
        self.hold = hold
        self.brief = brief or message  # without advice only a person at the prompt can take


@dataclass(frozen=True)
class Canary:
    version: str
    weight: int
    step: int  # index into the wave's steps
    since: str
    paused: bool = False


@dataclass(frozen=True)
class RegionState:
    bundle: str
    region: str
    stable: str | None = None
    history: tuple[str, ...] = ()  # earlier stables, oldest first
    canary: Canary | None = None
    hotpatches: tuple[dict[str, Any], ...] = ()  # see the hotpatch schema; applied in order

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "region": self.region,
            "stable": self.stable,
            "history": list(self.history),
            "canary": None if self.canary is None else self.canary.__dict__.copy(),
            "hotpatches": [dict(p) for p in self.hotpatches],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegionState:
        canary = data.get("canary")
        return cls(
            bundle=data["bundle"],
            region=data["region"],
            stable=data.get("stable"),
            history=tuple(data.get("history", ())),
            canary=Canary(**canary) if canary else None,
            hotpatches=tuple(data.get("hotpatches") or ()),
        )


@dataclass(frozen=True)
class Freeze:
    """A region-wide hold: who froze the region, when, why, under which incident."""

    frozen: bool = False
    since: str | None = None
    reason: str | None = None
    actor: str | None = None
    incident: str | None = None

    def describe(self, regions: list[str]) -> str:
        held = f"{', '.join(regions)} frozen by {self.actor or 'someone'} since {self.since}"
        held += f" for {self.incident}" if self.incident else " (no incident)"
        return held + (f": {self.reason}" if self.reason else "")


def holds(frozen: list[tuple[str, Freeze]]) -> list[str]:
    """Each freeze once, with the regions it holds, in the order they come."""
    grouped: dict[Freeze, list[str]] = {}
    for region, hold in frozen:
        grouped.setdefault(hold, []).append(region)
    return [hold.describe(regions) for hold, regions in grouped.items()]


@dataclass
class Situation:
    """What a transition needs to know: config, the bundle's releases and region states."""

    config: Config
    bundle: str
    releases: list[str]  # versions, oldest first
    states: dict[str, RegionState]
    freezes: dict[str, Freeze]
    now: datetime
    bundle_regions: tuple[str, ...] = ()
    changed: dict[str, RegionState] = field(default_factory=dict)
    release: str | None = None  # the release a transition acted on, for the journal
    hotpatch: str | None = None  # the hot-patch a transition made or reverted, for the journal
    # The released config (artifact) of a version of this bundle, None when there is none.
    artifact: Callable[[str], dict[str, Any] | None] = lambda _version: None

    def state(self, region: str) -> RegionState:
        return (
            self.changed.get(region) or self.states.get(region) or RegionState(self.bundle, region)
        )

    def wave_of(self, region: str) -> tuple[int, Wave]:
        for index, wave in enumerate(self.config.waves):
            if region in wave.regions:
                return index, wave
        raise RefusedError(f"region {region} is in no rollout wave of modctl.yaml; add it to one")

    def check_region(self, region: str) -> None:
        if region not in self.config.regions:
            raise UsageError(
                f"unknown region {region!r}; modctl.yaml declares {', '.join(self.config.regions)}"
            )
        if self.bundle_regions and region not in self.bundle_regions:
            raise UsageError(f"bundle {self.bundle} does not serve region {region}")

    def frozen(self, region: str) -> bool:
        return self.freezes.get(region, Freeze()).frozen

    def lift(self, region: str) -> str:
        """The command that lifts the region's freeze, under the incident it was made for."""
        import shlex

        incident = self.freezes.get(region, Freeze()).incident
        under = f" --incident {shlex.quote(incident)}" if incident else ""
        return f"`modctl unfreeze --region {region}{under}`"


def start(s: Situation, version: str, regions: list[str] | None, step: int = 0) -> str:
    """Stage `version` as a canary at `step` (0: the wave's first) in `regions` (default: the
    next wave that does not have it yet)."""
    if version not in s.releases:
        known = ", ".join(s.releases) or "none"
        raise RefusedError(
            f"{s.bundle} has no release {version} (releases: {known}); `modctl release cut` first"
        )
    targets = regions or _next_wave(s, version)
    for region in targets:
        s.check_region(region)
        if s.frozen(region):
            raise RefusedError(f"region {region} is frozen; {s.lift(region)} first")
        state = s.state(region)
        if state.canary is not None:
            raise RefusedError(
                f"{s.bundle} already has canary {state.canary.version} in {region}; promote or "
                f"abort it first"
            )
        if state.stable == version:
            raise RefusedError(f"{version} is already stable in {region}")
        index, wave = s.wave_of(region)
        for earlier in s.config.waves[:index]:
            behind = [r for r in earlier.regions if _serves(s, r) and s.state(r).stable != version]
            if behind:
                raise RefusedError(
                    f"wave {earlier.name!r} comes first and {version} is not stable there yet "
                    f"({', '.join(behind)}); promote it there first"
                )
        if not 0 <= step < len(wave.steps) - 1:
            raise RefusedError(
                f"wave {wave.name!r} has steps {', '.join(map(str, wave.steps[:-1]))} below 100%; "
                f"--at-step takes 1 to {len(wave.steps) - 1}"
            )
        canary = Canary(version, wave.steps[step], step, stamp(s.now))
        s.changed[region] = replace(state, canary=canary)
    s.release = version
    weights = ", ".join(f"{r} {s.changed[r].canary.weight}%" for r in sorted(targets))  # type: ignore[union-attr]
    return f"start {s.bundle} {version} canary in {weights}"


def _serves(s: Situation, region: str) -> bool:
    return not s.bundle_regions or region in s.bundle_regions


def _next_wave(s: Situation, version: str) -> list[str]:
    for wave in s.config.waves:
        pending = [r for r in wave.regions if _serves(s, r) and s.state(r).stable != version]
        if pending:
            return pending
    raise RefusedError(f"{version} is already stable in every wave")


def promote(s: Situation, region: str, *, full: bool = False, force: bool = False) -> str:
    s.check_region(region)
    state = s.state(region)
    canary = state.canary
    if canary is None:
        raise RefusedError(f"no canary of {s.bundle} in {region}; `modctl rollout start` first")
    if s.frozen(region):
        raise HeldError(f"region {region} is frozen; {s.lift(region)} first", "frozen")
    if canary.paused:
        raise HeldError(
            f"the canary in {region} is paused; `modctl rollout resume` first", "paused"
        )
    bake = seconds(s.config.min_bake or "0s")
    waited = s.now - parse_stamp(canary.since)
    if not force and s.config.min_bake and waited < timedelta(seconds=bake):
        left = timedelta(seconds=bake) - waited
        baked = f"the canary in {region} has baked {_human(waited)} of {s.config.min_bake}"
        raise HeldError(
            f"{baked}; wait {_human(left)} more or pass --force (recorded)",
            "baking",
            f"{baked}; {_human(left)} to go",
        )
    _, wave = s.wave_of(region)
    s.release = canary.version
    step = len(wave.steps) - 1 if full else canary.step + 1
    if step >= len(wave.steps) - 1:
        history = state.history + ((state.stable,) if state.stable else ())
        s.changed[region] = replace(state, stable=canary.version, history=history, canary=None)
        return f"promote {s.bundle} {canary.version} to stable in {region}"
    moved = replace(canary, weight=wave.steps[step], step=step, since=stamp(s.now))
    s.changed[region] = replace(state, canary=moved)
    return f"promote {s.bundle} {canary.version} canary to {moved.weight}% in {region}"


def demote(s: Situation, region: str) -> str:
    """Move the canary back one step of its wave; allowed while frozen, as it lowers exposure."""
    s.check_region(region)
    state = s.state(region)
    canary = state.canary
    if canary is None:
        raise RefusedError(f"no canary of {s.bundle} in {region} to demote")
    if canary.step == 0:
        raise RefusedError(
            f"the canary in {region} is at its wave's first step ({canary.weight}%); "
            f"`modctl rollout abort {s.bundle} --region {region}` takes it off"
        )
    _, wave = s.wave_of(region)
    step = min(canary.step, len(wave.steps) - 1) - 1
    moved = replace(canary, weight=wave.steps[step], step=step, since=stamp(s.now))
    s.changed[region] = replace(state, canary=moved)
    s.release = canary.version
    return f"demote {s.bundle} {canary.version} canary to {moved.weight}% in {region}"


def pause(s: Situation, region: str, *, paused: bool) -> str:
    s.check_region(region)
    state = s.state(region)
    if state.canary is None:
        raise RefusedError(
            f"no canary of {s.bundle} in {region} to {'pause' if paused else 'resume'}"
        )
    if state.canary.paused == paused:
        raise RefusedError(f"the canary in {region} is already {'paused' if paused else 'running'}")
    s.changed[region] = replace(state, canary=replace(state.canary, paused=paused))
    s.release = state.canary.version
    return f"{'pause' if paused else 'resume'} {s.bundle} canary in {region}"


def abort(s: Situation, region: str) -> str:
    s.check_region(region)
    state = s.state(region)
    if state.canary is None:
        raise RefusedError(f"no canary of {s.bundle} in {region} to abort")
    s.changed[region] = replace(state, canary=None)
    s.release = state.canary.version
    return f"abort {s.bundle} canary {state.canary.version} in {region}"


def rollback(s: Situation, region: str, to: str | None = None) -> str:
    s.check_region(region)
    state = s.state(region)
    if to is None:
        if not state.history:
            raise RefusedError(
                f"{s.bundle} has no earlier stable release in {region} to roll back to; "
                "name one with --to"
            )
        target, history = state.history[-1], state.history[:-1]
    else:
        if to not in s.releases:
            raise RefusedError(
                f"{s.bundle} has no release {to}; `modctl release list {s.bundle}` shows them"
            )
        if to == state.stable:
            raise RefusedError(f"{to} is already stable in {region}")
        target = to
        history = state.history + ((state.stable,) if state.stable else ())
    s.changed[region] = RegionState(s.bundle, region, target, history, None, state.hotpatches)
    s.release = target
    done = f"rollback {s.bundle} in {region} from {state.stable or 'nothing'} to {target}"
    if state.canary is not None:
        done += f", taking off the {state.canary.version} canary at {state.canary.weight}%"
    return done


def _human(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
