"""Rendering `modctl hotpatch fold`: what changed in the source, what the change breaks, and
what to do next."""

from __future__ import annotations

from typing import Any

from modctl.reports import to_json
from modctl.source.fold import Folded


def describe(patch: dict[str, Any]) -> str:
    """A hot-patch in a few words: `set_action rule-x review`."""
    value = patch.get("value")
    shown = ", ".join(map(str, value)) if isinstance(value, list) else value
    return " ".join(str(part) for part in (patch["op"], patch["target"], shown) if part is not None)


def next_steps(result: Folded) -> list[str]:
    """The 2-3 lines that take a folded patch to production and retire it."""
    if result.path is None:
        return []
    fix = (
        "update the tests and fix the findings above, " if result.failing or result.findings else ""
    )
    regions = ", ".join(result.regions)
    if result.gone is not None:
        return [
            f"Next: review `git diff`, {fix}commit, then `modctl release cut {result.bundle}` and "
            "roll the release out;",
            f"the patch no longer applies ({result.gone}): until that release is stable in "
            f"{regions}, production runs without the change.",
        ]
    return [
        f"Next: review `git diff`, {fix}commit, then `modctl release cut {result.bundle}` and roll "
        "the release out;",
        f"once it is stable in {regions}, `modctl hotpatch revert {result.patch['id']}` (until "
        "then the patch still applies on top of the deployed release).",
    ]


def text(result: Folded) -> str:
    head = f"{result.patch['id']} ({describe(result.patch)} in {', '.join(result.regions)})"
    if result.gone is not None:
        head += f", no longer on the state branch ({result.gone}),"
    if result.path is None:
        return f"{head}: {result.status}: {result.what}; nothing written."
    lines = []
    if result.dry_run:
        lines += result.diff()
        lines.append(f"Would fold {head} into {result.path}: {result.what}.")
    else:
        lines.append(f"Folded {head} into {result.path}: {result.what}.")
    if result.findings:
        lines.append("The bundle now has these findings:")
        lines += [f"  {finding}" for finding in result.findings]
    if result.failing:
        lines.append("Tests that now fail (they expected the behaviour before the patch):")
        for failing in result.failing:
            case = failing.result
            lines.append(
                f"  {case.origin.path}:{failing.line} {case.case.name!r} in {case.case.region}: "
                f"expected {case.case.action}, got {case.decision.action}"
                + (f"; did not match {', '.join(case.missing)}" if case.missing else "")
                + (f"; matched {', '.join(case.unexpected)}" if case.unexpected else "")
            )
    elif not result.tests_run:
        lines.append("Tests not run: the bundle has errors (`modctl validate` lists them).")
    if result.dry_run:
        lines.append("Dry run: nothing written.")
    else:
        lines += next_steps(result)
    return "\n".join(lines)


def as_json(result: Folded) -> str:
    return to_json({**result.to_dict(), "next": [] if result.dry_run else next_steps(result)})
