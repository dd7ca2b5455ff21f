"""Reading labelled listings for backtests: JSON lines, CSV or Parquet, a batch at a time.

Every row needs `id` and `region`; `label` is optional. Rows are dicts shaped like the items rules
read (dotted CSV columns such as `seller.id` nest). A bad row raises DataError with its line
number, or is counted and skipped with `skip_bad`. Reading is bounded: a line (a CSV record) over
MAX_LINE_BYTES is a bad row and is skipped without being held in memory, and a Parquet row group
over MAX_ROW_GROUP_BYTES uncompressed is refused before it is read.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq

from modctl import printable
from modctl.engine.columnar import arrow_schema
from modctl.engine.fields import (
    LISTING_LIMIT,
    MAX_LISTING_BYTES,
    encodable,
    shown_value,
    type_problem,
)
from modctl.errors import UsageError

REQUIRED = ("id", "region")
BATCH_BYTES = 4 << 20  # of JSON lines per batch
BATCH_ROWS = 50_000  # of CSV or Parquet rows per batch
MAX_LINE_BYTES = MAX_LISTING_BYTES  # a JSON line, a CSV record (as docs/reference.md says)
MAX_ROW_GROUP_BYTES = 1 << 30  # one Parquet row group, uncompressed
Accepted = tuple[dict[str, Any], int]  # a checked listing, its label (1, 0, -1 for none)
POSITIVE = {"infringing", "true", "1", "yes", "positive"}
NEGATIVE = {"clean", "false", "0", "no", "negative"}


class DataError(UsageError):
    """A data file that cannot be read as listings."""


@dataclass
class Batch:
    """Listings ready for the batch evaluator: an Arrow table (id, region, declared fields, and
    the label as the file wrote it), each row's region as an index into the sorted regions, and
    labels (1 infringing, 0 clean, -1 unlabelled)."""

    table: Any
    region_codes: Any
    labels: Any


def label_of(item: dict[str, Any]) -> bool | None:
    """True for an infringing listing, False for a clean one, None when unlabelled."""
    value = item.get("label")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in POSITIVE:
        return True
    if text in NEGATIVE:
        return False
    raise ValueError(f"label {shown_value(value)} is neither infringing/true/1 nor clean/false/0")


def check_listing(
    item: Any, fields: dict[str, str], regions: list[str], numbers: list[str]
) -> bool | None:
    """A listing's label (see label_of), once it is checked against the declared fields and
    regions (`numbers`: the paths of the fields declared `number`); ValueError saying what is
    wrong. Whole numbers of number fields become floats, ids and labels text, as Arrow holds
    them."""
    if not isinstance(item, dict):
        raise ValueError(f"a listing must be an object, not {type(item).__name__}")
    for key in REQUIRED:
        if key not in item or item[key] in (None, ""):
            raise ValueError(f"missing {key!r}")
    if item["region"] not in regions:
        raise ValueError(
            f"unknown region {shown_value(item['region'])} (modctl.yaml declares {', '.join(regions)})"
        )
    problem = type_problem(item, fields)
    if problem is not None:
        raise ValueError(problem)
    for path in numbers:
        *parents, last = path.split(".")
        parent: Any = item
        for part in parents:
            parent = parent.get(part) or {}
        if isinstance(parent.get(last), int):  # as Arrow reads JSON numbers: a double
            parent[last] = float(parent[last])
    if not isinstance(item["id"], str):
        item["id"] = str(item["id"])
    if not encodable(item["id"]):
        raise ValueError(f"id {shown_value(item['id'])} holds a lone surrogate, which is not text")
    label = label_of(item)
    if label is not None and not isinstance(item["label"], str):
        item["label"] = json.dumps(item["label"])  # true, 1: as the file wrote it
    return label


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise DataError(
        f"{path}: unknown data format {suffix or '(no suffix)'}; use .jsonl, .csv or .parquet"
    )


class Reader:
    """Listings of one data file in batches (Arrow tables typed as modctl.yaml declares the
    fields), checked against the declared fields and regions."""

    def __init__(
        self, path: Path, fields: dict[str, str], regions: set[str], *, skip_bad: bool = False
    ) -> None:
        if path.is_dir():
            raise DataError(
                f"{path}: a folder; the local engine reads one .jsonl, .csv or .parquet file, "
                "and --engine spark a folder of Parquet files"
            )
        if not path.is_file():
            raise DataError(f"{path}: no such data file")
        self.path = path
        self.fields = fields
        self.numbers = [path for path, field_type in fields.items() if field_type == "number"]
        self.regions = sorted(regions)
        self.skip_bad = skip_bad
        self.size = path.stat().st_size
        self.consumed = 0  # bytes read so far, for progress
        self.skipped = 0
        self.first_skip: str | None = None
        self.format = file_format(path)

    def batches(self, start: int = 0, end: int | None = None) -> Iterator[Batch]:
        """Every listing, batch by batch; for JSON lines those whose first byte lies in
        [start, end), for Parquet those of the row groups that start there, so that workers can
        share a file."""
        whole = start == 0 and end is None
        if self.format == "jsonl":
            source = self._jsonl(start, end)
        elif self.format == "parquet":
            source = self._parquet(start, end)
        else:
            source = self._grouped(self._csv())
        empty = True
        for batch in source:
            if batch.table.num_rows:
                empty = False
                yield batch
        if whole and empty and not self.skipped:
            raise DataError(f"{self.path}: no listings in the file")

    def row_groups(self) -> int:
        """How many row groups a Parquet file holds (what --jobs can split it into)."""
        return int(self._parquet_file().metadata.num_row_groups)

    def _parquet_file(self) -> Any:
        try:
            return pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises its own error types for unreadable files
            raise DataError(f"{self.path}: not a readable Parquet file ({exc})") from None

    def fraction(self) -> float | None:
        """How much of the file has been read, when the format tells."""
        return min(self.consumed / self.size, 1.0) if self.size and self.consumed else None

    def _bad(self, line: int, message: str) -> None:
        where = f"{self.path}:{line}: {message}"
        if not self.skip_bad:
            raise DataError(f"{where} (pass --skip-bad to skip bad rows)")
        self.skipped += 1
        self.first_skip = self.first_skip or where

    def _check(self, item: Any) -> bool | None:
        return check_listing(item, self.fields, self.regions, self.numbers)

    def _batch(self, accepted: list[Accepted]) -> Batch:
        """A batch of checked listings (`_check` lets through only what Arrow can hold)."""
        schema = arrow_schema(self.fields)
        table = pa.Table.from_pylist([item for item, _ in accepted], schema=schema)
        return self._finish(table, np.array([label for _, label in accepted], dtype=np.int8))

    def _finish(self, table: Any, labels: Any) -> Batch:
        codes = pc.fill_null(pc.index_in(table.column("region"), pa.array(self.regions)), -1)
        return Batch(table, codes.to_numpy(zero_copy_only=False).astype(np.int64), labels)

    def _grouped(self, source: Iterator[tuple[int, Any]]) -> Iterator[Batch]:
        accepted: list[Accepted] = []
        for line, item in source:
            self._accept(line, item, accepted)
            if len(accepted) == BATCH_ROWS:
                yield self._batch(accepted)
                accepted = []
        yield self._batch(accepted)

    def _accept(self, line: int, item: Any, accepted: list[Accepted]) -> None:
        try:
            label = self._check(item)
        except ValueError as exc:
            self._bad(line, str(exc))
            return
        accepted.append((item, -1 if label is None else int(label)))

    def _jsonl(self, start: int, end: int | None) -> Iterator[Batch]:
        """4 MB of whole lines at a time, parsed by Arrow; a block Arrow refuses, or with a row
        that breaks a rule of `_check`, is read again line by line to say which line is bad."""
        options = pj.ParseOptions(
            explicit_schema=arrow_schema(self.fields), unexpected_field_behavior="ignore"
        )
        with self.path.open("rb") as handle:
            line = 1
            if start > 0:
                line += _count_lines(handle, start - 1)
                _skip_line(handle)  # the rest of the line holding byte start-1 (may be just "\n")
                line += 1
            position = handle.tell()
            while end is None or position < end:
                chunk = handle.read(
                    BATCH_BYTES if end is None else min(BATCH_BYTES, end - position)
                )
                if not chunk:
                    break
                if not chunk.endswith(b"\n"):
                    chunk += handle.readline(MAX_LINE_BYTES + 1)
                    if not chunk.endswith(b"\n") and _skip_line(handle):
                        # A line over the limit: its head is kept to be reported, the rest skipped.
                        chunk += b"\n"
                position = handle.tell()
                self.consumed = position
                batch = self._parsed(chunk, options)
                yield batch if batch is not None else self._line_by_line(chunk, line)
                line += chunk.count(b"\n")

    def _parsed(self, chunk: bytes, options: Any) -> Batch | None:
        if _longest_line(chunk) > MAX_LINE_BYTES:
            return None
        try:
            # Arrow checks only the fields it keeps; a byte that is not UTF-8 anywhere in a line
            # (a key, a field modctl.yaml does not declare) makes the line bad all the same.
            chunk.decode()
        except UnicodeDecodeError:
            return None
        read = pj.ReadOptions(use_threads=False, block_size=max(len(chunk), 1 << 16))
        try:
            table = pj.read_json(io.BytesIO(chunk), read_options=read, parse_options=options)
            table.validate(full=True)  # Arrow takes strings that are not UTF-8 as they are
        except pa.ArrowException:
            return None
        if table.num_rows != chunk.count(b"\n") + (not chunk.endswith(b"\n")):
            return None  # blank lines, or two objects on one line, which JSON lines forbids
        if any(_non_finite(_column(table, path)) for path in self.numbers):
            return None  # NaN or Infinity, which Arrow reads and JSON does not have
        ids = table.column("id")
        if ids.null_count or pc.any(pc.equal(ids, "")).as_py():
            return None
        batch = self._finish(table, None)
        if (batch.region_codes < 0).any():
            return None
        labels = _labels(table.column("label"))
        if labels is None:
            return None
        batch.labels = labels
        return batch

    def _line_by_line(self, chunk: bytes, first: int) -> Batch:
        accepted: list[Accepted] = []
        for number, raw in enumerate(chunk.split(b"\n"), first):
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                self._bad(number, f"line is {LISTING_LIMIT}")
                continue
            try:
                text = raw.decode()
            except UnicodeDecodeError as exc:
                self._bad(number, _not_utf8(raw, exc))
                continue
            try:
                item = json.loads(text)
            except ValueError as exc:
                self._bad(number, f"not JSON: {exc}")
                continue
            self._accept(number, item, accepted)
        return self._batch(accepted)

    def _csv(self) -> Iterator[tuple[int, Any]]:
        delimiter = "\t" if self.path.suffix.lower() == ".tsv" else ","
        with self.path.open("rb") as raw:
            # Bytes that are not UTF-8 are decoded to lone surrogates, so that the line holding
            # them is the bad row, not the rest of the file; a byte order mark (as spreadsheets
            # write one) is not part of the first column's name.
            text = io.TextIOWrapper(raw, "utf-8-sig", errors="surrogateescape", newline="")
            lines = _Lines(text)
            reader = csv.DictReader(lines, delimiter=delimiter)
            try:
                header = reader.fieldnames or []
            except (_BadLine, csv.Error) as exc:
                raise DataError(f"{self.path}:1: header: {exc}") from None
            missing = [key for key in REQUIRED if key not in header]
            if missing:
                shown = ", ".join(printable.shown(name) for name in header)
                raise DataError(
                    f"{self.path}:1: missing required column {missing[0]!r} (columns: {shown})"
                )
            while True:
                lines.record = 0
                try:
                    record = next(reader)
                except StopIteration:
                    return
                except (_BadLine, csv.Error) as exc:
                    self._bad(lines.number, str(exc))
                    continue
                self.consumed = raw.tell()
                try:
                    yield lines.number, self._typed(record)
                except ValueError as exc:
                    self._bad(lines.number, str(exc))

    def _typed(self, record: dict[str, str]) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for column, text in record.items():
            if column is None:
                raise ValueError("more values than columns")
            if text is None or text == "":
                continue
            value = _convert(column, text, self.fields.get(column))
            _put(item, column, value)
        return item

    def _parquet(self, start: int, end: int | None) -> Iterator[Batch]:
        """A batch of rows at a time, checked and typed column by column (`records.check`):
        the columns are checked against modctl.yaml once, before any row is read, and a
        column of the wrong type is refused by name. Only the row groups whose first byte lies
        in [start, end) are read."""
        from modctl.backtest import records, schema  # they build on this module's checks

        table = self._parquet_file()
        columns = schema.select(
            schema.arrow_columns(table.schema_arrow), self.fields, str(self.path)
        )
        metadata = table.metadata
        for index in range(metadata.num_row_groups):
            size = metadata.row_group(index).total_byte_size
            if size > MAX_ROW_GROUP_BYTES:
                raise DataError(
                    f"{self.path}: row group {index} holds {size / 2**30:.1f} GiB uncompressed; "
                    f"the limit is {MAX_ROW_GROUP_BYTES >> 30} GiB: write the file with smaller "
                    "row groups (pyarrow: row_group_size)"
                )
        engine = len(records.ENGINE)
        read = [
            (name, path)
            for index, (name, path) in enumerate(
                zip([*records.ENGINE, *self.fields], columns.paths(), strict=True)
            )
            if path is not None and not (index >= engine and name in records.ENGINE)
        ]
        groups = [
            index
            for index in range(metadata.num_row_groups)
            if start
            <= _row_group_start(metadata.row_group(index))
            < (self.size if end is None else end)
        ]
        if not groups:
            return
        row = sum(metadata.row_group(index).num_rows for index in range(groups[0]))
        rows = sum(metadata.row_group(index).num_rows for index in groups)
        done = 0
        for batch in table.iter_batches(
            batch_size=BATCH_ROWS, row_groups=groups, columns=sorted({p[0] for _, p in read})
        ):
            given = {name: _nested(batch, path) for name, path in read}
            n = batch.num_rows
            places = records.Places(
                pa.repeat(str(self.path), n), np.arange(row, row + n, dtype=np.int64)
            )
            row, done = row + n, done + n
            self.consumed = self.size * done // max(rows, 1)
            checked = records.check(given, places, self.fields, self.regions)
            if checked.first_bad is not None:
                (_, bad), message = checked.first_bad
                self._bad(bad + 1, message)
                self.skipped += checked.bad - 1
            if checked.batch is not None:
                yield checked.batch


def _row_group_start(group: Any) -> int:
    """Where a Parquet row group begins in its file: its first column chunk's first page."""
    column = group.column(0)
    if column.has_dictionary_page and column.dictionary_page_offset is not None:
        return int(min(column.dictionary_page_offset, column.data_page_offset))
    return int(column.data_page_offset)


