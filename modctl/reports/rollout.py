"""Rendering state changes and `rollout status`: text for people, JSON for machines."""

from __future__ import annotations

from typing import Any

from modctl.reports import cell, to_json
from modctl.state.operations import Outcome


def outcome_text(outcome: Outcome, undo: str | None) -> str:
    if outcome.dry_run:
        return "\n".join([f"Would {outcome.summary}; the state would change:", *outcome.diff()])
    lines = [f"{note[0].upper()}{note[1:]}." for note in outcome.notes]
    if outcome.commit is None:
        return "\n".join([*lines, "Nothing written."])
    lines.append(f"Done: {outcome.summary} (state commit {outcome.commit[:12]}).")
    if undo:
        lines.append(f"Undo: {undo}")
    return "\n".join(lines)


def outcome_json(outcome: Outcome, undo: str | None) -> str:
    return to_json({**outcome.to_dict(), "undo": undo})


def status_text(rows: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    if not rows:
        return "Nothing staged yet; `modctl rollout start BUNDLE VERSION` stages a release."
    table = [
        [
            r["region"],
            r["bundle"],
            r["stable"] or "-",
            f"{r['canary']}@{r['weight']}% (step {r['step']})" if r["canary"] else "-",
            f"{r['minutes_at_step']}m" if r["canary"] else "-",
            "paused" if r["paused"] else "",
            "frozen" if r["frozen"] else "",
            _hotpatches(r),
            r["gate"] or "-",
        ]
        for r in rows
    ]
    headers = ["REGION", "BUNDLE", "STABLE", "CANARY", "AT STEP", "", "", "HOT-PATCHES", "GATE"]
    return str(
        tabulate(
            [[cell(value) for value in row] for row in table], headers=headers, tablefmt="plain"
        )
    )


def status_json(rows: list[dict[str, Any]]) -> str:
    return to_json(rows)


def _hotpatches(row: dict[str, Any]) -> str:
    if not row["hotpatches"] and not row["expired_hotpatches"]:
        return "-"
    expired = f" ({row['expired_hotpatches']} expired)" if row["expired_hotpatches"] else ""
    return f"{row['hotpatches']}{expired}"
