"""Metrics rows for the canary gates, from the source `modctl.yaml` names (or `--metrics FILE`).

A row counts what one variant (stable or canary) of one bundle did in one region over one window:
`region, bundle, variant, window_start, window_end`, then one non-negative integer per name in
`metrics.names`, and optionally `release` (the version that served it) and `rule` (a row that
counts one rule's share: hits, actions, appeals on the decisions it made). A file is CSV with that
header, or JSON lines with those keys; a command (run without a shell, within a time limit)
prints the same rows as a JSON array or JSON lines. Every row is checked before any is used, and
the first bad one is one line naming the file (or command) and the line: the gate never sees it.
Gates read the rows without a rule (a bundle's whole traffic); `report effectiveness` reads those
with one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modctl import printable
from modctl.errors import UsageError
from modctl.gates.judge import MAX_COUNT, Counts, Gate
from modctl.model import Config

KEYS = ("region", "bundle", "variant", "window_start", "window_end")
OPTIONAL = ("release", "rule")
VARIANTS = ("stable", "canary")
MAX_BYTES = 256 * 1024 * 1024  # one metrics read: far more than any canary's windows need
MAX_LINE = 1024 * 1024
DEFAULT_TIMEOUT = 30.0


class MetricsError(UsageError):
    """A metrics source that cannot be used: the message names it and the line."""


@dataclass(frozen=True)
class Row:
    region: str
    bundle: str
    variant: str
    start: datetime
    end: datetime
    counters: dict[str, int]
    release: str | None
    line: int
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "bundle": self.bundle,
            "variant": self.variant,
            "window_start": _iso(self.start),
            "window_end": _iso(self.end),
            **self.counters,
            **({"release": self.release} if self.release else {}),
            **({"rule": self.rule} if self.rule else {}),
        }


@dataclass(frozen=True)
class Metrics:
    """The rows of one read, where they came from, and the digest of their content."""

    rows: list[Row]
    origin: str

    @property
    def digest(self) -> str:
        text = json.dumps([r.to_dict() for r in self.rows], sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def read(
    config: Config,
    root: Path,
    now: datetime,
    bundles: Iterable[str],
    override: Path | None = None,
) -> Metrics:
    """The rows of `--metrics FILE` (`override`), else of the source `modctl.yaml` names; rows
    may name `bundles` and the bundles of the repository."""
    from modctl.source.repo import bundle_names

    known = {*bundles, *bundle_names(root)}
    if override is not None:
        return from_file(override, config, now, known)
    source = config.metrics_source
    if "file" in source:
        return from_file(root / str(source["file"]), config, now, known)
    if "command" in source:
        timeout = float(source.get("timeout", DEFAULT_TIMEOUT))
        return from_command([str(a) for a in source["command"]], timeout, config, now, known)
    raise MetricsError(
        "no metrics source: set metrics.source.file or metrics.source.command in modctl.yaml, "
        "or pass --metrics FILE"
    )


def from_file(path: Path, config: Config, now: datetime, bundles: set[str]) -> Metrics:
    where = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise MetricsError(f"{where}: metrics are .csv or .jsonl files")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise MetricsError(
                f"{where}: {size:,} bytes; a metrics file holds at most {MAX_BYTES:,}"
            )
        # A device or a pipe has no size to check first: the read stops at the limit.
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise MetricsError(f"{where}: no such metrics file") from None
    except OSError as exc:
        raise MetricsError(f"{where}: cannot read it: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise MetricsError(
            f"{where}: more than {MAX_BYTES:,} bytes; a metrics file holds at most {MAX_BYTES:,}"
        )
    records = _csv(raw, where) if suffix == ".csv" else _json_lines(raw, where)
    return Metrics(_rows(records, where, config, now, bundles), where)


def from_command(
    argv: list[str], timeout: float, config: Config, now: datetime, bundles: set[str]
) -> Metrics:
    from modctl.source.program import ProgramError, run

    where = f"metrics command {' '.join(argv)}"
    try:
        raw = run(argv, timeout, MAX_BYTES)
    except ProgramError as exc:
        raise MetricsError(f"{where}: {exc.message}") from None
    stripped = raw.lstrip()
    if stripped.startswith(b"["):
        try:
            items = json.loads(raw.decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise MetricsError(f"{where}: its output is not JSON: {exc}") from None
        if not isinstance(items, list):
            raise MetricsError(f"{where}: its output is not a JSON array of rows")
        records: Iterable[tuple[int, Any]] = enumerate(items, 1)
    else:
        records = _json_lines(raw, where)
    return Metrics(_rows(records, where, config, now, bundles), where)


def _csv(raw: bytes, where: str) -> Iterator[tuple[int, Any]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MetricsError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise MetricsError(f"{where}: empty; the first line is the header {','.join(KEYS)},...")
    if tuple(header[: len(KEYS)]) != KEYS:
        raise MetricsError(
            f"{where}:1: the header starts {','.join(KEYS)}, not {','.join(header[:5])}"
        )
    twice = next((name for i, name in enumerate(header) if name in header[:i]), None)
    if twice is not None:
        raise MetricsError(f"{where}:1: the header names {printable.shown(twice)} twice")
    for record in reader:
        if not record:
            continue
        if len(record) != len(header):
            raise MetricsError(
                f"{where}:{reader.line_num}: {len(record)} fields where the header has {len(header)}"
            )
        yield reader.line_num, dict(zip(header, record, strict=True))


def _json_lines(raw: bytes, where: str) -> Iterator[tuple[int, Any]]:
    lines = raw.split(b"\n")
    if not raw.strip():
        raise MetricsError(f"{where}: empty; no metrics rows")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            raise MetricsError(f"{where}:{number}: a line longer than 1 MiB is no metrics row")
        try:
            yield number, json.loads(line.decode(), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MetricsError(f"{where}:{number}: not a JSON object: {exc}") from None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a count")


def _rows(
    records: Iterable[tuple[int, Any]], where: str, config: Config, now: datetime, bundles: set[str]
) -> list[Row]:
    rows = [_row(number, item, where, config, now, bundles) for number, item in records]
    if not rows:
        raise MetricsError(f"{where}: no metrics rows")
    _no_overlap(rows, where)
    _totals_in_range(rows, where)
    return rows


def _row(
    number: int, item: Any, where: str, config: Config, now: datetime, bundles: set[str]
) -> Row:
    at = f"{where}:{number}"
    if not isinstance(item, dict):
        raise MetricsError(f"{at}: a row is an object with {', '.join(KEYS)} and counters")
    missing = [key for key in KEYS if key not in item]
    if missing:
        raise MetricsError(f"{at}: no {missing[0]}")
    unknown = [k for k in item if k not in (*KEYS, *OPTIONAL, *config.metrics)]
    if unknown:
        names = ", ".join(config.metrics) or "none"
        raise MetricsError(
            f"{at}: unknown counter {printable.shown(str(unknown[0]))}; metrics.names declares {names}"
        )
    region, bundle, variant = (str(item[k]) for k in ("region", "bundle", "variant"))
    if region not in config.regions:
        raise MetricsError(f"{at}: unknown region {printable.shown(region)}")
    if bundle not in bundles:
        raise MetricsError(f"{at}: unknown bundle {printable.shown(bundle)}")
    if variant not in VARIANTS:
        raise MetricsError(f"{at}: variant is stable or canary, not {printable.shown(variant)}")
    start, end = _time(item["window_start"], at), _time(item["window_end"], at)
    if end <= start:
        raise MetricsError(f"{at}: the window ends at or before it starts")
    if end > now:
        raise MetricsError(f"{at}: the window ends in the future ({_iso(end)})")
    counters = {name: _count(item.get(name, 0), name, at) for name in config.metrics}
    for gate in config.gates.values():
        top, bottom = gate.get("numerator"), gate.get("denominator")
        if top in counters and bottom in counters and counters[top] > counters[bottom]:
            raise MetricsError(
                f"{at}: {top} ({counters[top]}) is above {bottom} ({counters[bottom]})"
            )
    release, rule = item.get("release"), item.get("rule")
    for key, value in (("release", release), ("rule", rule)):
        if value is not None and not isinstance(value, str):
            raise MetricsError(f"{at}: {key} is text, not {printable.cut(json.dumps(value))}")
    return Row(
        region,
        bundle,
        variant,
        start,
        end,
        counters,
        str(release) if release else None,
        number,
        str(rule) if rule else None,
    )


def _time(value: Any, at: str) -> datetime:
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MetricsError(
            f"{at}: {printable.shown(text)} is not an ISO 8601 time such as 2026-11-29T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise MetricsError(f"{at}: {printable.shown(text)} has no time zone; windows are UTC (Z)")
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _count(value: Any, name: str, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MetricsError(f"{at}: {name} is a count, not {printable.shown(str(value))}")
    try:
        count = int(value)
    except ValueError:
        raise MetricsError(f"{at}: {name} is a count, not {printable.shown(str(value))}") from None
    if count < 0:
        raise MetricsError(f"{at}: {name} is {count}; counts are never negative")
    if count > MAX_COUNT:
        raise MetricsError(f"{at}: {name} is above {MAX_COUNT:,}, more than any count")
    return count


def _no_overlap(rows: list[Row], where: str) -> None:
    by_key: dict[tuple[str, str, str, str | None, str | None], list[Row]] = {}
    for row in rows:
        key = (row.region, row.bundle, row.variant, row.release, row.rule)
        by_key.setdefault(key, []).append(row)
    for group in by_key.values():
        group.sort(key=lambda r: r.start)
        for before, after in itertools.pairwise(group):
            if after.start < before.end:
                rule = f" rule {after.rule}" if after.rule else ""
                raise MetricsError(
                    f"{where}:{after.line}: its window overlaps the one on line {before.line} "
                    f"({after.region} {after.bundle} {after.variant}{rule}): counts would be "
                    "taken twice"
                )


def _totals_in_range(rows: list[Row], where: str) -> None:
    """Each counter of each region, bundle and variant adds up to a count the judge can take."""
    totals: dict[tuple[str, str, str, str | None, str], int] = {}
    for row in rows:
        for name, count in row.counters.items():
            key = (row.region, row.bundle, row.variant, row.rule, name)
            totals[key] = totals.get(key, 0) + count
            if totals[key] > MAX_COUNT:
                raise MetricsError(
                    f"{where}:{row.line}: {name} of {row.region} {row.bundle} {row.variant} adds "
                    f"up to more than {MAX_COUNT:,}, more than any count"
                )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def counts(rows: list[Row], bundle: str, region: str, since: datetime, gate: Gate) -> Counts:
    """One look of `gate` in one region: the numerator and denominator totals of each variant
    over the windows that start at or after `since` (when the canary reached its current step);
    earlier windows do not count, nor do the rows of single rules (their counts are shares of the
    bundle's)."""
    totals = {
        (variant, name): 0 for variant in VARIANTS for name in (gate.numerator, gate.denominator)
    }
    for row in rows:
        if row.bundle == bundle and row.region == region and row.start >= since and not row.rule:
            for name in (gate.numerator, gate.denominator):
                totals[(row.variant, name)] += row.counters.get(name, 0)
    return Counts(
        totals[("canary", gate.numerator)],
        totals[("canary", gate.denominator)],
        totals[("stable", gate.numerator)],
        totals[("stable", gate.denominator)],
    )
