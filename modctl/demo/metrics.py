"""The metrics of the demo's canary: seeded, so that every run tells the same story.

The canary of 1.1.0 serves 1% of the pilot region's traffic beside stable 1.0.0. The demo writes
one window per variant, from the moment the canary started to the moment the file is written (a
few seconds of the demo standing for a canary's first hours), with these counts drawn from
`random.Random(SEED)`:

    variant   decisions  takedowns        appeals           overturned       reviews
    stable    2,376,000  12.0% of them    10% of takedowns   8% of appeals   0.5% of them
    canary       24,000  13.5% of them    10% of takedowns  24% of appeals   0.5% of them

The rule change takes down a little more (about +12%: the takedown-rate gate, which allows +25%,
passes) and three times as many of those takedowns are overturned on appeal: with some 300
canary appeals, over the 200 it needs, the overturn-rate gate fails clearly (about +200% where
+10% is allowed). Each count is a binomial draw, taken by the normal approximation from
`Random.random()`, whose sequence Python keeps the same from version to version.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist

SEED = 14
HEADER = (
    "region",
    "bundle",
    "variant",
    "window_start",
    "window_end",
    "decisions",
    "takedowns",
    "appeals",
    "appeals_overturned",
    "reviews",
)


@dataclass(frozen=True)
class Traffic:
    """What one variant decided, and the rates its counts are drawn with."""

    decisions: int
    takedown: float  # of decisions
    appeal: float  # of takedowns
    overturn: float  # of appeals
    review: float  # of decisions


TRAFFIC = {
    "stable": Traffic(2_376_000, takedown=0.12, appeal=0.10, overturn=0.08, review=0.005),
    "canary": Traffic(24_000, takedown=0.135, appeal=0.10, overturn=0.24, review=0.005),
}


def counts(seed: int = SEED) -> dict[str, dict[str, int]]:
    """Each variant's counters, the same for the same seed."""
    draw = _Draw(seed)
    found = {}
    for variant, traffic in TRAFFIC.items():
        takedowns = draw.binomial(traffic.decisions, traffic.takedown)
        appeals = draw.binomial(takedowns, traffic.appeal)
        found[variant] = {
            "decisions": traffic.decisions,
            "takedowns": takedowns,
            "appeals": appeals,
            "appeals_overturned": draw.binomial(appeals, traffic.overturn),
            "reviews": draw.binomial(traffic.decisions, traffic.review),
        }
    return found


def csv_text(region: str, bundle: str, start: str, end: str, seed: int = SEED) -> str:
    """The metrics file: a CSV header and one row per variant over the window `start`..`end`
    (ISO 8601 times in UTC)."""
    lines = [",".join(HEADER)]
    for variant, counters in counts(seed).items():
        values = [region, bundle, variant, start, end, *(str(counters[n]) for n in HEADER[5:])]
        lines.append(",".join(values))
    return "\n".join(lines) + "\n"


class _Draw:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._normal = NormalDist()

    def binomial(self, n: int, p: float) -> int:
        u = self._random.random() or 0.5  # inv_cdf takes (0, 1); random() may give 0.0
        z = self._normal.inv_cdf(u)
        return max(0, min(n, round(n * p + z * math.sqrt(n * p * (1 - p)))))
