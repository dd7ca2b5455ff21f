"""A param sweep: `--sweep RULE.PARAM=START:STOP:STEP` (or a list of values) read against the
bundle, the counts of each point of the sweep per region, and the point with the best F1. Pure:
no I/O; `backtest.sweep` decides the listings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from modctl import printable
from modctl.analytics import suggest
from modctl.backtest.impact import FLAGGING, Confusion
from modctl.engine.sweep import Axis, Value
from modctl.errors import UsageError
from modctl.errors import suggest as did_you_mean
from modctl.model import Bundle, Rule

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from modctl.engine.columnar import Outcome

MAX_VALUES = 200  # of one --sweep
MAX_POINTS = 400  # of a grid


def parse(specs: Sequence[str], bundle: Bundle) -> tuple[Axis, ...]:
    """The axes `--sweep` names, each checked against the bundle; UsageError in one line."""
    if len(specs) > 2:
        raise UsageError(f"--sweep is given {len(specs)} times; one sweeps a param, two a grid")
    axes = tuple(_axis(spec, bundle) for spec in specs)
    if len(axes) == 2 and axes[0].name == axes[1].name:
        raise UsageError(f"--sweep names {axes[0].name} twice; a grid sweeps two params")
    points = math.prod(len(a.values) for a in axes)
    if points > MAX_POINTS:
        raise UsageError(
            f"--sweep gives a grid of {points} points; at most {MAX_POINTS}: take fewer values"
        )
    return axes


def _axis(spec: str, bundle: Bundle) -> Axis:
    shown = printable.shown(spec)
    target, equals, values = spec.partition("=")
    if not equals or "." not in target or not values:
        raise UsageError(
            f"--sweep {shown}: write RULE.PARAM=START:STOP:STEP or RULE.PARAM=V1,V2,..."
        )
    rule, param = _target(target, bundle)
    current = rule.params[param]
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise UsageError(
            f"--sweep {shown}: {rule.id}.{param} is {printable.shown(str(current))}, not a "
            "number; only numeric params sweep"
        )
    if not suggest.reads(rule.when, param):
        raise UsageError(
            f"--sweep {shown}: no condition of {rule.id} reads {param}, so no value would "
            "change a decision"
        )
    integer = isinstance(current, int)
    found = _values(values, integer, shown, f"{rule.id}.{param}", current)
    if current not in found:
        found = sorted([*found, current])
    return Axis(rule.id, param, tuple(found), current)


def _target(target: str, bundle: Bundle) -> tuple[Rule, str]:
    """RULE.PARAM, where rule ids and param names may hold dots themselves."""
    rules = {r.id: r for r in bundle.rules}
    for cut in range(len(target)):
        if target[cut] == "." and target[:cut] in rules:
            rule, param = rules[target[:cut]], target[cut + 1 :]
            if param in rule.params:
                return rule, param
    rule_id, _, param = target.rpartition(".")
    rule_found = next(
        (rules[target[:cut]] for cut in range(len(target)) if target[:cut] in rules), None
    )
    if rule_found is None:
        raise UsageError(
            f"--sweep: no rule {printable.shown(rule_id)} in {bundle.name}"
            f"{did_you_mean(rule_id, rules)}"
        )
    params = ", ".join(rule_found.params) or "none"
    wrong = target[len(rule_found.id) + 1 :]
    raise UsageError(
        f"--sweep: rule {rule_found.id} has no param {printable.shown(wrong)} (its params: "
        f"{params}){did_you_mean(wrong, rule_found.params)}"
    )


def _values(text: str, integer: bool, shown: str, name: str, current: Value) -> list[Value]:
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise UsageError(f"--sweep {shown}: a range is START:STOP:STEP, three numbers")
        start, stop, step = (_number(p, shown) for p in parts)
        if step <= 0:
            raise UsageError(f"--sweep {shown}: the step must be above 0")
        if stop < start:
            raise UsageError(f"--sweep {shown}: the range stops before it starts")
        count = int((stop - start) / step) + 1
        if count > MAX_VALUES:
            raise UsageError(
                f"--sweep {shown}: {count:,} values; at most {MAX_VALUES}: take a larger step"
            )
        decimals = [start + i * step for i in range(count)]
    else:
        decimals = [_number(p, shown) for p in text.split(",")]
        if len(decimals) > MAX_VALUES:
            raise UsageError(f"--sweep {shown}: {len(decimals)} values; at most {MAX_VALUES}")
    found: list[Value] = []
    for value in decimals:
        if integer:
            if value != value.to_integral_value():
                raise UsageError(
                    f"--sweep {shown}: {name} is a whole number ({current}); {value} is not"
                )
            found.append(int(value))
        else:
            found.append(float(value))
    return sorted(set(found))


def _number(text: str, shown: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise UsageError(f"--sweep {shown}: {printable.shown(text)} is not a number")
    if value and float(value) in (0.0, math.inf, -math.inf):
        raise UsageError(
            f"--sweep {shown}: {printable.shown(text)} is out of range; a param is a number "
            "between 1e-308 and 1e308 in size, or 0"
        )
    return value


# ---------------------------------------------------------------------------- counting


@dataclass
class Counts:
    """One point's counts in one region."""

    confusion: Confusion = field(default_factory=Confusion)
    flagged: int = 0
    rows: int = 0

    def merge(self, other: Counts) -> None:
        self.confusion.merge(other.confusion)
        self.flagged += other.flagged
        self.rows += other.rows


