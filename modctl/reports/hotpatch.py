"""Rendering `hotpatch list`."""

from __future__ import annotations

from typing import Any

from modctl.reports import cell


def listed_text(rows: list[dict[str, Any]], every: bool) -> str:
    """One row per hot-patch (id, bundle, regions, what it does, until when, state), then each
    one's reason, actor and incident."""
    from tabulate import tabulate

    from modctl.state.hotpatch import describe

    if not rows:
        return "No hot-patches." if every else "No live hot-patches (`--all` shows expired ones)."
    table = [
        [
            cell(r["id"]),
            cell(r["bundle"]),
            cell(",".join(r["regions"])),
            cell(describe(r)),
            cell(r["ends"]),
            f"pending from {cell(r['created'])}" if r["state"] == "pending" else r["state"],
        ]
        for r in rows
    ]
    headers = ["ID", "BUNDLE", "REGIONS", "PATCH", "UNTIL", "STATE"]
    why = [
        f"{cell(r['id'])}: {cell(r['reason'])} ({cell(r['actor'])}"
        + (f", {cell(r['incident'])}" if r.get("incident") else "")
        + ")"
        for r in rows
    ]
    return "\n".join([str(tabulate(table, headers=headers, tablefmt="plain")), "", *why])
