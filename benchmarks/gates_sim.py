"""How often the canary judge is wrong when `advance` looks again and again, by simulation.

    python benchmarks/gates_sim.py [--canaries 10000] [--looks 24] [--seed 7]

Each simulated canary is looked at `--looks` times; at each look both variants have served more
appeals (500 in the canary, 9x that in stable) and the judge sees the running totals. The gate is
the reference `overturn-rate`: overturned appeals / appeals, worse when higher, at most 10% worse
(relative), 95% confidence, at least 200 appeals. Printed beside modctl's judge, in the same run,
the naive rule it replaces: a fresh one-sided two-proportion z test at 95% at every look.

- A/A: canary and stable both overturn 8% of appeals. A false fail is a canary failed at any look.
- Worse: the canary overturns 10% (25% worse). Caught when failed at any look; the median look of
  the failure; a false pass is a worse canary passed at any look.
- Little data: 10 appeals per look in the canary (above min_denominator after 20 looks, far too
  few to show anything): it must never pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modctl.gates.judge import FAIL, PASS, Counts, Gate, judge

GATE = Gate(
    "overturn-rate",
    "appeals_overturned",
    "appeals",
    worse="higher",
    max_relative_increase=0.10,
    min_denominator=200,
    confidence=0.95,
)


def run(
    rng: np.random.Generator, canaries: int, looks: int, canary_rate: float, per_look: int
) -> dict[str, object]:
    """Fail and pass rates of the judge and of the naive z test over `canaries` canaries."""
    stable_per_look = 9 * per_look
    canary_hits = rng.binomial(per_look, canary_rate, size=(canaries, looks)).cumsum(axis=1)
    stable_hits = rng.binomial(stable_per_look, 0.08, size=(canaries, looks)).cumsum(axis=1)
    failed_at: list[int] = []
    passed_at: list[int] = []
    naive_failed = 0
    for i in range(canaries):
        failed = passed = None
        naive = False
        for look in range(looks):
            n_c, n_s = per_look * (look + 1), stable_per_look * (look + 1)
            c, s = int(canary_hits[i, look]), int(stable_hits[i, look])
            verdict = judge(GATE, Counts(c, n_c, s, n_s)).verdict
            if verdict == FAIL and failed is None:
                failed = look + 1
            if verdict == PASS and passed is None:
                passed = look + 1
            pooled = (c + s) / (n_c + n_s)
            se = (pooled * (1 - pooled) * (1 / n_c + 1 / n_s)) ** 0.5
            if se and (c / n_c - s / n_s) / se > 1.6448536269514722:
                naive = True
        if failed is not None:
            failed_at.append(failed)
        if passed is not None:
            passed_at.append(passed)
        naive_failed += naive
    return {
        "fail": len(failed_at) / canaries,
        "pass": len(passed_at) / canaries,
        "median_fail_look": statistics.median(failed_at) if failed_at else None,
        "median_pass_look": statistics.median(passed_at) if passed_at else None,
        "naive_fail": naive_failed / canaries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canaries", type=int, default=10_000)
    parser.add_argument("--looks", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    aa = run(rng, args.canaries, args.looks, 0.08, 500)
    worse = run(rng, args.canaries, args.looks, 0.10, 500)
    little = run(rng, args.canaries, args.looks, 0.08, 10)
    print(f"{args.canaries:,} canaries per case, {args.looks} looks, seed {args.seed}")
    print(f"{'measure':52} {'modctl':>8} {'naive z':>8}  goal")
    print(
        f"{'A/A canaries failed at some look':52} {aa['fail']:8.2%} {aa['naive_fail']:8.2%}  <= 5%"
    )
    print(f"{'A/A canaries passed by the last look':52} {aa['pass']:8.2%} {'':>8}")
    print(f"{'  median look of the pass':52} {aa['median_pass_look']!s:>8}")
    print(
        f"{'worse canaries (8% -> 10%) failed':52} {worse['fail']:8.2%} {worse['naive_fail']:8.2%}  >= 95%"
    )
    print(f"{'  median look of the failure':52} {worse['median_fail_look']!s:>8} {'':>8}  <= 6")
    print(f"{'worse canaries ever passed':52} {worse['pass']:8.2%} {'':>8}  <= 1%")
    print(f"{'canaries with too little data ever passed':52} {little['pass']:8.2%} {'':>8}  0")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