@dataclass
class SweepTally:
    """Per point of the sweep and region: labels against flags, flagged volume, listings."""

    by_region: dict[tuple[int, str], Counts] = field(default_factory=dict)
    rows: int = 0

    def add(
        self,
        regions: Sequence[str],
        codes: NDArray[np.int64],
        actions: Sequence[str],
        outcomes: Sequence[Outcome],
        labels: NDArray[np.int8],
    ) -> None:
        self.rows += len(codes)
        flagging = [i for i, action in enumerate(actions) if action in FLAGGING]
        present = np.unique(codes).tolist()
        width = len(regions)
        # One count per region, flagged or not, and label (unlabelled, clean, infringing).
        cell = codes * 6 + (labels.astype(np.int64) + 1)
        for point, outcome in enumerate(outcomes):
            flagged = np.isin(outcome.action, flagging).astype(np.int64)
            cells = np.bincount(cell + flagged * 3, minlength=width * 6).reshape(width, 2, 3)
            for code in present:
                (_, tn, fn), (flagged_unlabelled, fp, tp) = cells[code].tolist()
                counts = self.by_region.setdefault((point, regions[code]), Counts())
                counts.confusion.merge(Confusion(tp, fp, fn, tn))
                counts.flagged += flagged_unlabelled + fp + tp
                counts.rows += int(cells[code].sum())

    def merge(self, other: SweepTally) -> None:
        self.rows += other.rows
        for key, counts in other.by_region.items():
            self.by_region.setdefault(key, Counts()).merge(counts)


# ---------------------------------------------------------------------------- the result


@dataclass
class Point:
    values: tuple[Value, ...]
    current: bool
    overall: Counts
    regions: dict[str, Counts]

    def to_dict(self, axes: Sequence[Axis]) -> dict[str, Any]:
        return {
            "values": {a.name: v for a, v in zip(axes, self.values, strict=True)},
            "current": self.current,
            **_figures(self.overall),
            "regions": {r: _figures(c) for r, c in self.regions.items()},
        }


