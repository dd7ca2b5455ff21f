"""`modctl backtest`: decide every listing of a data file, count, and compare with a baseline."""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

import numpy as np
import pyarrow as pa

from modctl.backtest.data import Batch, DataError, Reader
from modctl.backtest.impact import Change, Tally
from modctl.engine.columnar import BatchEvaluator, Columns, Outcome
from modctl.model import Bundle, Config
from modctl.source import workspace

Progress = Callable[[int, float | None], None]  # listings so far, share of the file read
CHANGE_COLUMNS = ["id", "region", "kind", "before", "before_rule", "after", "after_rule", "label"]
PARALLEL_MIN_BYTES = 8 * 1024 * 1024


@dataclass
class Result:
    bundle: str
    data: Path | str  # a file, or on Spark a URI or a table
    tally: Tally
    rules: list[str]
    baseline: str | None = None
    skipped: int = 0
    first_skip: str | None = None
    outside: int = 0
    seconds: float = 0.0
    jobs: int = 1  # worker processes, or on Spark the partitions decided
    one_job: str | None = None  # why a run asked for more jobs ran one
    engine: str = "local"
    master: str | None = None  # Spark's

    def to_dict(self) -> dict[str, Any]:
        report = {
            "bundle": self.bundle,
            "data": str(self.data),
            "baseline": self.baseline,
            "skipped_rows": self.skipped,
            "rows_outside_bundle_regions": self.outside,
            "seconds": round(self.seconds, 3),
            "jobs": self.jobs,
            "engine": self.engine,
            "master": self.master,
        }
        report.update(self.tally.to_dict(rules=self.rules, baseline=self.baseline is not None))
        return report


@dataclass
class _Job:
    bundle: Bundle
    baseline: Bundle | None
    config: Config
    path: Path
    skip_bad: bool
    changes: Path | None = None
    start: int = 0
    end: int | None = None


def run(
    root: Path,
    bundle_name: str,
    data: Path,
    *,
    baseline: str | None = None,
    changes: Path | None = None,
    skip_bad: bool = False,
    jobs: int = 1,
    progress: Progress | None = None,
) -> Result:
    started = time.perf_counter()
    config, bundle, base = bundles(root, bundle_name, baseline)
    job = _Job(bundle, base, config, data, skip_bad)
    reader = _reader(job)
    size = data.stat().st_size
    workers = min(jobs, os.cpu_count() or 1)
    alone = _why_one_job(reader, size, workers) if jobs > 1 else None
    if alone is None and workers > 1:
        tally, skipped, first_skip, outside = _parallel(job, size, workers, changes, progress)
    else:
        workers = 1
        tally, outside = _sequential(job, reader, changes, progress)
        skipped, first_skip = reader.skipped, reader.first_skip
    return Result(
        bundle_name,
        data,
        tally,
        [r.id for r in bundle.rules],
        baseline,
        skipped,
        first_skip,
        outside,
        time.perf_counter() - started,
        workers,
        f"ran one job, not {jobs}: {alone}" if alone else None,
    )


def bundles(
    root: Path, bundle_name: str, baseline: str | None
) -> tuple[Config, Bundle, Bundle | None]:
    """modctl.yaml, the bundle in the working tree, and the bundle at the baseline revision."""
    current = workspace.load(root, [bundle_name])
    bundle = current.bundle(bundle_name)
    base = (
        workspace.load(root, [bundle_name], rev=baseline).bundle(bundle_name) if baseline else None
    )
    return current.config, bundle, base


def _why_one_job(reader: Reader, size: int, workers: int) -> str | None:
    """Why a file is decided by one process although more were asked for, or None."""
    if reader.format == "csv":
        return f"--jobs splits JSON lines and Parquet files, not CSV ({reader.path.name})"
    if reader.format == "parquet" and reader.row_groups() < 2:
        return f"{reader.path.name} holds one row group, which --jobs cannot split"
    if size < PARALLEL_MIN_BYTES:
        return (
            f"{reader.path.name} holds {size:,} bytes, too few to split (--jobs splits files "
            f"of {PARALLEL_MIN_BYTES >> 20} MiB or more)"
        )
    if workers == 1:
        return "this machine has one CPU"
    return None


class Decider:
    """A bundle, and its baseline, deciding batch after batch into one tally."""

    def __init__(
        self, current: BatchEvaluator, base: BatchEvaluator | None, served: Sequence[str]
    ) -> None:
        self.current, self.base = current, base
        self.served = np.array([current.regions.index(r) for r in served])
        self.tally = Tally()
        self.outside = 0

    def decide(self, batch: Batch) -> list[tuple[int, Change, Any]]:
        """Count a batch; with a baseline, every listing whose action the change alters: its
        row in the batch, the change, and its label as the data wrote it."""
        table, codes, labels = batch.table, batch.region_codes, batch.labels
        rows = None
        keep = np.isin(codes, self.served)
        if not keep.all():
            self.outside += int(np.count_nonzero(~keep))
            rows = np.flatnonzero(keep)
            table, codes, labels = table.filter(pa.array(keep)), codes[keep], labels[keep]
        if not len(codes):
            return []
        columns = Columns(table, codes)
        current = self.current
        after = current.decide(columns)
        self.tally.add(current.regions, codes, current.actions, current.rule_ids, after, labels)
        if self.base is None:
            return []
        before = self.base.decide(columns)
        self.tally.compare(self.base.actions, before, labels)
        changed = _changes(self.tally, table, codes, labels, (self.base, before), (current, after))
        if rows is None:
            return changed
        return [(int(rows[i]), change, written) for i, change, written in changed]


