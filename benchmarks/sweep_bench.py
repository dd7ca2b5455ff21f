"""Time `modctl backtest --sweep` of 10 values against one plain backtest of the same listings.

    python benchmarks/sweep_bench.py [--rows 1000000]

Generates labelled listings with `modctl.backtest.sample` (seed 3, kept under benchmarks/.work/
and reused, the same file as backtest_bench.py), copies the reference strategy repository, and
prints, each beside one plain `modctl backtest` of the same bundle measured in the same run (the
best of two runs each, wall clock of the whole command, one job):
  - a sweep of lux-unauthorized-cheap.max_price_ratio over 10 values (a lookup threshold);
  - a sweep of counterfeit-image-match.max_hamming over 10 values (a hash distance);
  - a grid of both, 5 x 4 = 20 points.
Ten separate backtests would take about 10x; the goal is well under that.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
PROJECT = HERE.parent
BUNDLE = "ipr-counterfeit"
SWEEPS = {
    "10 values of max_price_ratio": ["lux-unauthorized-cheap.max_price_ratio=0.1:0.55:0.05"],
    "10 values of max_hamming": ["counterfeit-image-match.max_hamming=2:11:1"],
    "grid of 5 x 4 values": [
        "lux-unauthorized-cheap.max_price_ratio=0.1:0.5:0.1",
        "counterfeit-image-match.max_hamming=4:10:2",
    ],
}


def timed(root: Path, data: Path, sweeps: list[str]) -> tuple[float, dict[str, object]]:
    """The best wall-clock time of two runs, and the last run's JSON report."""
    modctl = shutil.which("modctl") or sys.exit("modctl is not installed")
    command = [modctl, "--repo", str(root), "backtest", BUNDLE, "--data", str(data), "-o", "json"]
    for spec in sweeps:
        command += ["--sweep", spec]
    best, report = float("inf"), {}
    for _ in range(2):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(done.stderr)
        report = json.loads(done.stdout)
    return best, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from modctl.backtest import sample

    WORK.mkdir(exist_ok=True)
    data = WORK / f"listings-{args.rows}.jsonl"
    if not data.exists():
        sample.write(data, args.rows, seed=3)
    root = WORK / "repo-reference"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    shutil.copy2(PROJECT / "modctl.yaml", root / "modctl.yaml")
    shutil.copytree(PROJECT / "strategies", root / "strategies")
    plain, report = timed(root, data, [])
    rows = report["rows"]
    print(f"{BUNDLE} on {rows:,} listings ({data.stat().st_size / 1e6:.0f} MB), one job")
    print(f"{'measure':44}  {'seconds':>8}  {'points':>6}  {'vs backtest':>11}  goal")
    print(f"{'plain backtest':44}  {plain:8.2f}  {1:6}  {1:10.2f}x")
    for name, specs in SWEEPS.items():
        seconds, swept = timed(root, data, specs)
        points = len(swept["points"])  # type: ignore[arg-type]
        print(
            f"{'sweep, ' + name:44}  {seconds:8.2f}  {points:6}  {seconds / plain:10.2f}x"
            f"  well under {points}x"
        )


if __name__ == "__main__":
    main()