def _figures(counts: Counts) -> dict[str, Any]:
    c = counts.confusion
    return {
        "listings": counts.rows,
        "flagged": counts.flagged,
        "precision": _round(c.precision),
        "recall": _round(c.recall),
        "f1": _round(c.f1),
        "true_positives": c.tp,
        "false_positives": c.fp,
        "false_negatives": c.fn,
        "true_negatives": c.tn,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class SweepResult:
    bundle: str
    data: Path | str  # a file, or on Spark a URI or a table
    axes: tuple[Axis, ...]
    points: list[Point]
    rows: int
    seconds: float = 0.0
    skipped: int = 0
    first_skip: str | None = None
    outside: int = 0
    suggestions: list[suggest.Suggestion] = field(default_factory=list)
    engine: str = "local"
    master: str | None = None  # Spark's
    partitions: int = 0  # on Spark, the partitions decided

    @property
    def labelled(self) -> bool:
        return any(p.overall.confusion.labelled for p in self.points)

    @property
    def current(self) -> Point:
        return next(p for p in self.points if p.current)

    @property
    def best(self) -> Point | None:
        """The point with the best F1 (the current one when it ties), None without labels."""
        scored = [p for p in self.points if p.overall.confusion.f1 is not None]
        if not scored:
            return None
        return max(scored, key=lambda p: (p.overall.confusion.f1 or 0.0, p.current))

    @property
    def regions(self) -> list[str]:
        return sorted({r for p in self.points for r in p.regions})

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "bundle": self.bundle,
            "data": str(self.data),
            "rows": self.rows,
            "skipped_rows": self.skipped,
            "rows_outside_bundle_regions": self.outside,
            "seconds": round(self.seconds, 3),
            "engine": self.engine,
            "master": self.master,
            "sweep": [
                {"rule": a.rule, "param": a.param, "values": list(a.values), "current": a.current}
                for a in self.axes
            ],
            "points": [p.to_dict(self.axes) for p in self.points],
            "current": self.current.to_dict(self.axes)["values"],
            "best_f1": None if best is None else best.to_dict(self.axes)["values"],
            "suggestions": [s.to_dict() for s in self.suggestions],
        }


def result(
    bundle: Bundle,
    data: Path | str,
    axes: tuple[Axis, ...],
    points: Sequence[tuple[Value, ...]],
    tally: SweepTally,
) -> SweepResult:
    """The sweep's points with their counts, the current and best marked, and what to do."""
    found = []
    for index, values in enumerate(points):
        regions = {
            region: counts
            for (point, region), counts in sorted(tally.by_region.items())
            if point == index
        }
        overall = Counts()
        for counts in regions.values():
            overall.merge(counts)
        current = all(v == a.current for a, v in zip(axes, values, strict=True))
        found.append(Point(tuple(values), current, overall, regions))
    report = SweepResult(bundle.name, data, axes, found, tally.rows)
    report.suggestions = _suggestions(report, bundle)
    return report


def _suggestions(report: SweepResult, bundle: Bundle) -> list[suggest.Suggestion]:
    """With a better F1 than now: the hot-patches that set each changed param to its best
    value where its rule applies (to try in production before writing it into the rule)."""
    best, current = report.best, report.current
    if best is None or best is current:
        return []
    rules = {r.id: r for r in bundle.rules}
    now, then = current.overall.confusion, best.overall.confusion
    evidence = (
        f"F1 {_ratio(now.f1)} -> {_ratio(then.f1)}, precision {_ratio(now.precision)} -> "
        f"{_ratio(then.precision)}, recall {_ratio(now.recall)} -> {_ratio(then.recall)}, "
        f"flagged {current.overall.flagged:,} -> {best.overall.flagged:,} on {_named(report.data)}"
    )
    changes = {
        axis.name: f"{axis.name} {axis.current} -> {value}"
        for axis, value in zip(report.axes, best.values, strict=True)
        if value != axis.current
    }
    found = []
    for axis, value in zip(report.axes, best.values, strict=True):
        if value == axis.current:
            continue
        regions = rules[axis.rule].regions or bundle.regions
        # The figures are those of every change together: say which others they assume.
        change = ", with ".join(
            [changes[axis.name], *(c for name, c in changes.items() if name != axis.name)]
        )
        found.append(
            suggest.Suggestion(
                "set_param",
                bundle.name,
                axis.rule,
                f"{change}: {evidence}",
                suggest.hotpatch(
                    bundle.name,
                    regions,
                    "set_param",
                    axis.name,
                    str(value),
                    reason=f"backtest sweep: {axis.name} {value} gives the best F1",
                ),
            )
        )
    return found


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _named(data: Path | str) -> str:
    """The data in a suggestion's evidence: a file by its name."""
    return data.name if isinstance(data, Path) else data
