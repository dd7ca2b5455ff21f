"""Rendering `modctl test` results: text for people, JUnit XML for CI."""

from __future__ import annotations

from pathlib import Path

from modctl import yamlio
from modctl.engine.cases import BundleResult, CaseResult


def _line(root: Path, result: CaseResult, cache: dict[str, yamlio.SourceMap]) -> int:
    path = result.origin.path
    if path not in cache:
        try:
            cache[path] = yamlio.SourceMap(yamlio.read_text(root / path))
        except yamlio.YamlError:
            return 1
    return cache[path].position(result.origin.pointer)[0]


def _rules(rules: list[str] | tuple[str, ...]) -> str:
    return ", ".join(rules) if rules else "none"


def text(results: list[BundleResult], root: Path, min_coverage: float) -> str:
    lines: list[str] = []
    maps: dict[str, yamlio.SourceMap] = {}
    for result in results:
        for case in result.failed:
            expected = case.case
            lines.append(
                f"FAIL {case.origin.path}:{_line(root, case, maps)} "
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


def junit(results: list[BundleResult]) -> str:
    import xml.etree.ElementTree as ET

    suites = ET.Element("testsuites", name="modctl test")
    for result in results:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=result.bundle,
            tests=str(len(result.cases)),
            failures=str(len(result.failed)),
            errors="0",
            skipped="0",
        )
        for case in result.cases:
            element = ET.SubElement(
                suite,
                "testcase",
                name=f"{case.case.name} [{case.case.region}]",
                classname=f"modctl.{result.bundle}",
                file=case.origin.path,
            )
            if not case.passed:
                failure = ET.SubElement(
                    element,
                    "failure",
                    message=f"expected {case.case.action}, got {case.decision.action}",
                    type="expectation",
                )
                failure.text = (
                    f"expected action {case.case.action}, rules {_rules(case.case.rules)}, "
                    f"not rules {_rules(case.case.not_rules)}\n"
                    f"actual action {case.decision.action}, matched "
                    f"{_rules(case.decision.matched)}"
                )
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")
