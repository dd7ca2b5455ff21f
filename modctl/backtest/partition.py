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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modctl.analytics.sweep import SweepTally
from modctl.backtest import run, sweep
from modctl.backtest.data import Batch, check_listing, label_codes
from modctl.backtest.impact import EXAMPLES, Change, Tally
from modctl.engine.columnar import BatchEvaluator, arrow_schema, arrow_type
from modctl.engine.sweep import Axis, SweepEvaluator
from modctl.model import Bundle, Config

ENGINE = ("id", "region", "label")  # the columns the engine reads besides the declared fields
PLACE = ("_file", "_row")  # the columns giving each row's place in the data
Place = tuple[str, int]
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
        batch, places = _listings(plan, record, partial)
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


class _Places:
    """Each row's place in the data, looked up only for the rows that need one."""

    def __init__(self, files: pa.Array, rows: Any) -> None:
        self.files, self.rows = files, rows

    def __getitem__(self, i: int) -> Place:
        return (str(self.files[i].as_py()), int(self.rows[i]))

    def __len__(self) -> int:
        return len(self.rows)

    def without(self, bad: Any) -> _Places:
        return _Places(self.files.filter(pa.array(~bad)), self.rows[~bad])


def _listings(plan: Plan, record: pa.RecordBatch, partial: Partial) -> tuple[Batch | None, _Places]:
    """The batch's good rows as the batch evaluator takes them, and the place of each; the bad
    ones counted in the partial, the first of them with what is wrong."""
    fields = plan.config.fields
    regions = sorted(plan.config.regions)
    given: dict[str, pa.Array] = {}
    for index, (path, present) in enumerate(zip([*ENGINE, *fields], plan.present, strict=True)):
        if present:
            given[path] = record.column(column_name(index))
    places = _Places(record.column(PLACE[0]), record.column(PLACE[1]).to_numpy())
    not_utf8 = _not_utf8(given, len(places))
    if not_utf8 is not None:
        for i in np.flatnonzero(not_utf8).tolist():
            partial.skipped += 1
            partial.bad(places[i], _utf8_problem(given, i))
        given = {path: array.filter(pa.array(~not_utf8)) for path, array in given.items()}
        places = places.without(not_utf8)
    typed = {path: _typed(path, array, fields) for path, array in given.items()}
    labels, unknown = label_codes(typed.get("label", pa.nulls(len(places), pa.string())))
    bad = unknown | _bad(typed, fields, regions)
    if bad.any():
        for i in np.flatnonzero(bad).tolist():
            partial.skipped += 1
            place = places[i]
            if partial.first_bad is None or place < partial.first_bad[0]:
                partial.bad(place, _problem(given, i, fields, regions))
        typed = {path: array.filter(pa.array(~bad)) for path, array in typed.items()}
        places, labels = places.without(bad), labels[~bad]
    if not len(places):
        return None, places
    table = _table(typed, fields, len(places))
    codes = pc.fill_null(pc.index_in(table.column("region"), pa.array(regions)), -1)
    batch = Batch(table, codes.to_numpy(zero_copy_only=False).astype(np.int64), labels)
    return batch, places


def _typed(path: str, array: pa.Array, fields: dict[str, str]) -> pa.Array:
    """A column as the batch evaluator takes it: ids and labels as text (a whole number or a
    boolean as the data wrote it), every field as modctl.yaml declares it."""
    target = pa.string() if path in ENGINE else arrow_type(fields[path])
    if array.type == target:
        return array
    # Whole numbers of a number field become doubles as Python's float() makes them.
    return array.cast(target, safe=False)


def _bad(typed: dict[str, pa.Array], fields: dict[str, str], regions: list[str]) -> Any:
    """Where a row breaks a rule of the local reader's check (data.check_listing)."""
    bad = _missing(typed["id"])
    known = pc.fill_null(pc.is_in(typed["region"], value_set=pa.array(regions)), False)
    bad |= ~known.to_numpy(zero_copy_only=False)
    for path, field_type in fields.items():
        array = typed.get(path)
        if array is None:
            continue
        if field_type == "number":
            infinite = pc.or_(pc.is_nan(array), pc.is_inf(array))
            bad |= pc.fill_null(infinite, False).to_numpy(zero_copy_only=False)
        elif field_type == "string_list":
            holes = pc.is_null(pc.list_flatten(array)).to_numpy(zero_copy_only=False)
            parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
            bad[parents[holes]] = True
    return bad


def _missing(array: pa.Array) -> Any:
    empty = pc.fill_null(pc.equal(array, ""), True)
    return empty.to_numpy(zero_copy_only=False)


def _problem(given: dict[str, pa.Array], i: int, fields: dict[str, str], regions: list[str]) -> str:
    """What is wrong with row i, in the words of the local reader (data.check_listing), read
    from the values as the data holds them."""
    item: dict[str, Any] = {}
    for path, array in given.items():
        value = array[i].as_py()
        if value is None:
            continue
        *parents, last = path.split(".")
        target = item
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    numbers = [path for path, field_type in fields.items() if field_type == "number"]
    try:
        check_listing(item, fields, regions, numbers)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"row {i} was found bad, but passes the listing check")


def _not_utf8(given: dict[str, pa.Array], n: int) -> Any:
    """Where a row holds text that is not UTF-8 (Spark passes such bytes on as they are), or
    None when every row is text."""
    found = None
    for array in given.values():
        if not _is_text(array):
            continue
        try:
            (pc.list_flatten(array) if pa.types.is_list(array.type) else array).validate(full=True)
        except pa.ArrowInvalid:
            found = _rows_not_utf8(array) if found is None else found | _rows_not_utf8(array)
    return found


def _rows_not_utf8(array: pa.Array) -> Any:
    return np.array([_utf8_reason(array, i) is not None for i in range(len(array))], dtype=bool)


def _utf8_reason(array: pa.Array, i: int) -> str | None:
    """Why row i of a text column (or a list of texts) is not UTF-8, or None."""
    strings = array.slice(i, 1)
    if pa.types.is_list(strings.type):
        strings = pc.list_flatten(strings)
    for raw in strings.view(pa.binary()).to_pylist():
        if raw is None:
            continue
        try:
            raw.decode()
        except UnicodeDecodeError as exc:
            return str(exc.reason)
    return None


def _utf8_problem(given: dict[str, pa.Array], i: int) -> str:
    for array in given.values():
        reason = _utf8_reason(array, i) if _is_text(array) else None
        if reason is not None:
            return f"not UTF-8 text ({reason})"
    raise AssertionError(f"row {i} was found not UTF-8, but every value decodes")


def _is_text(array: pa.Array) -> bool:
    kind = array.type.value_type if pa.types.is_list(array.type) else array.type
    return bool(pa.types.is_string(kind))


def _table(typed: dict[str, pa.Array], fields: dict[str, str], n: int) -> pa.Table:
    """The columns nested as the batch evaluator reads them (engine.columnar.arrow_schema)."""
    schema = arrow_schema(fields)

    def build(node: pa.Field, path: str) -> pa.Array:
        if pa.types.is_struct(node.type):
            children = [
                build(node.type.field(k), f"{path}.{node.type.field(k).name}")
                for k in range(node.type.num_fields)
            ]
            return pa.StructArray.from_arrays(children, fields=list(node.type))
        found = typed.get(path)
        return pa.nulls(n, node.type) if found is None else found

    return pa.Table.from_arrays([build(f, f.name) for f in schema], schema=schema)
