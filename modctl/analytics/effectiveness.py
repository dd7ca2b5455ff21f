"""Which rules work in production: per rule and region, volume, the rate a gate watches (by
default the overturn rate: appeals overturned over appeals) with its Wilson interval, its trend
across releases, and a flag on rules whose rate is significantly worse than the rest of the
bundle's in that region, ranked. Pure: rows in, data out.

Each rule's rate is compared with the rest of the bundle in its region (the bundle's rows less
the rule's own), by a one-sided two-proportion z test; the p-values of all the rules and regions
compared are adjusted together (Holm 1979), so that a bundle with many rules does not flag one
by chance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from modctl import printable
from modctl.analytics import suggest
from modctl.errors import UsageError
from modctl.errors import suggest as did_you_mean
from modctl.gates.judge import Gate, upper_tail, wilson, z_score
from modctl.model import Bundle

if TYPE_CHECKING:
    from modctl.source.metrics import Row

NO_RELEASE = "(no release)"
DURATION = re.compile(r"([0-9]+)([mhdw])")
UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Rate:
    """numerator / denominator with its interval; `volume` is the decisions counted."""

    volume: int
    numerator: int
    denominator: int
    confidence: float

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.denominator:
            return None
        return wilson(self.numerator, self.denominator, self.confidence)

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "volume": self.volume,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": _round(self.rate),
            "interval": None if interval is None else [_round(v) for v in interval],
        }


@dataclass(frozen=True)
class Release:
    """One release's share of a rule's counts in a region: a point of its trend."""

    release: str
    first_window: datetime
    counts: Rate

    def to_dict(self) -> dict[str, Any]:
        return {"release": self.release, "first_window": _iso(self.first_window)} | (
            self.counts.to_dict()
        )


@dataclass
class RuleRegion:
    rule: str
    region: str
    in_bundle: bool
    mode: str | None
    counts: Rate
    rest: Rate  # the bundle in the region, without this rule
    bundle: Rate  # the bundle in the region, this rule included
    counters: dict[str, int]
    trend: list[Release]
    direction: str  # rising, falling, steady, or "" with fewer than two releases
    p_value: float | None = None
    adjusted: float | None = None
    flagged: bool = False

    def excess(self, worse: str) -> float:
        """How far the interval's near end lies beyond the rest of the bundle's rate, on the
        side where the rate is `worse` (higher or lower)."""
        interval, rest = self.counts.interval, self.rest.rate
        if interval is None or rest is None:
            return float("-inf")
        return interval[0] - rest if worse == "higher" else rest - interval[1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "region": self.region,
            "in_bundle": self.in_bundle,
            "mode": self.mode,
            **self.counts.to_dict(),
            "counters": self.counters,
            "bundle_rate": _round(self.bundle.rate),
            "rest_of_bundle_rate": _round(self.rest.rate),
            "p_value": _significant(self.p_value),
            "adjusted_p_value": _significant(self.adjusted),
            "flagged": self.flagged,
            "trend": self.direction or None,
            "releases": [r.to_dict() for r in self.trend],
        }


@dataclass
class Effectiveness:
    bundle: str
    origin: str
    gate: Gate
    volume_counter: str
    since: datetime | None
    regions: list[str]
    confidence: float
    rows: list[RuleRegion]
    releases: list[str]
    bundle_rates: dict[str, Rate] = field(default_factory=dict)
    suggestions: list[suggest.Suggestion] = field(default_factory=list)

    @property
    def flagged(self) -> list[RuleRegion]:
        return [r for r in self.rows if r.flagged]

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "metrics": self.origin,
            "rate": {
                "gate": self.gate.name,
                "numerator": self.gate.numerator,
                "denominator": self.gate.denominator,
                "worse": self.gate.worse,
            },
            "volume_counter": self.volume_counter,
            "since": None if self.since is None else _iso(self.since),
            "regions": self.regions,
            "confidence": self.confidence,
            "releases": self.releases,
            "bundle_rates": {k: v.to_dict() for k, v in self.bundle_rates.items()},
            "rules": [r.to_dict() for r in self.rows],
            "suggestions": [s.to_dict() for s in self.suggestions],
        }


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: an ISO 8601 time with a zone, or a span back from now (30m, 24h, 7d, 2w)."""
    spans = DURATION.findall(text)
    if spans and "".join(n + u for n, u in spans) == text:
        seconds = sum(int(n) * UNITS[u] for n, u in spans)
        if seconds > (now - datetime.min).total_seconds():
            raise UsageError(
                f"--since {printable.shown(text)} reaches back before the year 1; leave "
                "--since out to read every window"
            )
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UsageError(
            f"--since {printable.shown(text)} is neither a time with a zone such as "
            "2026-11-01T00:00:00Z nor a span such as 7d, 24h or 2w"
        )
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def rate_gate(gates: dict[str, dict[str, Any]], metrics: Sequence[str], name: str) -> Gate:
    """The gate of modctl.yaml whose rate the report ranks rules by."""
    if name not in gates:
        known = ", ".join(gates) or "none"
        raise UsageError(
            f"no gate {printable.shown(name)} in modctl.yaml (its gates: {known})"
            f"{did_you_mean(name, gates)}; --gate names the rate to rank rules by"
        )
    return Gate.from_config(name, gates[name])


