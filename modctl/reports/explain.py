"""Rendering explanations of decisions: text for people, JSON for scripts."""

from __future__ import annotations

from modctl.engine.explain import Explanation
from modctl.reports import to_json


def text(results: list[Explanation]) -> str:
    lines: list[str] = []
    for result in results:
        decided = f" (decided by {result.decision.rule})" if result.decision.rule else ""
        lines.append(f"{result.bundle} in {result.region}: {result.decision.action}{decided}")
        for why in result.matched:
            note = ", shadow: reported, never decides" if why.mode == "shadow" else ""
            lines.append(f"  matched {why.rule} ({why.action}{note})")
            lines += [f"    - {reason}" for reason in why.reasons]
        for why in result.near:
            lines.append(f"  almost matched {why.rule} ({why.action}), one condition short:")
            lines.append(f"    - {why.reasons[0]}")
        if not result.matched and not result.near:
            lines.append("  no rule matched or came close")
    return "\n".join(lines)


def as_json(results: list[Explanation]) -> str:
    return to_json([r.to_dict() for r in results])
