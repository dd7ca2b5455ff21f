"""Rendering `emergency list|show|run`: text for people, JSON for machines."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from modctl.reports import cell, to_json

if TYPE_CHECKING:
    from modctl.emergency.playbook import Playbook
    from modctl.state.emergency import Prepared
    from modctl.state.operations import Outcome


def _usage(param: Any) -> str:
    word = f"-p {param.name}={param.type.upper()}"
    if param.required:
        return word
    if param.default is not None:
        default = param.default
        shown = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        return f"[{word} ({cell(shown)})]"
    return f"[{word}]"


def listed_text(rows: list[tuple[str, Playbook | str]]) -> str:
    """Each playbook: its name and description, then the parameters it takes; one that does
    not pass its checks with what is wrong."""
    if not rows:
        return "No playbooks in playbooks/; `modctl init` writes the standard set."
    lines: list[str] = []
    for name, book in rows:
        if isinstance(book, str):
            lines += [f"{cell(name)}  (cannot run: {cell(book)})", ""]
            continue
        lines += textwrap.wrap(
            f"{cell(name)}  {cell(book.description)}", 100, subsequent_indent="    "
        )
        lines += _packed([_usage(param) for param in book.params.values()], 100, "    ")
        lines.append("")
    return "\n".join(lines).rstrip()


def _packed(words: list[str], width: int, indent: str) -> list[str]:
    """`words` on lines of at most `width` columns, two spaces apart, never split."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 2 + len(word) <= width:
            lines[-1] += f"  {word}"
        else:
            lines.append(indent + word)
    return lines


def listed_json(rows: list[tuple[str, Playbook | str]]) -> str:
    return to_json(
        {
            "playbooks": [
                {"name": name, "error": book}
                if isinstance(book, str)
                else {
                    "name": name,
                    "description": book.description,
                    "params": {n: p.to_dict() for n, p in book.params.items()},
                }
                for name, book in rows
            ]
        }
    )


def shown_text(book: Playbook) -> str:
    """A playbook: description, parameters with types, defaults and checks, the steps as
    written, and the command that runs it."""
    lines = [f"{cell(book.name)} ({cell(book.path)})"]
    lines += textwrap.wrap(cell(book.description), 100, initial_indent="  ", subsequent_indent="  ")
    lines += ["", "Parameters:"]
    for param in book.params.values():
        facts = [param.type, "required" if param.required else "optional"]
        if param.default is not None:
            default = param.default
            facts.append(
                "default "
                + (",".join(map(str, default)) if isinstance(default, list) else str(default))
            )
        if param.choices:
            facts.append("one of " + ", ".join(map(str, param.choices)))
        if param.pattern:
            facts.append(f"matching {param.pattern}")
        lines.append(f"  {cell(param.name)}: {cell(', '.join(facts))}")
        if param.description:
            lines += textwrap.wrap(
                cell(param.description), 96, initial_indent="      ", subsequent_indent="      "
            )
    if not book.params:
        lines.append("  none")
    lines += [
        "  built in: ${incident} reads --incident, ${reason} reads --reason",
        "",
        "Steps:",
    ]
    for number, step in enumerate(book.steps, 1):
        kind, body = next(iter(step.items()))
        if isinstance(body, dict):
            said = ", ".join(f"{key}: {_value(value)}" for key, value in body.items())
        else:
            said = _value(body)
        lines += textwrap.wrap(
            f"  {number:>2} {kind:<16}{cell(said)}", 100, subsequent_indent=" " * 21
        )
    needed = " ".join(_usage(p) for p in book.params.values() if p.required)
    lines += [
        "",
        f"Run: modctl emergency run {cell(book.name)}{' ' + needed if needed else ''} "
        "--incident ID --reason TEXT",
    ]
    return "\n".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def shown_json(book: Playbook) -> str:
    return to_json(book.to_dict())


def plan_lines(prepared: Prepared) -> list[str]:
    """One line per step and region: the step, its kind, the region and what it does; for a
    verify step, what it checked."""
    made = prepared.plan
    base = f"state commit {made.base[:12]}" if made.base else "an empty state branch"
    incident = f" for {cell(made.entry.incident)}" if made.entry.incident else ""
    lines = [f"Playbook {cell(made.playbook)}{incident}, planned on {base}:"]
    shown: set[int] = set()
    for line in made.lines:
        rows = [(line.region or "-", line.text)]
        if line.kind == "verify" and line.step in prepared.verified:
            if line.step in shown:
                continue
            shown.add(line.step)
            rows = [_split(said) for said in prepared.verified[line.step]]
        lines += [
            f"  {line.step:>2} {line.kind:<16}{cell(region):<5} {cell(text)}"
            for region, text in rows
        ]
    return lines


def _split(checked: str) -> tuple[str, str]:
    """A line of `state.verify`, `REGION BUNDLE VERSION: ...`, as its region and the rest."""
    region, _, rest = checked.partition(" ")
    return region, rest


def diff_lines(prepared: Prepared, outcome: Outcome) -> list[str]:
    """What the run changes, as `Outcome.diff` shows it, with the run record named, not
    printed."""
    from dataclasses import replace

    path = prepared.plan.path
    files = {p: d for p, d in outcome.files.items() if p != path}
    lines = replace(outcome, files=files).diff()
    if path in outcome.files:
        lines.append(f"  {path}: the run record")
    return lines


def run_json(
    prepared: Prepared,
    outcome: Outcome,
    *,
    seconds: float | None,
    undo: list[str],
) -> str:
    made = prepared.plan
    return to_json(
        {
            **outcome.to_dict(),
            "playbook": made.playbook,
            "params": prepared.params,
            "base": made.base,
            "plan": [line.to_dict() for line in made.lines],
            "verified": {str(step): lines for step, lines in prepared.verified.items()},
            "record": made.path if made.files else None,
            "mitigates": made.mitigates,
            "seconds": None if seconds is None else round(seconds, 3),
            "undo": undo,
        }
    )
