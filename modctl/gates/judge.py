"""The canary judge: one gate's verdict from the counts of one look. Pure: standard library only.

`rollout advance` looks at the same canary again and again, so a fresh test at every look would
fail healthy canaries far more often than its confidence says. The judge uses a confidence
sequence instead, valid at every look at once: the normal-mixture boundary of Robbins (1970), as
used for always-valid A/B inference by Johari et al. (2017) and Howard et al. (2021). With the
estimate `x` of the canary's increase, its variance `v` and a mixing variance `r2` fixed by the
gate's configuration (never by the data), the increase lies within

    x +- sqrt(v * (v + r2) / r2 * (2 * ln(1 / alpha) + ln(1 + r2 / v)))

at every look simultaneously with probability at least `1 - alpha` (Ville's inequality on the
mixture martingale; `alpha = 1 - confidence`). The boundary is tightest when `v` is near `r2`, so
`r2` is the square of the allowed increase: the data needed to tell an increase of that size.

The increase is measured on the scale its tolerance is stated on: the log of the rate ratio for
`max_relative_increase` (allowed: `ln(1 + max_relative_increase)`), the rate difference for
`max_absolute_increase`; with both, both must hold. The sign follows `worse`. Then:

- `fail`: the lower bound is above 0 (worse with sequential significance) and the estimate is
  above the allowed increase (practically worse);
- `pass`: the upper bound is below the allowed increase (shown to be no worse than allowed);
- `inconclusive`: anything else, and anything below `min_denominator` samples in the canary.

The single-look figures (two-proportion z test p-value, Wald interval of the difference) are
reported beside it for people used to them; they do not decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
MAX_COUNT = 2**53  # the largest count a float holds exactly; far beyond any canary's traffic
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Gate:
    """A gate of `modctl.yaml`: a rate `numerator / denominator` that must not get worse."""

    name: str
    numerator: str
    denominator: str
    worse: str = "higher"  # higher | lower
    max_relative_increase: float | None = None
    max_absolute_increase: float | None = None
    min_denominator: int = 0
    confidence: float = 0.95

    @classmethod
    def from_config(cls, name: str, data: dict[str, Any]) -> Gate:
        return cls(
            name=name,
            numerator=data["numerator"],
            denominator=data["denominator"],
            worse=data.get("worse", "higher"),
            max_relative_increase=data.get("max_relative_increase"),
            max_absolute_increase=data.get("max_absolute_increase"),
            min_denominator=int(data.get("min_denominator", 0)),
            confidence=float(data.get("confidence", 0.95)),
        )


@dataclass(frozen=True)
class Counts:
    """One look: the numerator and denominator totals of each variant since the canary reached
    its current step."""

    canary: int
    canary_of: int
    stable: int
    stable_of: int


@dataclass(frozen=True)
class Bound:
    """The increase on one scale: estimate, allowed, and the sequential interval."""

    scale: str  # relative | absolute
    estimate: float
    allowed: float
    low: float
    high: float
    variance: float


@dataclass(frozen=True)
class Verdict:
    gate: str
    verdict: str
    reason: str
    canary_rate: float | None
    stable_rate: float | None
    difference: float | None  # canary rate - stable rate
    relative: float | None  # canary rate / stable rate - 1
    difference_interval: tuple[float, float] | None  # single-look Wald, at the confidence
    p_value: float | None  # single-look two-proportion z test, two-sided
    always_valid_p: float | None  # sequential, two-sided, for "no difference"
    bounds: tuple[Bound, ...]
    samples: int  # the canary's denominator
    missing: int  # samples still needed to reach min_denominator
    confidence: float  # the gate's, for the intervals

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["bounds"] = [b.__dict__ for b in self.bounds]
        return data


def judge(gate: Gate, counts: Counts) -> Verdict:
    """The verdict of `gate` on one look's `counts`."""
    _check(counts)
    alpha = 1.0 - gate.confidence
    c, nc, s, ns = counts.canary, counts.canary_of, counts.stable, counts.stable_of
    canary_rate = c / nc if nc else None
    stable_rate = s / ns if ns else None
    missing = max(0, gate.min_denominator - nc)
    if canary_rate is None or stable_rate is None or missing:
        why = (
            f"{nc} of {gate.min_denominator} {gate.denominator} in the canary; "
            f"{missing} more needed"
            if missing
            else "no samples in one of the variants yet"
        )
        return Verdict(
            gate.name,
            INCONCLUSIVE,
            why,
            canary_rate,
            stable_rate,
            None,
            None,
            None,
            None,
            None,
            (),
            nc,
            missing,
            gate.confidence,
        )
    difference = canary_rate - stable_rate
    relative = canary_rate / stable_rate - 1 if stable_rate else None
    sign = 1.0 if gate.worse == "higher" else -1.0
    bounds = tuple(_bounds(gate, counts, sign, alpha))
    verdict, reason = _decide(gate, bounds)
    z_p, wald = _single_look(counts, gate.confidence)
    return Verdict(
        gate.name,
        verdict,
        reason,
        canary_rate,
        stable_rate,
        difference,
        relative,
        wald,
        z_p,
        _always_valid_p(bounds[0]) if bounds else None,
        bounds,
        nc,
        0,
        gate.confidence,
    )