def _nested(batch: Any, path: tuple[str, ...]) -> Any:
    """The column at a path: a top-level column, then the fields of structs inside it."""
    array = batch.column(path[0])
    for name in path[1:]:
        array = pc.struct_field(array, name)
    return array


def _labels(column: Any) -> Any:
    """1 infringing, 0 clean, -1 unlabelled; None when a label is neither (see label_of)."""
    labels, unknown = label_codes(column)
    return None if unknown.any() else labels


def label_codes(column: Any) -> tuple[Any, Any]:
    """Per row of a text column of labels: 1 infringing, 0 clean, -1 unlabelled, and where a
    label is neither (see label_of)."""
    labels = np.full(len(column), -1, dtype=np.int8)
    if column.null_count == len(column):
        return labels, np.zeros(len(column), dtype=bool)
    text = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    positive = pc.fill_null(pc.is_in(text, value_set=pa.array(sorted(POSITIVE))), False)
    negative = pc.fill_null(pc.is_in(text, value_set=pa.array(sorted(NEGATIVE))), False)
    empty = pc.fill_null(pc.equal(column, ""), True)
    known = pc.or_(pc.or_(positive, negative), empty)
    labels[positive.to_numpy(zero_copy_only=False)] = 1
    labels[negative.to_numpy(zero_copy_only=False)] = 0
    return labels, ~known.to_numpy(zero_copy_only=False)


