"""Rendering `modctl test` results: text for people, JSON for scripts, JUnit XML for CI."""

from __future__ import annotations

from collections.abc import Mapping

from modctl.engine.cases import BundleResult, CaseResult
from modctl.model import Origin
from modctl.reports import to_json
from modctl.reports.junit import Case, Failure, Suite, document


def _rules(rules: list[str] | tuple[str, ...]) -> str:
    return ", ".join(rules) if rules else "none"


def text(results: list[BundleResult], where: Mapping[Origin, int], min_coverage: float) -> str:
    """`where` gives the line of each failing case in its file (see `source.files.lines`)."""
    lines: list[str] = []
    for result in results:
        for case in result.failed:
            expected = case.case
            lines.append(
                f"FAIL {case.origin.path}:{where.get(case.origin, 1)} "
                f"{expected.name!r} in {expected.region}"
            )
            want = f"  expected: {expected.action}"
            if expected.rules:
                want += f"; rules include {_rules(expected.rules)}"
            if expected.not_rules:
                want += f"; rules exclude {_rules(expected.not_rules)}"
            lines.append(want)
            lines.append(
                f"  actual:   {case.decision.action}"
                + (f" (decided by {case.decision.rule})" if case.decision.rule else "")
                + f"; matched {_rules(case.decision.matched)}"
            )
            if case.missing:
                lines.append(f"  did not match: {_rules(case.missing)}")
            if case.unexpected:
                lines.append(f"  matched but should not: {_rules(case.unexpected)}")
        status = "ok" if not result.failed and result.coverage >= min_coverage else "FAILED"
        covered = len(result.rules) - len(result.untested)
        lines.append(
            f"{result.bundle}: {len(result.cases) - len(result.failed)} passed, "
            f"{len(result.failed)} failed; rule coverage {result.coverage:.0f}% "
            f"({covered}/{len(result.rules)}) {status}"
        )
        if result.untested:
            lines.append(f"  rules no test matches: {_rules(result.untested)}")
        if result.coverage < min_coverage:
            lines.append(f"  coverage is below --min-coverage {min_coverage:g}%")
    return "\n".join(lines)


def as_json(results: list[BundleResult]) -> str:
    return to_json([r.to_dict() for r in results])


def junit(results: list[BundleResult]) -> str:
    """JUnit XML: one suite per bundle, one test case per case, failing with what differed."""
    return document(
        "modctl test",
        [
            Suite(result.bundle, [_junit_case(result.bundle, case) for case in result.cases])
            for result in results
        ],
    )


def _junit_case(bundle: str, case: CaseResult) -> Case:
    failure = None
    if not case.passed:
        failure = Failure(
            f"expected {case.case.action}, got {case.decision.action}",
            "expectation",
            f"expected action {case.case.action}, rules {_rules(case.case.rules)}, "
            f"not rules {_rules(case.case.not_rules)}\n"
            f"actual action {case.decision.action}, matched {_rules(case.decision.matched)}",
        )
    return Case(
        f"{case.case.name} [{case.case.region}]",
        f"modctl.{bundle}",
        file=case.origin.path,
        failure=failure,
    )
