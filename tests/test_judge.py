"""The canary judge: single-look figures agree with SciPy, and clear cases get clear verdicts.
How often it errs under repeated looks is `benchmarks/gates_sim.py`'s job (too slow here)."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from modctl.gates.judge import FAIL, INCONCLUSIVE, PASS, Counts, Gate, judge, overall, radius

RELATIVE = Gate("overturn-rate", "overturned", "appeals", "higher", 0.10, None, 200, 0.95)
ABSOLUTE = Gate("takedown-rate", "takedowns", "decisions", "higher", None, 0.01, 200, 0.95)

LOOKS = [
    Counts(40, 500, 360, 4500),
    Counts(55, 500, 360, 4500),
    Counts(3, 250, 40, 2000),
    Counts(0, 300, 12, 900),
    Counts(300, 300, 899, 900),
]


@pytest.mark.parametrize("counts", LOOKS)
def test_single_look_figures_agree_with_scipy(counts: Counts) -> None:
    verdict = judge(ABSOLUTE, counts)
    pc, ps = counts.canary / counts.canary_of, counts.stable / counts.stable_of
    pooled = (counts.canary + counts.stable) / (counts.canary_of + counts.stable_of)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / counts.canary_of + 1 / counts.stable_of))
    expected_p = 2 * stats.norm.sf(abs(pc - ps) / se0) if se0 else 1.0
    assert verdict.p_value == pytest.approx(expected_p, abs=1e-9)
    se = math.sqrt(pc * (1 - pc) / counts.canary_of + ps * (1 - ps) / counts.stable_of)
    z = stats.norm.ppf(0.975)
    assert verdict.difference_interval is not None
    low, high = verdict.difference_interval
    assert low == pytest.approx(pc - ps - z * se, abs=1e-9)
    assert high == pytest.approx(pc - ps + z * se, abs=1e-9)
    assert verdict.difference == pytest.approx(pc - ps, abs=1e-12)


def test_the_sequential_interval_is_wider_than_one_look() -> None:
    """At any look the confidence sequence is wider than the single-look interval of the same
    confidence: the price of looking as often as one likes."""
    for variance in (1e-6, 1e-4, 1e-2):
        single = stats.norm.ppf(0.975) * math.sqrt(variance)
        assert radius(variance, 0.0953**2, 0.05) > single


def test_a_clearly_worse_canary_fails_with_the_numbers() -> None:
    verdict = judge(RELATIVE, Counts(300, 2500, 1800, 22500))  # 12% against 8%
    assert verdict.verdict == FAIL
    assert verdict.reason.startswith("canary worse than stable: +50.2% increase")
    assert verdict.always_valid_p is not None
    assert verdict.always_valid_p < 0.001


def test_a_clearly_equal_canary_with_plenty_of_samples_passes() -> None:
    verdict = judge(RELATIVE, Counts(3200, 40000, 28800, 360000))  # 8% against 8%
    assert verdict.verdict == PASS
    assert "no worse than allowed" in verdict.reason


def test_too_few_samples_is_inconclusive_and_says_how_many_are_missing() -> None:
    verdict = judge(RELATIVE, Counts(10, 120, 80, 1000))
    assert (verdict.verdict, verdict.missing) == (INCONCLUSIVE, 80)
    assert verdict.reason == "120 of 200 appeals in the canary; 80 more needed"


def test_enough_samples_but_no_evidence_either_way_is_inconclusive() -> None:
    verdict = judge(RELATIVE, Counts(20, 250, 180, 2250))
    assert verdict.verdict == INCONCLUSIVE
    assert verdict.reason.startswith("not enough evidence yet")


def test_worse_lower_turns_the_sign() -> None:
    gate = Gate("precision", "confirmed", "takedowns", "lower", 0.10, None, 200, 0.95)
    assert judge(gate, Counts(600, 1000, 8000, 10000)).verdict == FAIL  # 60% against 80%
    assert judge(gate, Counts(9000, 10000, 80000, 100000)).verdict == PASS


def test_with_both_tolerances_both_must_hold() -> None:
    both = Gate("g", "n", "d", "higher", 0.50, 0.001, 200, 0.95)
    # 8.5% against 8%: within +50% relative, beyond +0.1 points absolute.
    verdict = judge(both, Counts(8500, 100000, 72000, 900000))
    assert verdict.verdict == FAIL
    assert [b.scale for b in verdict.bounds] == ["relative", "absolute"]


def test_the_overall_verdict() -> None:
    good = judge(RELATIVE, Counts(3200, 40000, 28800, 360000))
    bad = judge(RELATIVE, Counts(300, 2500, 1800, 22500))
    unsure = judge(RELATIVE, Counts(20, 250, 180, 2250))
    assert overall([good, good]) == PASS
    assert overall([good, unsure]) == INCONCLUSIVE
    assert overall([good, unsure, bad]) == FAIL
    assert overall([]) == INCONCLUSIVE


@pytest.mark.parametrize(
    "counts",
    [Counts(-1, 10, 1, 10), Counts(11, 10, 1, 10), Counts(1, 10, 11, 10)],
)
def test_impossible_counts_are_refused(counts: Counts) -> None:
    with pytest.raises(ValueError, match=r"non-negative|above its denominator"):
        judge(RELATIVE, counts)
