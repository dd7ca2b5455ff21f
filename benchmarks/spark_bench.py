"""Time `modctl backtest --engine spark --master local[2]` against `modctl backtest --jobs 2` on
the same listings.

    python benchmarks/spark_bench.py [--rows 5000000]

Generates labelled listings with `modctl.backtest.sample` (seed 5) once, as JSON lines and as
Parquet (in row groups of 100,000), kept under benchmarks/.work/ and reused, copies the reference
strategy repository, and prints for the reference bundle ipr-counterfeit:
  - `modctl backtest --jobs 2` on the JSON lines and on the Parquet file, whole commands (wall
    clock);
  - `modctl backtest --engine spark --master local[2]` on the Parquet file, the whole command:
    the JVM and the session start, the first job warms it up, then the listings are decided;
  - the same Spark backtest run twice in one process whose session is up: the second run is
    what deciding costs once Spark runs (as on a cluster that is up), the per-batch overhead.
Each figure is one run, each beside both `--jobs 2` runs as ratios; every report must agree on
every count. The goal: Spark local[2] within 2x of --jobs 2.
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
CHUNK = 100_000
COUNTS = ("rows", "decisions", "rules", "labels", "rows_outside_bundle_regions")
WARM = """\
import json, sys, time
from pathlib import Path
from modctl.backtest import session, spark
cluster = session.Cluster("local[2]")
seconds = []
with session.session(cluster):
    for _ in range(2):
        start = time.perf_counter()
        spark.run(Path(sys.argv[1]), "ipr-counterfeit", spark.Source(sys.argv[2]), cluster)
        seconds.append(time.perf_counter() - start)
print(json.dumps(seconds))
"""


def generate(jsonl: Path, parquet: Path, rows: int) -> None:
    """The same listings as JSON lines and as Parquet (typed as modctl.yaml declares)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from modctl.backtest import sample
    from modctl.engine.columnar import arrow_schema
    from modctl.source.workspace import load

    schema = arrow_schema(load(PROJECT).config.fields)
    chunk: list[dict[str, object]] = []
    with (
        jsonl.open("w", encoding="utf-8") as lines,
        pq.ParquetWriter(parquet, schema) as table,
    ):
        for row in sample.listings(rows, seed=5):
            lines.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            chunk.append(row)
            if len(chunk) == CHUNK:
                table.write_table(pa.Table.from_pylist(chunk, schema=schema))
                chunk = []
        if chunk:
            table.write_table(pa.Table.from_pylist(chunk, schema=schema))


def timed(root: Path, *args: str) -> tuple[float, dict[str, object]]:
    """The wall-clock time of one whole command, and its JSON report."""
    modctl = shutil.which("modctl") or sys.exit("modctl is not installed")
    command = [modctl, "--repo", str(root), "backtest", BUNDLE, *args, "-o", "json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(done.stderr)
    found: dict[str, object] = json.loads(done.stdout)
    return seconds, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    jsonl = WORK / f"spark-listings-{args.rows}.jsonl"
    parquet = jsonl.with_suffix(".parquet")
    if not (jsonl.exists() and parquet.exists()):
        generate(jsonl, parquet, args.rows)
    root = WORK / "repo-reference"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    shutil.copy2(PROJECT / "modctl.yaml", root / "modctl.yaml")
    shutil.copytree(PROJECT / "strategies", root / "strategies")

    local, here = timed(root, "--data", str(jsonl), "--jobs", "2")
    columns, read = timed(root, "--data", str(parquet), "--jobs", "2")
    whole, there = timed(root, "--data", str(parquet), "--engine", "spark", "--master", "local[2]")
    for key in COUNTS:
        if not here[key] == read[key] == there[key]:
            sys.exit(f"the runs disagree on {key}")
    if read["jobs"] != 2:
        sys.exit(f"--jobs 2 on Parquet ran {read['jobs']} job(s)")
    done = subprocess.run(
        [sys.executable, "-c", WARM, str(root), str(parquet)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(done.stderr)
    first, warm = json.loads(done.stdout.splitlines()[-1])
    rows = int(here["rows"]) + int(here["rows_outside_bundle_regions"])  # type: ignore[call-overload]
    print(
        f"{BUNDLE} on {rows:,} listings: {jsonl.stat().st_size / 1e6:,.0f} MB of JSON lines, "
        f"{parquet.stat().st_size / 1e6:,.0f} MB of Parquet; the reports agree"
    )
    print(f"{'':58}  {'':8}  {'':10}  {'vs --jobs 2 on':>26}")
    print(
        f"{'measure':58}  {'seconds':>8}  {'listings/s':>10}  {'JSON lines':>12}  {'Parquet':>12}"
    )
    for name, seconds in (
        ("backtest --jobs 2, JSON lines, whole command", local),
        ("backtest --jobs 2, Parquet, whole command", columns),
        ("backtest --engine spark --master local[2], whole command", whole),
        ("  the same, first run in a process whose session is up", first),
        ("  the same, second run (session up and warm)", warm),
    ):
        print(
            f"{name:58}  {seconds:8.2f}  {rows / seconds:10,.0f}  {seconds / local:11.2f}x  "
            f"{seconds / columns:11.2f}x"
        )


if __name__ == "__main__":
    main()
