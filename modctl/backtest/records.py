"""Record batches of listings checked as the local reader checks rows, a column at a time: the
rows of a Parquet file (`data.Reader`) and of a Spark partition (`partition.decide`) become the
batches the evaluator decides, and a bad row is named in the words of `data.check_listing`.

Each row has its place in the data (the file and the row in it, from 0), so that the first bad
row of a batch is named as the reader names it, wherever the batch was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modctl.backtest.data import Batch, check_listing, label_codes
from modctl.engine.columnar import arrow_schema, arrow_type

ENGINE = ("id", "region", "label")  # the columns the engine reads besides the declared fields
Place = tuple[str, int]


class Places:
    """Each row's place in the data, looked up only for the rows that need one."""

    def __init__(self, files: pa.Array, rows: Any) -> None:
        self.files, self.rows = files, rows

    def __getitem__(self, i: int) -> Place:
        return (str(self.files[i].as_py()), int(self.rows[i]))

    def __len__(self) -> int:
        return len(self.rows)

    def without(self, bad: Any) -> Places:
        return Places(self.files.filter(pa.array(~bad)), self.rows[~bad])


@dataclass
class Checked:
    """A batch's good rows as the batch evaluator takes them (None when none is good) and the
    place of each; how many rows were bad, and the first of them with what is wrong."""

    batch: Batch | None
    places: Places
    bad: int = 0
    first_bad: tuple[Place, str] | None = None


def check(
    given: dict[str, pa.Array], places: Places, fields: dict[str, str], regions: list[str]
) -> Checked:
    """The rows of these columns (`given`: by the name the engine reads, id, region, label or a
    declared field; a column the data lacks is absent) checked and typed."""
    found = Checked(None, places)
    not_utf8 = _not_utf8(given, len(places))
    if not_utf8 is not None:
        first = int(np.flatnonzero(not_utf8)[0])
        found.bad = int(not_utf8.sum())
        found.first_bad = (places[first], _utf8_problem(given, first))
        given = {path: array.filter(pa.array(~not_utf8)) for path, array in given.items()}
        places = places.without(not_utf8)
    typed = {path: _typed(path, array, fields) for path, array in given.items()}
    labels, unknown = label_codes(typed.get("label", pa.nulls(len(places), pa.string())))
    bad = unknown | _bad(typed, fields, regions)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        found.bad += int(bad.sum())
        if found.first_bad is None or places[first] < found.first_bad[0]:
            found.first_bad = (places[first], _problem(given, first, fields, regions))
        typed = {path: array.filter(pa.array(~bad)) for path, array in typed.items()}
        places, labels = places.without(bad), labels[~bad]
    found.places = places
    if not len(places):
        return found
    table = _table(typed, fields, len(places))
    codes = pc.fill_null(pc.index_in(table.column("region"), pa.array(regions)), -1)
    found.batch = Batch(table, codes.to_numpy(zero_copy_only=False).astype(np.int64), labels)
    return found


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