def _count_lines(handle: Any, upto: int) -> int:
    """Newlines in the first `upto` bytes; leaves the handle at `upto`."""
    handle.seek(0)
    count = 0
    remaining = upto
    while remaining > 0:
        block = handle.read(min(remaining, 1 << 20))
        if not block:
            break
        count += block.count(b"\n")
        remaining -= len(block)
    handle.seek(upto)
    return count


def _put(item: dict[str, Any], column: str, value: Any) -> None:
    parts = column.split(".")
    target = item
    for part in parts[:-1]:
        nested = target.setdefault(part, {})
        if not isinstance(nested, dict):
            raise ValueError(f"column {column!r} clashes with column {part!r}")
        target = nested
    target[parts[-1]] = value


def _convert(column: str, text: str, field_type: str | None) -> Any:
    if field_type in (None, "string", "phash"):
        return text
    try:
        if field_type == "number":
            return float(text)
        if field_type == "integer":
            return int(text)
    except ValueError:
        raise ValueError(
            f"column {column!r}: {shown_value(text)} is not {'an integer' if field_type == 'integer' else 'a number'}"
        ) from None
    if field_type == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(f"column {column!r}: {shown_value(text)} is not true or false")
    if field_type == "string_list":
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ValueError(
                    f"column {column!r}: {shown_value(text)} is not a JSON list"
                ) from None
            if isinstance(value, list):
                return value
        return [part.strip() for part in text.split("|") if part.strip()]
    return text


