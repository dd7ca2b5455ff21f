"""Rendering `backtest --sweep`: text, Markdown, JSON, and one HTML page with the
precision-recall curve."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from modctl.analytics.sweep import Point, SweepResult
from modctl.engine.sweep import Value
from modctl.reports import cell, to_json
from modctl.reports.markdown import code, fence, markdown, table

TITLE_CURVE = "Precision-recall curve of the sweep"
TITLE_F1 = "F1 and flagged listings per value"


def render(result: SweepResult, output: str) -> str:
    if output == "json":
        return to_json(result.to_dict())
    if output == "md":
        return markdown_report(result)
    if output == "html":
        return html_report(result)
    return text(result)


def ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def shown(value: Value) -> str:
    """A swept value as it was written: a whole number in full, a fraction in as many digits
    as it takes to tell it from its neighbours (0.3, 0.1234567), never rounded to six."""
    if isinstance(value, int):
        return str(value)
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def head(result: SweepResult) -> str:
    swept = " by ".join(f"{a.name} over {len(a.values)} values" for a in result.axes)
    rate = result.rows / result.seconds if result.seconds else 0.0
    plural = "s" if result.partitions > 1 else ""
    ran = (
        f", Spark {result.master}, {result.partitions} partition{plural}"
        if result.engine == "spark"
        else ""
    )
    return (
        f"Sweep of {swept} on {result.bundle} with {result.data}: {result.rows:,} listings at "
        f"{len(result.points)} points in {result.seconds:.2f} s ({rate:,.0f} listings/s{ran}); "
        "flagged = takedown, limit or review."
    )


def marks(result: SweepResult, point: Point) -> str:
    found = []
    if point.current:
        found.append("current")
    if point is result.best:
        found.append("best F1")
    return ", ".join(found)


def rows(result: SweepResult) -> tuple[list[str], list[list[str]]]:
    headers = [a.name for a in result.axes] + ["precision", "recall", "F1", "flagged", ""]
    found = []
    for point in result.points:
        c = point.overall.confusion
        found.append(
            [
                *(shown(v) for v in point.values),
                ratio(c.precision),
                ratio(c.recall),
                ratio(c.f1),
                f"{point.overall.flagged:,}",
                marks(result, point),
            ]
        )
    return headers, found


def region_rows(result: SweepResult) -> tuple[list[str], list[list[str]]]:
    """F1 and flagged listings per point and region."""
    regions = result.regions
    headers = [a.name for a in result.axes] + [f"{r} F1 / flagged" for r in regions]
    found = []
    for point in result.points:
        cells = []
        for region in regions:
            counts = point.regions.get(region)
            cells.append(
                "-" if counts is None else f"{ratio(counts.confusion.f1)} / {counts.flagged:,}"
            )
        found.append([*(shown(v) for v in point.values), *cells])
    return headers, found


def _notes(result: SweepResult) -> list[str]:
    lines = []
    if result.skipped:
        lines.append(f"Skipped {result.skipped} bad rows; the first: {result.first_skip}")
    if result.outside:
        lines.append(f"Ignored {result.outside} listings in regions the bundle does not serve")
    if not result.labelled:
        lines.append("No labels in the data: precision, recall and F1 need a `label` column.")
    best = result.best
    for place, axis in enumerate(result.axes):
        if (
            best is not None
            and len(axis.values) > 2
            and best.values[place]
            in (
                axis.values[0],
                axis.values[-1],
            )
        ):
            lines.append(
                f"The best F1 is at the edge of the {axis.name} sweep ({shown(best.values[place])}): "
                "a wider range may do better."
            )
    return lines


def text(result: SweepResult) -> str:
    headers, found = rows(result)
    lines = [cell(head(result)), *(cell(n) for n in _notes(result)), ""]
    lines.append(tabulate(found, headers=headers, tablefmt="simple", disable_numparse=True))
    headers, found = region_rows(result)
    lines += [
        "",
        "Per region",
        tabulate(found, headers=headers, tablefmt="simple", disable_numparse=True),
    ]
    if result.suggestions:
        lines += ["", "Suggestions:"]
        for s in result.suggestions:
            lines += [f"  {cell(s.rule)}: {cell(s.evidence)}", f"    {cell(s.command)}"]
    elif result.best is not None and result.best.current:
        lines += ["", "The current value has the best F1."]
    return "\n".join(lines)


def markdown_report(result: SweepResult) -> str:
    parts = [
        f"# Sweep of {markdown(result.bundle)}",
        markdown(head(result)),
        *(markdown(n) for n in _notes(result)),
        table(*rows(result)),
        "## Per region",
        table(*region_rows(result)),
    ]
    if result.suggestions:
        parts.append("## Suggestions")
        for s in result.suggestions:
            parts += [f"- {code(s.rule or '')}: {markdown(s.evidence)}", fence(s.command)]
    return "\n\n".join(parts)


def html_report(result: SweepResult) -> str:
    from modctl.reports import html

    first = result.axes[0]
    # One curve per value of the second param of a grid (one curve without a grid).
    curves: dict[Any, list[Point]] = {}
    for point in result.points:
        curves.setdefault(point.values[1:], []).append(point)
    best = result.best

    def curve(axes: Any) -> None:
        for key, points in curves.items():
            known = [p for p in points if p.overall.confusion.precision is not None]
            name = ", ".join(
                f"{a.param} {shown(v)}" for a, v in zip(result.axes[1:], key, strict=True)
            )
            axes.plot(
                [p.overall.confusion.recall for p in known],
                [p.overall.confusion.precision for p in known],
                marker="o",
                markersize=4,
                label=html.label(name) if name else None,
            )
            for p in known:
                axes.annotate(
                    shown(p.values[0]),
                    (p.overall.confusion.recall, p.overall.confusion.precision),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=7,
                )
        current = result.current.overall.confusion
        if current.precision is not None:
            axes.plot(
                [current.recall],
                [current.precision],
                "s",
                color=html.RED,
                markersize=10,
                fillstyle="none",
                markeredgewidth=2,
                label="current value",
            )
        if best is not None:
            c = best.overall.confusion
            axes.plot(
                [c.recall],
                [c.precision],
                "*",
                color=html.GREEN,
                markersize=14,
                label=f"best F1 ({ratio(c.f1)})",
            )
        axes.set_xlabel("recall")
        axes.set_ylabel("precision")
        axes.legend(fontsize=8, loc="best")

    def f1(axes: Any) -> None:
        for key, points in curves.items():
            name = ", ".join(
                f"{a.param} {shown(v)}" for a, v in zip(result.axes[1:], key, strict=True)
            )
            axes.plot(
                [p.values[0] for p in points],
                [p.overall.confusion.f1 or 0.0 for p in points],
                marker="o",
                markersize=4,
                label=html.label(f"F1 {name}".strip()),
            )
        axes.axvline(first.current, color=html.RED, linestyle="--", label="current value")
        axes.set_xlabel(html.label(first.name))
        axes.set_ylabel("F1")
        right = axes.twinx()
        for points in curves.values():
            right.plot(
                [p.values[0] for p in points],
                [p.overall.flagged for p in points],
                color=html.GREY,
                linestyle=":",
            )
        right.set_ylabel("flagged listings (dotted)")
        axes.legend(fontsize=8, loc="best")

    blocks = [
        html.chart(
            TITLE_CURVE,
            curve,
            caption=f"Each point is one value of {first.name} (labelled), the square the "
            "current value, the star the best F1.",
        ),
        html.chart(TITLE_F1, f1),
        html.heading("Points"),
        html.table(*rows(result), [p.current for p in result.points]),
        html.heading("Per region"),
        html.table(*region_rows(result)),
    ]
    blocks += [html.paragraph(n) for n in _notes(result)]
    if result.suggestions:
        blocks.append(html.heading("Suggestions"))
        blocks.append(
            html.commands([(f"{s.rule}: {s.evidence}", s.command) for s in result.suggestions])
        )
    return html.page(f"Sweep of {result.bundle}", head(result), blocks)
