"""`modctl backtest --sweep`: decide every listing of a data file at every point of a param
sweep, reading and scanning the file once (see engine.sweep)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from modctl.analytics import sweep as analysis
from modctl.backtest.data import Batch, Reader
from modctl.backtest.run import Progress, _why_one_job, gather
from modctl.engine.columnar import Columns
from modctl.engine.sweep import Axis, SweepEvaluator
from modctl.model import Bundle, Config
from modctl.source import workspace


@dataclass
class _Job:
    bundle: Bundle
    config: Config
    axes: tuple[Axis, ...]
    path: Path
    skip_bad: bool
    start: int = 0
    end: int | None = None


def run(
    root: Path,
    bundle_name: str,
    data: Path,
    specs: list[str],
    *,
    skip_bad: bool = False,
    jobs: int = 1,
    progress: Progress | None = None,
) -> tuple[analysis.SweepResult, str | None]:
    """The sweep's result, and why it ran as one job when more were asked for (or None)."""
    started = time.perf_counter()
    loaded = workspace.load(root, [bundle_name])
    bundle = loaded.bundle(bundle_name)
    axes = analysis.parse(specs, bundle)
    job = _Job(bundle, loaded.config, axes, data, skip_bad)
    reader = _reader(job)
    size = data.stat().st_size
    workers = min(jobs, os.cpu_count() or 1)
    alone = _why_one_job(reader, size, workers) if jobs > 1 else None
    if alone is None and workers > 1:
        bounds = [size * i // workers for i in range(workers + 1)]
        parts = [
            _Job(bundle, loaded.config, axes, data, skip_bad, bounds[i], bounds[i + 1])
            for i in range(workers)
        ]
        tally, skipped, first_skip, outside = gather(
            _run_part, parts, analysis.SweepTally(), progress
        )
        points = SweepEvaluator(bundle, loaded.config, axes).points
    else:
        evaluator = SweepEvaluator(bundle, loaded.config, axes)
        tally, outside = _decide(job, evaluator, reader, progress)
        skipped, first_skip, points = reader.skipped, reader.first_skip, evaluator.points
    found = analysis.result(bundle, data, axes, points, tally)
    found.seconds = time.perf_counter() - started
    found.skipped, found.first_skip, found.outside = skipped, first_skip, outside
    return found, f"ran one job, not {jobs}: {alone}" if alone else None


def _reader(job: _Job) -> Reader:
    return Reader(job.path, job.config.fields, set(job.config.regions), skip_bad=job.skip_bad)


class Decider:
    """Every point of a sweep deciding batch after batch into one tally."""

    def __init__(self, evaluator: SweepEvaluator, served: Sequence[str]) -> None:
        self.evaluator = evaluator
        self.served = np.array([evaluator.batch.regions.index(r) for r in served])
        self.tally = analysis.SweepTally()
        self.outside = 0

    def decide(self, batch: Batch) -> None:
        table, codes, labels = batch.table, batch.region_codes, batch.labels
        keep = np.isin(codes, self.served)
        if not keep.all():
            self.outside += int(np.count_nonzero(~keep))
            table, codes, labels = table.filter(pa.array(keep)), codes[keep], labels[keep]
        if not len(codes):
            return
        outcomes = self.evaluator.decide(Columns(table, codes))
        batch_evaluator = self.evaluator.batch
        self.tally.add(batch_evaluator.regions, codes, batch_evaluator.actions, outcomes, labels)


def _decide(
    job: _Job, evaluator: SweepEvaluator, reader: Reader, progress: Progress | None
) -> tuple[analysis.SweepTally, int]:
    decider = Decider(evaluator, job.bundle.regions)
    for batch in reader.batches(job.start, job.end):
        decider.decide(batch)
        if progress is not None:
            progress(decider.tally.rows + decider.outside, reader.fraction())
    return decider.tally, decider.outside


def _run_part(job: _Job) -> tuple[analysis.SweepTally, int, str | None, int]:
    reader = _reader(job)
    tally, outside = _decide(job, SweepEvaluator(job.bundle, job.config, job.axes), reader, None)
    return tally, reader.skipped, reader.first_skip, outside
