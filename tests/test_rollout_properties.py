"""Random sequences of rollout commands never break the rollout invariants."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from modctl.errors import RefusedError
from modctl.model import Config, Origin, Wave
from modctl.state.rollout import (
    Canary,
    Freeze,
    RegionState,
    Situation,
    abort,
    pause,
    promote,
    rollback,
    start,
)

CONFIG = Config(
    regions=("SG", "MY", "TH", "GB"),
    fields={"title": "string"},
    waves=(
        Wave("pilot", ("SG",), (1, 10, 100), Origin("modctl.yaml")),
        Wave("sea", ("MY", "TH"), (10, 50, 100), Origin("modctl.yaml")),
        Wave("west", ("GB",), (25, 100), Origin("modctl.yaml")),
    ),
    min_bake="1h",
)
RELEASES = ["1.0.0", "1.1.0", "1.2.0", "2.0.0"]
REGIONS = st.sampled_from(CONFIG.regions)
STEPS = {r: w.steps for w in CONFIG.waves for r in w.regions}


class Rollouts(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.states: dict[str, RegionState] = {}
        self.freezes: dict[str, Freeze] = {}
        self.now = datetime(2026, 1, 1)

    def apply(self, action: object) -> None:
        s = Situation(CONFIG, "b", RELEASES, dict(self.states), dict(self.freezes), self.now)
        before = {r: self.states.get(r) for r in CONFIG.regions}
        try:
            action(s)  # type: ignore[operator]
        except RefusedError:
            return
        for region, state in s.changed.items():
            if self.freezes.get(region, Freeze()).frozen:
                old = before[region]
                moved = old is None or old.canary != state.canary or old.stable != state.stable
                assert not (moved and getattr(action, "promotes", False)), (
                    "a frozen region moved forward"
                )
            self.states[region] = state

    @rule(version=st.sampled_from(RELEASES), region=st.none() | REGIONS)
    def start(self, version: str, region: str | None) -> None:
        before = dict(self.states)

        def act(s: Situation) -> str:
            return start(s, version, [region] if region else None)

        act.promotes = True  # type: ignore[attr-defined]
        self.apply(act)
        started = {r for r, state in self.states.items() if before.get(r) != state}
        for index, wave in enumerate(CONFIG.waves):
            if started & set(wave.regions):
                for earlier in CONFIG.waves[:index]:
                    assert all(
                        before.get(r) is not None and before[r].stable == version
                        for r in earlier.regions
                    ), f"{version} started in wave {wave.name} before {earlier.name} ran it stable"

    @rule(region=REGIONS, full=st.booleans(), force=st.booleans())
    def promote(self, region: str, full: bool, force: bool) -> None:
        def act(s: Situation) -> str:
            return promote(s, region, full=full, force=force)

        act.promotes = True  # type: ignore[attr-defined]
        self.apply(act)

    @rule(region=REGIONS, paused=st.booleans())
    def pause(self, region: str, paused: bool) -> None:
        self.apply(lambda s: pause(s, region, paused=paused))

    @rule(region=REGIONS)
    def abort(self, region: str) -> None:
        self.apply(lambda s: abort(s, region))

    @rule(region=REGIONS, to=st.none() | st.sampled_from(RELEASES))
    def rollback(self, region: str, to: str | None) -> None:
        self.apply(lambda s: rollback(s, region, to))

    @rule(region=REGIONS, frozen=st.booleans())
    def freeze(self, region: str, frozen: bool) -> None:
        self.freezes[region] = Freeze(frozen)

    @rule(hours=st.integers(0, 3))
    def wait(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @invariant()
    def canaries_sit_on_a_step_of_their_wave(self) -> None:
        for region, state in self.states.items():
            if state.canary is not None:
                steps = STEPS[region]
                assert state.canary.weight == steps[state.canary.step]
                assert state.canary.step < len(steps) - 1  # the last step means stable

    @invariant()
    def history_holds_only_releases_and_never_the_current_stable_last(self) -> None:
        for state in self.states.values():
            assert all(v in RELEASES for v in state.history)
            if state.stable is not None:
                assert state.stable in RELEASES
            if state.history:
                # A rollback without --to goes to history[-1]: it must be another release.
                assert state.history[-1] != state.stable, state


TestRollouts = Rollouts.TestCase
TestRollouts.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def test_without_min_bake_a_canary_from_a_clock_ahead_promotes() -> None:
    """Another operator's clock ran ahead: the canary's `since` is later than now. With no
    min_bake there is no wait to enforce, so promote is not refused."""
    config = Config(regions=CONFIG.regions, fields=CONFIG.fields, waves=CONFIG.waves)
    now = datetime(2026, 1, 1)
    ahead = RegionState("b", "SG", None, (), Canary("1.0.0", 1, 0, "2026-01-01T00:05:00Z"))
    s = Situation(config, "b", RELEASES, {"SG": ahead}, {}, now)
    assert promote(s, "SG") == "promote b 1.0.0 canary to 10% in SG"