def effectiveness(
    rows: Iterable[Row],
    bundle: Bundle,
    gate: Gate,
    *,
    origin: str,
    metrics: Sequence[str],
    since: datetime | None = None,
    regions: Sequence[str] = (),
    confidence: float = 0.95,
    data: str = suggest.DATA_PLACEHOLDER,
) -> Effectiveness:
    """The report from metrics rows: only the bundle's rows that name a rule count, from
    `since` on, in `regions` (default: every region the rows name)."""
    mine = [r for r in rows if r.bundle == bundle.name]
    per_rule = [r for r in mine if r.rule]
    if not per_rule:
        raise UsageError(
            f"{origin}: no row of {bundle.name} names a rule; report effectiveness needs "
            "per-rule rows (a `rule` column, see `modctl schema metrics`)"
        )
    unknown = sorted(set(regions) - set(bundle.regions))
    if unknown:
        raise UsageError(
            f"bundle {bundle.name} does not serve region {printable.shown(unknown[0])}"
            f"{did_you_mean(unknown[0], bundle.regions)} (it serves {', '.join(bundle.regions)})"
        )
    chosen = [
        r
        for r in per_rule
        if (since is None or r.start >= since) and (not regions or r.region in regions)
    ]
    if not chosen:
        where = f" in {', '.join(regions)}" if regions else ""
        when = f" since {_iso(since)}" if since else ""
        raise UsageError(
            f"{origin}: no per-rule row of {bundle.name}{where}{when}; try an earlier --since "
            "or another --region"
        )
    volume = "decisions" if "decisions" in metrics else gate.denominator
    found = _tally(chosen, bundle, gate, volume, confidence)
    _test(found, gate, confidence)
    found.sort(key=lambda item: _ranking(item, gate))
    releases = _releases(chosen)
    report = Effectiveness(
        bundle.name,
        origin,
        gate,
        volume,
        since,
        sorted({r.region for r in chosen}),
        confidence,
        found,
        releases,
        {r.region: r.bundle for r in found},
    )
    report.bundle_rates = dict(sorted(report.bundle_rates.items()))
    report.suggestions = _suggestions(report, bundle, data)
    return report


def _tally(
    rows: list[Row], bundle: Bundle, gate: Gate, volume: str, confidence: float
) -> list[RuleRegion]:
    rules = {r.id: r for r in bundle.rules}
    counters: dict[tuple[str, str], dict[str, int]] = {}
    points: dict[tuple[str, str, str], list[Row]] = {}
    totals: dict[str, list[int]] = {}
    for row in rows:
        assert row.rule is not None
        mine = counters.setdefault((row.rule, row.region), {})
        for name, count in row.counters.items():
            mine[name] = mine.get(name, 0) + count
        points.setdefault((row.rule, row.region, row.release or NO_RELEASE), []).append(row)
        total = totals.setdefault(row.region, [0, 0, 0])
        total[0] += row.counters.get(volume, 0)
        total[1] += row.counters.get(gate.numerator, 0)
        total[2] += row.counters.get(gate.denominator, 0)
    found = []
    for (rule_id, region), counts in counters.items():
        own = _rate(counts, gate, volume, confidence)
        volume_total, numerator, denominator = totals[region]
        whole = Rate(volume_total, numerator, denominator, confidence)
        rest = Rate(
            whole.volume - own.volume,
            whole.numerator - own.numerator,
            whole.denominator - own.denominator,
            confidence,
        )
        trend = sorted(
            (
                Release(
                    release,
                    min(r.start for r in group),
                    _rate(_sum(group), gate, volume, confidence),
                )
                for (rid, reg, release), group in points.items()
                if rid == rule_id and reg == region
            ),
            key=lambda p: (p.first_window, p.release),
        )
        rule = rules.get(rule_id)
        found.append(
            RuleRegion(
                rule_id,
                region,
                rule is not None,
                None if rule is None else rule.mode,
                own,
                rest,
                whole,
                dict(sorted(counts.items())),
                trend,
                _direction(trend, gate, confidence),
            )
        )
    return found


def _sum(rows: list[Row]) -> dict[str, int]:
    total: dict[str, int] = {}
    for row in rows:
        for name, count in row.counters.items():
            total[name] = total.get(name, 0) + count
    return total


