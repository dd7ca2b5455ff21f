"""Rendering what `modctl fmt` did or would do: a line per file it changes or cannot format, and
a summary; JSON for scripts."""

from __future__ import annotations

from modctl.reports import to_json
from modctl.source.fmt import Result


def text(result: Result, *, diff: bool = False) -> str:
    lines: list[str] = []
    verb = "reformatted" if result.write else "would reformat"
    for done in result.files:
        if done.status == "changed":
            lines.append(f"{verb} {done.path}")
            if diff:
                lines += done.diff()
        elif done.problem:
            lines.append(done.problem)
    changed = len(result.having("changed"))
    unchanged = len(result.having("unchanged"))
    problems = len(result.files) - changed - unchanged
    if not result.write:
        parts = [f"{_files(changed)} would be reformatted"] if changed else []
        parts.append(f"{_files(unchanged)} already formatted")
    else:
        parts = [f"{_files(changed)} reformatted"] if changed else []
        parts.append(f"{_files(unchanged)} left unchanged")
    if problems:
        parts.append(f"{_files(problems)} could not be formatted")
    lines.append(", ".join(parts) + ".")
    return "\n".join(lines)


def as_json(result: Result) -> str:
    return to_json(result.to_dict())


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"
