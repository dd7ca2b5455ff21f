"""Rendering `report effectiveness`: text, Markdown, JSON, and one HTML page with charts."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from modctl.analytics.effectiveness import Effectiveness, Rate, RuleRegion
from modctl.reports import cell, to_json
from modctl.reports.markdown import code, fence, markdown, table

HEADERS = ("rank", "rule", "region", "volume", "sample", "rate", "interval", "bundle", "trend")
TITLE_VOLUME = "Volume across releases"
CHART_ROWS = 20  # rule-region pairs in the interval chart: the top of the ranking
CHART_RULES = 8  # rules in the volume chart: the ones with most volume


def render(result: Effectiveness, output: str) -> str:
    if output == "json":
        return to_json(result.to_dict())
    if output == "md":
        return markdown_report(result)
    if output == "html":
        return html_report(result)
    return text(result)


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def interval(rate: Rate) -> str:
    found = rate.interval
    return "" if found is None else f"[{pct(found[0])}, {pct(found[1])}]"


def head(result: Effectiveness) -> str:
    gate = result.gate
    since = f" since {result.since:%Y-%m-%dT%H:%M:%SZ}" if result.since else ""
    return (
        f"Effectiveness of {result.bundle} from {result.origin}{since}: {gate.name} "
        f"({gate.numerator} / {gate.denominator}, worse when {gate.worse}) per rule and region, "
        f"{result.confidence:.0%} Wilson intervals; volume is {result.volume_counter}; regions "
        f"{', '.join(result.regions)}."
    )


def row(rank: int, item: RuleRegion) -> list[str]:
    flag = "  WORSE" if item.flagged else ""
    note = "" if item.in_bundle else " (not in the bundle)"
    return [
        f"{rank}{flag}",
        item.rule + note,
        item.region,
        f"{item.counts.volume:,}",
        f"{item.counts.denominator:,}",
        pct(item.counts.rate),
        interval(item.counts),
        pct(item.bundle.rate),
        item.direction or "-",
    ]


def trend(item: RuleRegion) -> str:
    return " -> ".join(
        f"{p.release} {pct(p.counts.rate)} ({p.counts.denominator:,})" for p in item.trend
    )


def moving(result: Effectiveness) -> list[RuleRegion]:
    """The rules whose trend is worth a line: the flagged, and those rising in the last release."""
    return [
        item
        for item in result.rows
        if len(item.trend) > 1 and (item.flagged or item.direction == "rising")
    ]


def flagged_lines(result: Effectiveness) -> list[str]:
    lines = []
    for item in result.flagged:
        adjusted = item.adjusted if item.adjusted is not None else 1.0
        lines.append(
            f"{item.rule} in {item.region}: {pct(item.counts.rate)} {interval(item.counts)} "
            f"against {pct(item.rest.rate)} for the rest of the bundle "
            f"(p = {adjusted:.2g}, adjusted for {sum(r.p_value is not None for r in result.rows)} "
            "comparisons)"
        )
    return lines


def text(result: Effectiveness) -> str:
    headers = [*HEADERS[:4], result.gate.denominator, result.gate.name, *HEADERS[6:]]
    rows = [[cell(v) for v in row(i, item)] for i, item in enumerate(result.rows, 1)]
    lines = [cell(head(result)), "", tabulate(rows, headers=headers, tablefmt="simple")]
    flagged = flagged_lines(result)
    lines += ["", "Significantly worse than the rest of the bundle:" if flagged else ""]
    if flagged:
        lines += [f"  {cell(line)}" for line in flagged]
    else:
        lines[-1] = "No rule is significantly worse than the rest of the bundle."
    trends = moving(result)
    if trends:
        lines += ["", "Across releases (flagged and rising):"]
        lines += [f"  {cell(i.rule)} {cell(i.region)}: {cell(trend(i))}" for i in trends]
    if result.suggestions:
        lines += ["", "Suggestions:"]
        for found in result.suggestions:
            lines += [f"  {cell(found.rule)}: {cell(found.evidence)}", f"    {cell(found.command)}"]
    return "\n".join(lines)


def markdown_report(result: Effectiveness) -> str:
    headers = [*HEADERS[:4], result.gate.denominator, result.gate.name, *HEADERS[6:]]
    parts = [
        f"# Effectiveness of {markdown(result.bundle)}",
        markdown(head(result)),
        table(headers, [row(i, item) for i, item in enumerate(result.rows, 1)]),
    ]
    flagged = flagged_lines(result)
    if flagged:
        parts += [
            "## Significantly worse than the rest of the bundle",
            "\n".join(f"- {markdown(line)}" for line in flagged),
        ]
    trends = moving(result)
    if trends:
        parts += [
            "## Across releases (flagged and rising)",
            "\n".join(
                f"- {code(i.rule)} {markdown(i.region)}: {markdown(trend(i))}" for i in trends
            ),
        ]
    if result.suggestions:
        parts.append("## Suggestions")
        for found in result.suggestions:
            parts += [
                f"- {code(found.rule or '')}: {markdown(found.evidence)}",
                fence(found.command),
            ]
    return "\n\n".join(parts)


def rates_title(result: Effectiveness) -> str:
    name = "Overturn rate" if result.gate.name == "overturn-rate" else result.gate.name
    return f"{name} per rule, with intervals"


def html_report(result: Effectiveness) -> str:
    from modctl.reports import html

    shown = result.rows[:CHART_ROWS]

    def rates(axes: Any) -> None:
        labels = [html.label(f"{i.rule} {i.region}") for i in shown][::-1]
        for place, item in enumerate(reversed(shown)):
            rate, found = item.counts.rate, item.counts.interval
            if rate is None or found is None:
                continue
            colour = html.RED if item.flagged else html.BLUE
            axes.errorbar(
                [rate],
                [place],
                xerr=[[rate - found[0]], [found[1] - rate]],
                fmt="o",
                color=colour,
                capsize=3,
            )
            axes.plot([item.rest.rate], [place], "|", color=html.GREY, markersize=10)
        axes.set_yticks(range(len(labels)), labels)
        axes.xaxis.set_major_formatter(_percent())
        axes.set_xlabel(f"{result.gate.numerator} / {result.gate.denominator}")

    totals: dict[str, dict[str, int]] = {}
    for item in result.rows:
        per_release = totals.setdefault(item.rule, {})
        for point in item.trend:
            per_release[point.release] = per_release.get(point.release, 0) + point.counts.volume
    top = sorted(totals, key=lambda rule: -sum(totals[rule].values()))[:CHART_RULES]

    def volume(axes: Any) -> None:
        for rule in top:
            axes.plot(
                range(len(result.releases)),
                [totals[rule].get(r, 0) for r in result.releases],
                marker="o",
                label=html.label(rule),
            )
        axes.set_xticks(range(len(result.releases)), [html.label(r) for r in result.releases])
        axes.set_xlabel("release")
        axes.set_ylabel(result.volume_counter)
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    headers = [*HEADERS[:4], result.gate.denominator, result.gate.name, *HEADERS[6:]]
    blocks = [
        html.chart(
            rates_title(result),
            rates,
            height=max(2.5, 0.28 * len(shown) + 1.2),
            caption=f"Each rule's rate with its {result.confidence:.0%} Wilson interval, red "
            "where significantly worse than the rest of the bundle (grey tick) in its region.",
        ),
        html.chart(TITLE_VOLUME, volume),
        html.heading("Rules, ranked"),
        html.table(
            headers,
            [row(i, item) for i, item in enumerate(result.rows, 1)],
            [item.flagged for item in result.rows],
        ),
    ]
    flagged = flagged_lines(result)
    blocks.append(html.heading("Significantly worse than the rest of the bundle"))
    blocks += [html.paragraph(line) for line in flagged] or [html.paragraph("None.")]
    trends = moving(result)
    if trends:
        blocks.append(html.heading("Across releases (flagged and rising)"))
        blocks += [html.paragraph(f"{i.rule} {i.region}: {trend(i)}") for i in trends]
    if result.suggestions:
        blocks.append(html.heading("Suggestions"))
        blocks.append(
            html.commands([(f"{s.rule}: {s.evidence}", s.command) for s in result.suggestions])
        )
    return html.page(f"Effectiveness of {result.bundle}", head(result), blocks)


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)