def _rate(counts: dict[str, int], gate: Gate, volume: str, confidence: float) -> Rate:
    return Rate(
        counts.get(volume, 0),
        counts.get(gate.numerator, 0),
        counts.get(gate.denominator, 0),
        confidence,
    )


def _sign(gate: Gate) -> float:
    return 1.0 if gate.worse == "higher" else -1.0


def _direction(trend: list[Release], gate: Gate, confidence: float) -> str:
    """Whether the last release's rate differs from the one before, significantly."""
    known = [p for p in trend if p.counts.denominator]
    if len(known) < 2:
        return ""
    before, last = known[-2].counts, known[-1].counts
    z = z_score(last.numerator, last.denominator, before.numerator, before.denominator)
    if z is None:
        return "steady"
    alpha = 1 - confidence
    if upper_tail(z) < alpha:
        return "rising"
    if upper_tail(-z) < alpha:
        return "falling"
    return "steady"


def _test(found: list[RuleRegion], gate: Gate, confidence: float) -> None:
    """One-sided tests of each rule against the rest of its bundle, Holm-adjusted together."""
    sign = _sign(gate)
    tested = []
    for item in found:
        own, rest = item.counts, item.rest
        z = z_score(own.numerator, own.denominator, rest.numerator, rest.denominator)
        if z is not None:
            item.p_value = upper_tail(sign * z)
            tested.append(item)
    tested.sort(key=lambda i: i.p_value or 0.0)
    running = 0.0
    alpha = 1 - confidence
    for place, item in enumerate(tested):
        assert item.p_value is not None
        running = max(running, min(1.0, (len(tested) - place) * item.p_value))
        item.adjusted = running
        item.flagged = running < alpha


def _ranking(item: RuleRegion, gate: Gate) -> tuple[bool, float, float, str, str]:
    """Flagged first, the most clearly worse first; then by rate, the worst first (the highest,
    or the lowest for a rate that is worse when lower), rules without a rate last."""
    rate = item.counts.rate
    return (
        not item.flagged,
        -item.excess(gate.worse) if item.flagged else 0.0,
        float("inf") if rate is None else -_sign(gate) * rate,
        item.rule,
        item.region,
    )


def _releases(rows: list[Row]) -> list[str]:
    first: dict[str, datetime] = {}
    for row in rows:
        name = row.release or NO_RELEASE
        first[name] = min(first.get(name, row.start), row.start)
    return sorted(first, key=lambda name: (first[name], name))


def _suggestions(report: Effectiveness, bundle: Bundle, data: str) -> list[suggest.Suggestion]:
    """Per flagged rule still in the bundle and enforcing: shadow it where it is flagged, and
    sweep each numeric param to find a safer threshold."""
    rules = {r.id: r for r in bundle.rules}
    found: list[suggest.Suggestion] = []
    flagged: dict[str, list[RuleRegion]] = {}
    for item in report.flagged:
        if item.in_bundle and item.mode == "enforce":
            flagged.setdefault(item.rule, []).append(item)
    name = report.gate.name
    for rule_id, items in flagged.items():
        evidence = "; ".join(
            f"{i.region}: {name} {_pct(i.counts.rate)} "
            f"[{_pct(i.counts.interval[0] if i.counts.interval else None)}, "
            f"{_pct(i.counts.interval[1] if i.counts.interval else None)}] on "
            f"{i.counts.denominator:,} {report.gate.denominator}, against "
            f"{_pct(i.rest.rate)} for the rest of the bundle"
            for i in items
        )
        # A hot-patch is refused where the rule does not run: metrics may name a region the
        # rule served before its regions were narrowed.
        served = rules[rule_id].regions or bundle.regions
        regions = sorted(i.region for i in items if i.region in served)
        side = "above" if report.gate.worse == "higher" else "below"
        reason = f"{name} of {rule_id} significantly {side} the rest of {bundle.name}"
        if regions:
            found.append(
                suggest.Suggestion(
                    "shadow",
                    bundle.name,
                    rule_id,
                    evidence,
                    suggest.hotpatch(
                        bundle.name, regions, "set_mode", rule_id, "shadow", reason=reason
                    ),
                )
            )
        for param, value in rules[rule_id].params.items():
            spec = suggest.sweep_range(value)
            if spec is not None and suggest.reads(rules[rule_id].when, param):
                found.append(
                    suggest.Suggestion(
                        "sweep",
                        bundle.name,
                        rule_id,
                        f"{param} is {value}; see what other values catch and miss",
                        suggest.sweep(bundle.name, data, rule_id, param, spec),
                    )
                )
    return found


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _significant(value: float | None) -> float | None:
    """A p-value to four significant digits: decimal places would round a small one to 0."""
    return None if value is None else float(f"{value:.4g}")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
