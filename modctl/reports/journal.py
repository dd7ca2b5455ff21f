"""Rendering the journal (`modctl log`), releases and audits: text for people, JSON for machines."""

from __future__ import annotations

from typing import Any

from modctl.reports import cell, to_json
from modctl.state.journal import Entry

LOG_HEADERS = ["TIME", "ACTION", "BUNDLE", "REGION", "RELEASE", "ACTOR", "INCIDENT", "SUMMARY"]
RELEASE_HEADERS = ["BUNDLE", "VERSION", "CREATED", "AUTHOR", "COMMIT", "DIGEST"]


def log_text(entries: list[Entry]) -> str:
    from tabulate import tabulate

    if not entries:
        return "No journal entries match."
    rows = [
        [
            e.time,
            e.action,
            e.bundle or "",
            e.region or "",
            e.release or "",
            e.actor,
            e.incident or "",
            e.summary
            + (f" (forced past {e.forced})" if e.forced else "")
            + (f" (trailers unreadable: {e.problem})" if e.problem else ""),
        ]
        for e in entries
    ]
    return str(tabulate(_cells(rows), headers=LOG_HEADERS, tablefmt="plain"))


def log_json(entries: list[Entry]) -> str:
    return to_json([e.to_dict() for e in entries])


def releases_text(manifests: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    if not manifests:
        return "No releases yet; `modctl release cut BUNDLE` makes one."
    rows = [
        [
            m["bundle"],
            m["version"],
            m["created"],
            m["author"],
            m["source_commit"][:12],
            m["digest"][:19],
        ]
        for m in manifests
    ]
    return str(tabulate(_cells(rows), headers=RELEASE_HEADERS, tablefmt="plain"))


def _cells(rows: list[list[Any]]) -> list[list[str]]:
    return [[cell(value) for value in row] for row in rows]
