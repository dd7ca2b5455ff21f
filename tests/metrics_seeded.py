"""Seeded per-rule metrics for the report tests: every rule of a bundle overturned on appeal at
a base rate, one rule (or none) at a much higher one, over a few releases and days."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

HEADER = "region,bundle,variant,window_start,window_end,release,rule,decisions,takedowns,appeals,appeals_overturned,reviews"
START = datetime(2026, 10, 1)


def write_per_rule(
    path: Path,
    bundle: str,
    rules: Sequence[str],
    *,
    regions: Sequence[str] = ("SG", "MY"),
    releases: Sequence[str] = ("1.0.0", "1.1.0", "1.2.0"),
    high: str | None = None,
    high_rate: float = 0.2,
    base_rate: float = 0.05,
    days: int = 6,
    seed: int = 7,
) -> Path:
    """A CSV of per-rule rows: a day per window, the releases in turn over the days; `high`
    is overturned at `high_rate` in the last release (and base_rate before it), the others at
    about `base_rate`."""
    rng = random.Random(seed)
    lines = [HEADER]
    for day in range(days):
        release = releases[day * len(releases) // days]
        start = START + timedelta(days=day)
        end = start + timedelta(days=1)
        for region in regions:
            for rule in rules:
                decisions = rng.randint(800, 1200)
                appeals = decisions // 10
                rate = high_rate if rule == high and release == releases[-1] else base_rate
                rate = rate * rng.uniform(0.8, 1.2)
                overturned = sum(rng.random() < rate for _ in range(appeals))
                lines.append(
                    f"{region},{bundle},stable,{start:%Y-%m-%dT%H:%M:%SZ},"
                    f"{end:%Y-%m-%dT%H:%M:%SZ},{release},{rule},{decisions},{decisions // 2},"
                    f"{appeals},{overturned},0"
                )
    path.write_text("\n".join(lines) + "\n")
    return path