def overall(verdicts: list[Verdict]) -> str:
    """Fails if any gate fails; passes only if every gate passes."""
    if any(v.verdict == FAIL for v in verdicts):
        return FAIL
    if verdicts and all(v.verdict == PASS for v in verdicts):
        return PASS
    return INCONCLUSIVE


def radius(variance: float, mixing: float, alpha: float) -> float:
    """The half-width of the normal-mixture confidence sequence at one look."""
    if variance <= 0:
        return 0.0
    spread = variance * (variance + mixing) / mixing
    return math.sqrt(spread * (2 * math.log(1 / alpha) + math.log1p(mixing / variance)))


def _check(counts: Counts) -> None:
    for value in counts.__dict__.values():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"counts are non-negative integers, not {value!r}")
        if value > MAX_COUNT:
            raise ValueError(f"counts are at most {MAX_COUNT:,}")
    if counts.canary > counts.canary_of or counts.stable > counts.stable_of:
        raise ValueError("a numerator is above its denominator")


def _bounds(gate: Gate, counts: Counts, sign: float, alpha: float) -> list[Bound]:
    found = []
    if gate.max_relative_increase is not None:
        # Log rate ratio, with half a count added to every cell so that a zero stays finite.
        c, nc = counts.canary + 0.5, counts.canary_of + 1.0
        s, ns = counts.stable + 0.5, counts.stable_of + 1.0
        estimate = sign * (math.log(c / nc) - math.log(s / ns))
        variance = (1 / c - 1 / nc) + (1 / s - 1 / ns)
        allowed = math.log1p(gate.max_relative_increase)
        found.append(_bound("relative", estimate, variance, allowed, alpha))
    if gate.max_absolute_increase is not None:
        pc, ps = counts.canary / counts.canary_of, counts.stable / counts.stable_of
        estimate = sign * (pc - ps)
        # Rates clamped away from 0 and 1, so that the variance never vanishes.
        qc = min(max(pc, 0.5 / counts.canary_of), 1 - 0.5 / counts.canary_of)
        qs = min(max(ps, 0.5 / counts.stable_of), 1 - 0.5 / counts.stable_of)
        variance = qc * (1 - qc) / counts.canary_of + qs * (1 - qs) / counts.stable_of
        allowed = gate.max_absolute_increase
        found.append(_bound("absolute", estimate, variance, allowed, alpha))
    return found


def _bound(scale: str, estimate: float, variance: float, allowed: float, alpha: float) -> Bound:
    half = radius(variance, _mixing(allowed), alpha)
    return Bound(scale, estimate, allowed, estimate - half, estimate + half, variance)


