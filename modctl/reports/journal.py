"""Rendering the journal (`modctl log`), releases and audits: text for people, JSON for machines."""

from __future__ import annotations

import textwrap
from typing import Any

from modctl.reports import cell, to_json
from modctl.state.journal import Entry

RELEASE_HEADERS = ["BUNDLE", "VERSION", "CREATED", "AUTHOR", "COMMIT", "DIGEST"]
WIDTH = 80  # of the terminal `log` writes for: long values wrap onto indented lines
INDENT = "    "
# Joins a name to its value so that a line never breaks between them: `cell` escapes any NUL a
# value brings, so none is left to be taken for this one.
_KEEP = "\0"
# What a `Modctl-Forced` value says was skipped.
FORCED = {
    "min_bake": "forced past min_bake",
    "incident": "forced: lifted freezes made under another incident",
}


def log_text(entries: list[Entry], width: int = WIDTH) -> str:
    """Each entry as a line with its time, action and commit, then indented lines with the
    summary, what it acted on, who and for which incident, why, and what was forced, wrapped
    to `width` columns: nothing is cut."""
    if not entries:
        return "No journal entries match."
    return "\n\n".join(_entry(e, width) for e in entries)


def _entry(e: Entry, width: int) -> str:
    head = "  ".join(cell(value) for value in (e.time, e.action, (e.commit or "")[:12]) if value)
    scope = [
        f"{name}{_KEEP}{cell(value)}"
        for name, value in (
            ("playbook", e.playbook),
            ("bundle", e.bundle),
            ("release", e.release),
            ("region", e.region),
            ("incident", e.incident),
            ("actor", e.actor),
        )
        if value
    ]
    body = [cell(e.summary), ", ".join(scope)]
    if e.reason:
        body.append(f"reason: {cell(e.reason)}")
    if e.forced:
        body.append(FORCED.get(e.forced, f"forced past {cell(e.forced)}"))
    if e.problem:
        body.append(f"trailers unreadable: {cell(e.problem)}")
    lines = _wrap(head, width, "")
    for text in body:
        if text:
            lines += _wrap(text, width, INDENT)
    return "\n".join(lines)


def _wrap(text: str, width: int, indent: str) -> list[str]:
    wrapped = textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
    )
    return [line.replace(_KEEP, " ") for line in wrapped]


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
