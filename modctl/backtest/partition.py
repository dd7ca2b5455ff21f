"""Deciding one partition of listings on a Spark executor: the Arrow record batches Spark's
`mapInArrow` hands a Python worker, checked row by row as the local reader checks them, decided
by the batch evaluator and counted; what goes back to the driver is one `Partial` of counts per
partition (and, for `--changes`, the changed listings). No pyspark here: the driver
(`backtest.spark`) sends these functions and a `Plan` to the executors, which need modctl
installed.

Each row carries its place in the data (`PLACE`: the file and the row in it, or for a table the
partition and the row in it), so that the driver puts examples, the first bad row and changed
listings in the order the local engine reads them.
"""

from __future__ import annotations

import heapq
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from modctl.analytics.sweep import SweepTally
from modctl.backtest import run, sweep
from modctl.backtest.impact import EXAMPLES, Change, Tally
from modctl.backtest.records import ENGINE, Checked, Place, Places, check
from modctl.engine.columnar import BatchEvaluator
from modctl.engine.sweep import Axis, SweepEvaluator
from modctl.model import Bundle, Config

PLACE = ("_file", "_row")  # the columns giving each row's place in the data
# What a partition sends back: rows of changed listings (their place, then the columns of
# --changes), then one row holding its Partial, pickled.
OUTPUT = pa.schema(
    [("partial", pa.binary()), ("file", pa.string()), ("row", pa.int64())]
    + [(name, pa.string()) for name in run.CHANGE_COLUMNS]
)
OUTPUT_DDL = "partial binary, file string, row bigint, " + ", ".join(
    f"`{name}` string" for name in run.CHANGE_COLUMNS
)


def column_name(index: int) -> str:
    """The name the driver gives the index-th column it reads (see Plan.present)."""
    return f"c{index}"


@dataclass
class Plan:
    """What the driver broadcasts once: the bundle (and the baseline, or the sweep's axes) with
    modctl.yaml, which of the engine's columns (id, region, label, then the declared fields in
    modctl.yaml's order) the source has, and whether changed listings go back. Each executor's
    Python worker compiles it once, on first use, and keeps it for every partition it decides."""

    config: Config
    bundle: Bundle
    present: list[bool]
    baseline: Bundle | None = None
    axes: tuple[Axis, ...] = ()
    changes: bool = False
    evaluators: tuple[BatchEvaluator, BatchEvaluator | None] | None = field(
        default=None, compare=False, repr=False
    )
    swept: SweepEvaluator | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "evaluators": None, "swept": None}

    def decider(self) -> run.Decider | sweep.Decider:
        """A fresh tally over the evaluators this process compiled once."""
        if self.axes:
            if self.swept is None:
                self.swept = SweepEvaluator(self.bundle, self.config, self.axes)
            return sweep.Decider(self.swept, self.bundle.regions)
        if self.evaluators is None:
            base = BatchEvaluator(self.baseline, self.config) if self.baseline else None
            self.evaluators = (BatchEvaluator(self.bundle, self.config), base)
        current, base = self.evaluators
        return run.Decider(current, base, self.bundle.regions)


@dataclass
class Partial:
    """One partition's counts; partials merge in any order into the whole run's."""

    tally: Tally | SweepTally
    outside: int = 0
    skipped: int = 0
    first_bad: tuple[Place, str] | None = None  # the first bad row: its place, what is wrong
    examples: dict[str, list[tuple[Place, Change]]] = field(default_factory=dict)

    def bad(self, place: Place, message: str) -> None:
        if self.first_bad is None or place < self.first_bad[0]:
            self.first_bad = (place, message)

    def example(self, place: Place, change: Change) -> None:
        """Keep the EXAMPLES first changes of each kind, in the order of the data."""
        kept = self.examples.setdefault(change.kind, [])
        kept.append((place, change))
        if len(kept) > 2 * EXAMPLES:
            kept[:] = heapq.nsmallest(EXAMPLES, kept, key=lambda pair: pair[0])


def decide_shipped(shipped: Any, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """`decide` with the plan a Spark broadcast variable holds (read once per worker)."""
    return decide(shipped.value, batches)


def decide(plan: Plan, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A partition's batches decided: a batch of changed listings after each batch that has
    some (when the plan asks for them), then one row holding the partition's Partial."""
    decider = plan.decider()
    partial = Partial(decider.tally)
    for record in batches:
        if not record.num_rows:
            continue
        checked = _checked(plan, record)
        if checked.bad:
            partial.skipped += checked.bad
            assert checked.first_bad is not None
            partial.bad(*checked.first_bad)
        batch, places = checked.batch, checked.places
        if batch is None:
            continue
        found = decider.decide(batch)
        if not found:
            continue
        rows = []
        for i, change, written in found:
            place = places[i]
            partial.example(place, change)
            if plan.changes:
                rows.append(
                    {"file": place[0], "row": place[1], **change.to_dict(), "label": written}
                )
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=OUTPUT)
    partial.tally, partial.outside = decider.tally, decider.outside
    for kept in partial.examples.values():
        kept[:] = heapq.nsmallest(EXAMPLES, kept, key=lambda pair: pair[0])
    yield pa.RecordBatch.from_pylist(
        [{"partial": pickle.dumps(partial, protocol=pickle.HIGHEST_PROTOCOL)}], schema=OUTPUT
    )


def _checked(plan: Plan, record: pa.RecordBatch) -> Checked:
    """A batch of the partition checked (`records.check`): its columns are those the driver
    selected (`column_name`), and each row's place."""
    fields = plan.config.fields
    given: dict[str, pa.Array] = {}
    for index, (path, present) in enumerate(zip([*ENGINE, *fields], plan.present, strict=True)):
        if present:
            given[path] = record.column(column_name(index))
    places = Places(record.column(PLACE[0]), record.column(PLACE[1]).to_numpy())
    return check(given, places, fields, sorted(plan.config.regions))