def _mixing(allowed: float) -> float:
    """The mixing variance: fixed by the gate's tolerance, never by the data."""
    return max(allowed, 1e-9) ** 2


def _decide(gate: Gate, bounds: tuple[Bound, ...]) -> tuple[str, str]:
    if not bounds:
        return INCONCLUSIVE, "the gate sets no max_relative_increase nor max_absolute_increase"
    worse = [b for b in bounds if b.low > 0 and b.estimate > b.allowed]
    if worse:
        b = worse[0]
        return FAIL, (
            f"canary worse than stable: {_said(b, b.estimate)} increase, above the allowed "
            f"{_said(b, b.allowed)}, and at least {_said(b, b.low)} at {gate.confidence:.0%} "
            "confidence over every look"
        )
    if all(b.high < b.allowed for b in bounds):
        b = max(bounds, key=lambda b: b.high / b.allowed)
        return PASS, (
            f"canary no worse than allowed: the increase is at most {_said(b, b.high)} at "
            f"{gate.confidence:.0%} confidence over every look, below {_said(b, b.allowed)}"
        )
    b = max(bounds, key=lambda b: b.high / b.allowed)
    return INCONCLUSIVE, (
        f"not enough evidence yet: the increase is between {_said(b, b.low)} and "
        f"{_said(b, b.high)}, allowed {_said(b, b.allowed)}"
    )


def _said(bound: Bound, value: float) -> str:
    if bound.scale == "relative":
        return f"{math.expm1(value):+.1%}"
    return f"{value:+.2%} points"


def _always_valid_p(bound: Bound) -> float:
    """The sequential p-value for "no difference" (two-sided): 1 over the mixture martingale
    at this look, which stays valid however often it is looked at."""
    if bound.variance <= 0:
        return 1.0
    v, r2, x = bound.variance, _mixing(bound.allowed), bound.estimate
    log_mixture = 0.5 * math.log(v / (v + r2)) + r2 * x * x / (2 * v * (v + r2))
    return min(1.0, math.exp(-log_mixture))


def z_score(c: int, nc: int, s: int, ns: int) -> float | None:
    """The pooled two-proportion z statistic of the rate c/nc against s/ns (positive when the
    first is higher); None when either has no samples or the pooled rate has no spread."""
    if not nc or not ns:
        return None
    pooled = (c + s) / (nc + ns)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / ns))
    return None if se0 == 0 else (c / nc - s / ns) / se0


def upper_tail(z: float) -> float:
    """The one-sided p-value of a z statistic: how often chance alone gives one as high.
    From the complementary error function, which keeps a small tail's digits where `1 - cdf`
    would cancel to 0 (past z = 8)."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def wilson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """The Wilson score interval of a rate (Wilson 1927): unlike the Wald interval it stays
    within [0, 1] and keeps its coverage near 0 and 1 and on few trials."""
    if not trials:
        return 0.0, 1.0
    z = _NORMAL.inv_cdf(1 - (1 - confidence) / 2)
    rate, z2 = successes / trials, z * z
    centre = (rate + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(rate * (1 - rate) / trials + z2 / (4 * trials**2))
    return max(0.0, centre - half), min(1.0, centre + half)


def _single_look(counts: Counts, confidence: float) -> tuple[float, tuple[float, float]]:
    """Two-proportion z test (pooled, two-sided) and the Wald interval of the difference."""
    c, nc, s, ns = counts.canary, counts.canary_of, counts.stable, counts.stable_of
    pc, ps = c / nc, s / ns
    z_stat = z_score(c, nc, s, ns)
    p_value = 1.0 if z_stat is None else 2 * upper_tail(abs(z_stat))
    se = math.sqrt(pc * (1 - pc) / nc + ps * (1 - ps) / ns)
    z = _NORMAL.inv_cdf(1 - (1 - confidence) / 2)
    return p_value, (pc - ps - z * se, pc - ps + z * se)
