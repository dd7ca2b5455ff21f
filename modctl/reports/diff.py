"""Rendering a bundle diff: text for people, JSON for scripts."""

from __future__ import annotations

import json
from typing import Any

from modctl.reports import to_json
from modctl.source.diff import SAMPLES, BundleDiff


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return "none" if value is None else str(value)


def _sample(values: list[Any]) -> str:
    shown = ", ".join(map(str, values[:SAMPLES]))
    return shown + (f" and {len(values) - SAMPLES} more" if len(values) > SAMPLES else "")


def text(result: BundleDiff) -> str:
    lines = [f"{result.bundle}: {result.before} -> {result.after}"]
    if result.empty:
        lines.append("  no changes")
        return "\n".join(lines)
    for name, (a, b) in result.meta.items():
        lines.append(f"  bundle {name}: {_show(a)} -> {_show(b)}")
    counts = (len(result.rules_added), len(result.rules_removed), len(result.rules_changed))
    if any(counts):
        lines.append(f"rules: {counts[0]} added, {counts[1]} removed, {counts[2]} changed")
        lines += [
            f"  + {r.id} ({r.action}{', shadow' if r.mode == 'shadow' else ''})"
            for r in result.rules_added
        ]
        lines += [f"  - {r.id} ({r.action})" for r in result.rules_removed]
        for change in result.rules_changed:
            lines.append(f"  ~ {change.id}")
            lines += [
                f"      {k}: {_show(a)} -> {_show(b)}" for k, (a, b) in change.changes.items()
            ]
    counts = (len(result.lists_added), len(result.lists_removed), len(result.lists_changed))
    if any(counts):
        lines.append(f"lists: {counts[0]} added, {counts[1]} removed, {counts[2]} changed")
        lines += [f"  + {lst.name} ({lst.kind})" for lst in result.lists_added]
        lines += [f"  - {lst.name} ({lst.kind})" for lst in result.lists_removed]
        for listed in result.lists_changed:
            head = f"  ~ {listed.name} ({listed.kind}): +{len(listed.added)} -{len(listed.removed)}"
            if listed.changed:
                head += f" ~{len(listed.changed)}"
            if listed.kind_before:
                head += f", kind was {listed.kind_before}"
            lines.append(head)
            if listed.added:
                lines.append(f"      added: {_sample(listed.added)}")
            if listed.removed:
                lines.append(f"      removed: {_sample(listed.removed)}")
            if listed.changed:
                shown = [f"{k}: {_show(a)} -> {_show(b)}" for k, (a, b) in listed.changed.items()]
                lines.append(f"      changed: {_sample(shown)}")
    if result.tests_added or result.tests_removed:
        lines.append(f"tests: {len(result.tests_added)} added, {len(result.tests_removed)} removed")
    return "\n".join(lines)


def as_json(result: BundleDiff) -> str:
    return to_json(result.to_dict())