class _BadLine(ValueError):
    """A CSV line that is too long or not UTF-8; the CSV reader starts over after it."""


class _Lines:
    """The lines of a CSV file for the csv module, read at most MAX_LINE_BYTES at a time: a
    record longer than that, or a line that is not UTF-8, raises _BadLine, after which the next
    line is read as usual. `number` is the line last read, `record` the bytes of the record
    being read (the caller resets it at each record)."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.number = 0
        self.record = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.text.readline(MAX_LINE_BYTES + 1)
        if not line:
            raise StopIteration
        self.number += 1
        # Characters count at least one byte each: encode only the lines that may be too long.
        long = self.record + len(line) > MAX_LINE_BYTES // 4
        self.record += len(line.encode(errors="surrogateescape")) if long else len(line)
        if self.record > MAX_LINE_BYTES:
            self.record = 0
            while line and not line.endswith(("\n", "\r")):
                line = self.text.readline(MAX_LINE_BYTES)
            raise _BadLine(f"record is {LISTING_LIMIT}")
        undecoded = _UNDECODED.search(line)
        if undecoded is not None:
            raise _BadLine(f"not UTF-8 text (byte 0x{ord(undecoded.group()) - 0xDC00:02x})")
        return line


# What surrogateescape decodes a byte that is not UTF-8 to.
_UNDECODED = re.compile("[\udc80-\udcff]")


def _skip_line(handle: IO[bytes]) -> int:
    """Skip to the start of the next line, a block at a time; the bytes skipped."""
    skipped = 0
    while True:
        block = handle.readline(MAX_LINE_BYTES)
        skipped += len(block)
        if not block or block.endswith(b"\n"):
            return skipped


def _longest_line(chunk: bytes) -> int:
    """The length of the longest line of `chunk`, line feeds not counted."""
    if len(chunk) <= MAX_LINE_BYTES:
        return len(chunk)
    ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 0x0A)
    bounds = np.concatenate(([-1], ends, [len(chunk)]))
    return int(np.diff(bounds).max()) - 1


def _column(table: Any, path: str) -> Any:
    """The column of a (dotted) field of a table."""
    top, *inner = path.split(".")
    column = table.column(top)
    for name in inner:
        column = pc.struct_field(column, name)
    return column


def _non_finite(column: Any) -> bool:
    return bool(pc.any(pc.or_(pc.is_nan(column), pc.is_inf(column))).as_py())


def _not_utf8(raw: bytes, exc: UnicodeDecodeError) -> str:
    return f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
