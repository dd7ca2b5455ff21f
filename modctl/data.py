"""Reading labelled listings for backtests: JSON lines, CSV or Parquet, one row at a time.

Every row needs `id` and `region`; `label` is optional. Rows are dicts shaped like the items rules
read (dotted CSV columns such as `seller.id` nest). A bad row raises DataError with its line
number, or is counted and skipped with `skip_bad`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modctl.errors import UsageError

REQUIRED = ("id", "region")
POSITIVE = {"infringing", "true", "1", "yes", "positive"}
NEGATIVE = {"clean", "false", "0", "no", "negative"}


class DataError(UsageError):
    """A data file that cannot be read as listings."""


@dataclass
class Row:
    line: int
    item: dict[str, Any]
    label: bool | None


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
    raise ValueError(f"label {value!r} is neither infringing/true/1 nor clean/false/0")


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
    """Rows of one data file, checked against the declared fields and regions."""

    def __init__(
        self, path: Path, fields: dict[str, str], regions: set[str], *, skip_bad: bool = False
    ) -> None:
        if not path.is_file():
            raise DataError(f"{path}: no such data file")
        self.path = path
        self.fields = fields
        self.regions = regions
        self.skip_bad = skip_bad
        self.size = path.stat().st_size
        self.consumed = 0  # bytes read so far, for progress
        self.skipped = 0
        self.first_skip: str | None = None
        self.format = file_format(path)

    def rows(self) -> Iterator[Row]:
        source = {"jsonl": self._jsonl, "csv": self._csv, "parquet": self._parquet}[self.format]
        empty = True
        for row in self._checked(source()):
            empty = False
            yield row
        if empty and not self.skipped:
            raise DataError(f"{self.path}: no listings in the file")

    def fraction(self) -> float | None:
        """How much of the file has been read, when the format tells."""
        return min(self.consumed / self.size, 1.0) if self.size and self.consumed else None

    def rows_between(self, start: int, end: int | None) -> Iterator[Row]:
        """The JSON-lines rows whose first byte lies in [start, end), for one worker."""
        return self._checked(self._jsonl(start, end))

    def _checked(self, source: Iterator[tuple[int, Any]]) -> Iterator[Row]:
        for line, item in source:
            try:
                label = self._check(item)
            except ValueError as exc:
                self._bad(line, str(exc))
                continue
            yield Row(line, item, label)

    def _bad(self, line: int, message: str) -> None:
        where = f"{self.path}:{line}: {message}"
        if not self.skip_bad:
            raise DataError(f"{where} (pass --skip-bad to skip bad rows)")
        self.skipped += 1
        self.first_skip = self.first_skip or where

    def _check(self, item: Any) -> bool | None:
        if not isinstance(item, dict):
            raise ValueError(f"a listing must be an object, not {type(item).__name__}")
        for key in REQUIRED:
            if key not in item or item[key] in (None, ""):
                raise ValueError(f"missing {key!r}")
        if item["region"] not in self.regions:
            raise ValueError(
                f"unknown region {item['region']!r} (modctl.yaml declares {', '.join(sorted(self.regions))})"
            )
        return label_of(item)

    def _jsonl(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, Any]]:
        loads = _json_loads()
        with self.path.open("rb") as handle:
            first = 1
            if start > 0:
                first += _count_lines(handle, start - 1)
                handle.readline()  # the rest of the line holding byte start-1 (may be just "\n")
                first += 1
            position = handle.tell()
            for number, line in enumerate(handle, first):
                if end is not None and position >= end:
                    break
                position += len(line)
                self.consumed = position
                if not line.strip():
                    continue
                try:
                    yield number, loads(line)
                except ValueError as exc:
                    self._bad(number, f"not JSON: {exc}")

    def _csv(self) -> Iterator[tuple[int, Any]]:
        delimiter = "\t" if self.path.suffix.lower() == ".tsv" else ","
        with self.path.open("rb") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            header = reader.fieldnames or []
            missing = [key for key in REQUIRED if key not in header]
            if missing:
                raise DataError(
                    f"{self.path}:1: missing required column {missing[0]!r} (columns: {', '.join(header)})"
                )
            try:
                for record in reader:
                    self.consumed = raw.tell()
                    line = reader.line_num
                    try:
                        yield line, self._typed(record)
                    except ValueError as exc:
                        self._bad(line, str(exc))
            except UnicodeDecodeError as exc:
                raise DataError(f"{self.path}: not UTF-8 text ({exc.reason})") from None
            except csv.Error as exc:
                raise DataError(f"{self.path}:{reader.line_num}: {exc}") from None

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

    def _parquet(self) -> Iterator[tuple[int, Any]]:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError(
                "reading Parquet needs pyarrow: pip install 'modctl[parquet]'"
            ) from None
        try:
            table = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises its own error types for unreadable files
            raise DataError(f"{self.path}: not a readable Parquet file ({exc})") from None
        names = table.schema_arrow.names
        missing = [key for key in REQUIRED if key not in names]
        if missing:
            raise DataError(f"{self.path}: missing required column {missing[0]!r}")
        number = 0
        for batch in table.iter_batches():
            for record in batch.to_pylist():
                number += 1
                item: dict[str, Any] = {}
                for column, value in record.items():
                    if value is not None:
                        _put(item, column, value)
                yield number, item


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


def _json_loads() -> Any:
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads


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
            f"column {column!r}: {text!r} is not {'an integer' if field_type == 'integer' else 'a number'}"
        ) from None
    if field_type == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(f"column {column!r}: {text!r} is not true or false")
    if field_type == "string_list":
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ValueError(f"column {column!r}: {text!r} is not a JSON list") from None
            if isinstance(value, list):
                return value
        return [part.strip() for part in text.split("|") if part.strip()]
    return text
