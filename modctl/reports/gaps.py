"""Rendering `report gaps`: text, Markdown, JSON, and one HTML page with charts."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from modctl.analytics.gaps import FLAGGED, MISSED, Gaps, Group
from modctl.reports import cell, to_json
from modctl.reports.markdown import code, fence, markdown, table

TITLE_MAP = "Gaps by category and region"
TITLE_REASONS = "Missed infringing listings by reason"
MAP_ROWS = 15  # values of the first grouping field in the map
MAP_COLUMNS = 20  # values of the second: a field such as a seller id has one per listing


def render(found: Gaps, output: str) -> str:
    if output == "json":
        return to_json(found.to_dict())
    if output == "md":
        return markdown_report(found)
    if output == "html":
        return html_report(found)
    return text(found)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def head(found: Gaps) -> str:
    tally = found.tally
    missed, flagged = found.total(MISSED), found.total(FLAGGED)
    return (
        f"Gaps of {', '.join(found.bundles)} in {found.data}: {tally.rows:,} listings, "
        f"{tally.infringing:,} infringing and {tally.clean:,} clean; {missed:,} infringing "
        f"missed ({_share(missed, tally.infringing)}) in {len(found.groups(MISSED)):,} groups, "
        f"{flagged:,} clean flagged ({_share(flagged, tally.clean)}) in "
        f"{len(found.groups(FLAGGED)):,} groups; grouped by {', '.join(found.by)}."
    )


def notes(found: Gaps) -> list[str]:
    lines = []
    if found.skipped:
        lines.append(f"Skipped {found.skipped} bad rows; the first: {found.first_skip}")
    if found.tally.outside:
        lines.append(
            f"Ignored {found.tally.outside} listings in regions none of the bundles serves"
        )
    if not found.tally.infringing and not found.tally.clean:
        lines.append("No labels in the data: gaps need a `label` column.")
    return lines


def group_rows(found: Gaps, kind: str) -> tuple[list[str], list[list[Any]]]:
    headers = [*found.by, "listings", "reason (most listings)"]
    reasons = found.tally.reasons
    rows = [
        [*g.key, f"{g.count:,}", reasons[g.top].text()] for g in found.groups(kind)[: found.top]
    ]
    return headers, rows


def sample_lines(found: Gaps, group: Group) -> list[str]:
    lines = []
    for sample in group.samples:
        reason = found.tally.reasons[sample.reason]
        if sample.why and reason.rule is not None:
            lines.append(f"{sample.id} ({sample.region}) {reason.short()}: {'; '.join(sample.why)}")
        else:
            lines.append(f"{sample.id} ({sample.region}): {reason.text()}")
    return lines


def reason_rows(found: Gaps) -> list[list[Any]]:
    return [[f"{n:,}", r.text()] for r, n in found.by_reason(MISSED)]


def _more(found: Gaps, kind: str) -> str:
    rest = len(found.groups(kind)) - found.top
    return f"... and {rest:,} more groups (--top shows more)" if rest > 0 else ""


def text(found: Gaps) -> str:
    lines = [cell(head(found)), *(cell(n) for n in notes(found))]
    lines += [
        "",
        "Infringing listings missed, by reason:",
        tabulate(
            [[cell(v) for v in r] for r in reason_rows(found)],
            headers=["listings", "reason"],
            tablefmt="simple",
            disable_numparse=True,
        ),
    ]
    for kind, title in (
        (MISSED, "Infringing listings missed"),
        (FLAGGED, "Clean listings flagged"),
    ):
        headers, rows = group_rows(found, kind)
        if not rows:
            lines += ["", f"{title}: none."]
            continue
        lines += [
            "",
            f"{title}, largest groups first:",
            tabulate(
                [[cell(v) for v in r] for r in rows],
                headers=headers,
                tablefmt="simple",
                disable_numparse=True,
            ),
        ]
        if _more(found, kind):
            lines.append(_more(found, kind))
        lines += ["", "Samples:"]
        for group in found.groups(kind)[: found.top]:
            lines.append(f"  {cell(' / '.join(group.key))}:")
            lines += [f"    {cell(line)}" for line in sample_lines(found, group)]
    if found.suggestions:
        lines += ["", "Suggestions:"]
        for s in found.suggestions:
            lines += [f"  {cell(s.rule)}: {cell(s.evidence)}", f"    {cell(s.command)}"]
    return "\n".join(lines)


def markdown_report(found: Gaps) -> str:
    parts = [
        f"# Gaps of {markdown(', '.join(found.bundles))}",
        markdown(head(found)),
        *(markdown(n) for n in notes(found)),
        "## Infringing listings missed, by reason",
        table(["listings", "reason"], reason_rows(found)),
    ]
    for kind, title in (
        (MISSED, "Infringing listings missed"),
        (FLAGGED, "Clean listings flagged"),
    ):
        headers, rows = group_rows(found, kind)
        parts.append(f"## {title}")
        if not rows:
            parts.append("None.")
            continue
        parts.append(table(headers, rows))
        if _more(found, kind):
            parts.append(markdown(_more(found, kind)))
        parts.append("### Samples")
        parts.append(
            "\n".join(
                f"- {markdown(' / '.join(g.key))}: "
                + "; ".join(markdown(line) for line in sample_lines(found, g))
                for g in found.groups(kind)[: found.top]
            )
        )
    if found.suggestions:
        parts.append("## Suggestions")
        for s in found.suggestions:
            parts += [f"- {code(s.rule or '')}: {markdown(s.evidence)}", fence(s.command)]
    return "\n\n".join(parts)


def html_report(found: Gaps) -> str:
    from modctl.reports import html

    first = found.by[0]
    second = "region" if "region" in found.by and first != "region" else found.by[-1]
    place = (found.by.index(first), found.by.index(second))
    cells: dict[tuple[str, str], int] = {}
    for group in found.groups(MISSED):
        key = (group.key[place[0]], group.key[place[1]])
        cells[key] = cells.get(key, 0) + group.count
    rows = [v for v, _ in found.margin(MISSED, first).most_common(MAP_ROWS)]
    across = found.margin(MISSED, second)
    columns = sorted(v for v, _ in across.most_common(MAP_COLUMNS))
    capped = f" (the {MAP_COLUMNS} with most)" if len(across) > MAP_COLUMNS else ""
    title = (
        TITLE_MAP if (first, second) == ("category", "region") else f"Gaps by {first} and {second}"
    )

    def heatmap(axes: Any) -> None:
        import numpy as np

        grid = np.array([[cells.get((r, c), 0) for c in columns] for r in rows], dtype=float)
        if not grid.size:
            axes.text(0.5, 0.5, "no infringing listing missed", ha="center")
            return
        image = axes.imshow(grid, cmap="Reds", aspect="auto")
        axes.set_xticks(range(len(columns)), [html.label(c) for c in columns])
        axes.set_yticks(range(len(rows)), [html.label(r) for r in rows])
        for i in range(len(rows)):
            for j in range(len(columns)):
                if grid[i, j]:
                    dark = grid[i, j] > grid.max() / 2
                    axes.text(
                        j,
                        i,
                        f"{int(grid[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if dark else "black",
                    )
        axes.figure.colorbar(image, ax=axes, label="infringing listings missed")

    reasons = found.by_reason(MISSED)[:12]

    def bars(axes: Any) -> None:
        labels = [html.label(_short(r.text())) for r, _ in reasons][::-1]
        axes.barh(range(len(labels)), [n for _, n in reasons][::-1], color=html.RED)
        axes.set_yticks(range(len(labels)), labels)
        axes.set_xlabel("infringing listings missed")

    blocks = [
        html.chart(
            title,
            heatmap,
            height=max(3.0, 0.3 * len(rows) + 1.5),
            caption=f"Infringing listings no rule flagged, per {first} (the {MAP_ROWS} "
            f"with most) and {second}{capped}.",
        ),
        html.chart(TITLE_REASONS, bars, height=max(2.5, 0.3 * len(reasons) + 1.2)),
        *(html.paragraph(n) for n in notes(found)),
    ]
    for kind, heading in (
        (MISSED, "Infringing listings missed"),
        (FLAGGED, "Clean listings flagged"),
    ):
        headers, group_table = group_rows(found, kind)
        blocks.append(html.heading(heading))
        if not group_table:
            blocks.append(html.paragraph("None."))
            continue
        blocks.append(html.table(headers, group_table))
        if _more(found, kind):
            blocks.append(html.paragraph(_more(found, kind)))
        for group in found.groups(kind)[: min(found.top, 10)]:
            blocks.append(
                html.paragraph(
                    " / ".join(group.key) + ": " + " | ".join(sample_lines(found, group))
                )
            )
    if found.suggestions:
        blocks.append(html.heading("Suggestions"))
        blocks.append(
            html.commands([(f"{s.rule}: {s.evidence}", s.command) for s in found.suggestions])
        )
    return html.page(f"Gaps of {', '.join(found.bundles)}", head(found), blocks)


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