def _decide(job: _Job, reader: Reader, writer: Any, progress: Progress | None) -> tuple[Tally, int]:
    """Decide every listing the reader gives, batch by batch, with the bundle and the baseline."""
    base = BatchEvaluator(job.baseline, job.config) if job.baseline else None
    decider = Decider(BatchEvaluator(job.bundle, job.config), base, job.bundle.regions)
    for batch in reader.batches(job.start, job.end):
        for _, change, written in decider.decide(batch):
            if writer is not None:
                row = {**change.to_dict(), "label": written}  # the label as the data file wrote it
                writer.writerow([row[c] for c in CHANGE_COLUMNS])
        if progress is not None:
            progress(decider.tally.rows + decider.outside, None)
    return decider.tally, decider.outside


def _changes(
    tally: Tally,
    table: Any,
    codes: Any,
    labels: Any,
    before: tuple[BatchEvaluator, Outcome],
    after: tuple[BatchEvaluator, Outcome],
) -> list[tuple[int, Change, Any]]:
    """Count and keep examples of every listing whose action the change alters."""
    (base, old), (current, new) = before, after
    old_actions = np.array(base.actions, dtype=object)[old.action]
    new_actions = np.array(current.actions, dtype=object)[new.action]
    changed = np.flatnonzero(old_actions != new_actions)
    ids = table.column("id").take(pa.array(changed)).to_pylist()
    given = table.column("label").take(pa.array(changed)).to_pylist()
    found = []
    for i, item_id, written in zip(changed.tolist(), ids, given, strict=True):
        label = None if labels[i] < 0 else bool(labels[i])
        change = Change(
            item_id,
            current.regions[codes[i]],
            old_actions[i],
            base.rule_ids[old.rule[i]] if old.rule[i] >= 0 else None,
            new_actions[i],
            current.rule_ids[new.rule[i]] if new.rule[i] >= 0 else None,
            label,
        )
        tally.change(change)
        found.append((i, change, written))
    return found


def _sequential(
    job: _Job, reader: Reader, changes: Path | None, progress: Progress | None
) -> tuple[Tally, int]:
    def report(rows: int, _: float | None) -> None:
        assert progress is not None
        progress(rows, reader.fraction())

    with _ChangesWriter(changes) as writer:
        return _decide(job, reader, writer, report if progress else None)


class _ChangesWriter:
    def __init__(self, path: Path | None, *, header: bool = True) -> None:
        self.path, self.header = path, header
        self.handle: IO[str] | None = None

    def __enter__(self) -> Any:
        if self.path is None:
            return None
        try:
            self.handle = self.path.open("w", newline="", encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        writer = csv.writer(self.handle)
        if self.header:
            writer.writerow(CHANGE_COLUMNS)
        return writer

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


def _parallel(
    job: _Job, size: int, workers: int, changes: Path | None, progress: Progress | None
) -> tuple[Tally, int, str | None, int]:
    bounds = [size * i // workers for i in range(workers + 1)]
    parts = [
        _Job(
            job.bundle,
            job.baseline,
            job.config,
            job.path,
            job.skip_bad,
            changes.with_name(f".{changes.name}.part{i}") if changes else None,
            bounds[i],
            bounds[i + 1],
        )
        for i in range(workers)
    ]
    tally, skipped, first_skip, outside = gather(_run_part, parts, Tally(), progress)
    if changes is not None:
        with changes.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerow(CHANGE_COLUMNS)
            for part in parts:
                assert part.changes is not None
                with part.changes.open(encoding="utf-8") as piece:
                    out.writelines(piece)
                part.changes.unlink()
    return tally, skipped, first_skip, outside


class Merging(Protocol):
    """A tally that parts of a run merge into."""

    rows: int

    def merge(self, other: Any) -> None: ...


T = TypeVar("T", bound=Merging)
P = TypeVar("P")


def gather(
    run_part: Callable[[P], tuple[T, int, str | None, int]],
    parts: list[P],
    tally: T,
    progress: Progress | None,
) -> tuple[T, int, str | None, int]:
    """Run the parts of a data file in worker processes, one each, and merge what they found
    into `tally`: with the rows skipped, the first skipped and the rows outside the bundle's
    regions."""
    skipped, first_skip, outside = 0, None, 0
    with ProcessPoolExecutor(max_workers=len(parts)) as pool:
        for done, (part, part_skipped, part_first, part_outside) in enumerate(
            pool.map(run_part, parts), 1
        ):
            tally.merge(part)
            skipped += part_skipped
            first_skip = first_skip or part_first
            outside += part_outside
            if progress is not None:
                progress(tally.rows, done / len(parts))
    return tally, skipped, first_skip, outside


def _reader(job: _Job) -> Reader:
    return Reader(job.path, job.config.fields, set(job.config.regions), skip_bad=job.skip_bad)


def _run_part(job: _Job) -> tuple[Tally, int, str | None, int]:
    reader = _reader(job)
    with _ChangesWriter(job.changes, header=False) as writer:
        tally, outside = _decide(job, reader, writer, None)
    return tally, reader.skipped, reader.first_skip, outside
