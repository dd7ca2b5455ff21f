"""Rendering a backtest: text for people, JSON for scripts, a progress line while it runs."""

from __future__ import annotations

from tabulate import tabulate

from modctl.backtest.impact import Confusion
from modctl.backtest.run import Result
from modctl.reports import to_json


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _labels(confusion: Confusion) -> str:
    return (
        f"precision {_ratio(confusion.precision)}, recall {_ratio(confusion.recall)}, "
        f"F1 {_ratio(confusion.f1)} (TP {confusion.tp}, FP {confusion.fp}, "
        f"FN {confusion.fn}, TN {confusion.tn})"
    )


def text(result: Result) -> str:
    tally = result.tally
    rate = tally.rows / result.seconds if result.seconds else 0.0
    plural = "s" if result.jobs > 1 else ""
    ran = (
        f"Spark {result.master}, {result.jobs} partition{plural}"
        if result.engine == "spark"
        else f"{result.jobs} job{plural}"
    )
    lines = [
        f"Backtest of {result.bundle} on {result.data}: {tally.rows:,} listings in "
        f"{result.seconds:.2f} s ({rate:,.0f}/s, {ran})"
    ]
    if result.skipped:
        lines.append(f"Skipped {result.skipped} bad rows; the first: {result.first_skip}")
    if result.outside:
        lines.append(f"Ignored {result.outside} listings in regions the bundle does not serve")
    actions = sorted({action for _, action in tally.actions})
    regions = sorted({region for region, _ in tally.actions})
    rows = [[region, *(tally.actions.get((region, a), 0) for a in actions)] for region in regions]
    rows.append(["all", *(sum(tally.actions.get((r, a), 0) for r in regions) for a in actions)])
    lines += ["", "Decisions", tabulate(rows, headers=["region", *actions], tablefmt="simple")]
    rule_rows = [
        [rule, tally.hits.get(rule, 0), tally.decided.get(rule, 0)] for rule in result.rules
    ]
    lines += [
        "",
        "Rules",
        tabulate(rule_rows, headers=["rule", "matches", "decided"], tablefmt="simple"),
    ]
    if tally.confusion.labelled:
        lines += [
            "",
            f"Against {tally.confusion.labelled:,} labels (flagged = takedown, limit or review): "
            + _labels(tally.confusion),
        ]
    else:
        lines += ["", "No labels in the data: precision and recall need a `label` column."]
    if result.baseline is not None:
        lines += ["", f"Compared with {result.baseline}: {tally.changed:,} decisions change"]
        if tally.baseline_confusion.labelled:
            lines.append("  baseline: " + _labels(tally.baseline_confusion))
            lines.append("  now:      " + _labels(tally.confusion))
        if tally.changed:
            kinds = sorted(tally.change_kinds)
            by_region = sorted({r for r, _ in tally.change_regions})
            table = [[r, *(tally.change_regions.get((r, k), 0) for k in kinds)] for r in by_region]
            lines += ["", tabulate(table, headers=["region", *kinds], tablefmt="simple")]
            by_rule = sorted({r for r, _ in tally.change_rules})
            table = [[r, *(tally.change_rules.get((r, k), 0) for k in kinds)] for r in by_rule]
            lines += ["", tabulate(table, headers=["deciding rule", *kinds], tablefmt="simple")]
            lines += ["", "Examples"]
            for kind, changes in sorted(tally.examples.items()):
                for change in changes:
                    label = {True: "infringing", False: "clean", None: "unlabelled"}[change.label]
                    lines.append(
                        f"  {kind}: {change.id} ({change.region}, {label}) "
                        f"{change.before} [{change.before_rule or '-'}] -> "
                        f"{change.after} [{change.after_rule or '-'}]"
                    )
    return "\n".join(lines)


def as_json(result: Result) -> str:
    return to_json(result.to_dict())


def progress(rows: int, fraction: float | None, seconds: float) -> str:
    """One line of progress, meant to be rewritten in place on a terminal."""
    rate = rows / max(seconds, 1e-9)
    bar = ""
    if fraction is not None:
        filled = round(fraction * 30)
        bar = f"[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} "
    return f"\r  {bar}{rows:,} listings ({rate:,.0f}/s)"
