"""Running a bundle's test cases through the evaluator. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modctl.engine.compiler import Decision, Evaluator, compile_bundle
from modctl.model import Bundle, Config, Origin, TestCase


@dataclass
class CaseResult:
    case: TestCase
    decision: Decision
    missing: list[str]  # expected in rules, did not match
    unexpected: list[str]  # listed in not_rules, matched

    @property
    def passed(self) -> bool:
        return self.decision.action == self.case.action and not self.missing and not self.unexpected

    @property
    def origin(self) -> Origin:
        return self.case.origin

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.case.name,
            "region": self.case.region,
            "path": self.case.origin.path,
            "passed": self.passed,
            "expected": {
                "action": self.case.action,
                "rules": list(self.case.rules),
                "not_rules": list(self.case.not_rules),
            },
            "actual": {"action": self.decision.action, "rules": self.decision.matched},
            "missing_rules": self.missing,
            "unexpected_rules": self.unexpected,
        }


@dataclass
class BundleResult:
    bundle: str
    cases: list[CaseResult] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    exercised: set[str] = field(default_factory=set)

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.passed]

    @property
    def untested(self) -> list[str]:
        return [r for r in self.rules if r not in self.exercised]

    @property
    def coverage(self) -> float:
        return 100.0 * len(self.exercised) / len(self.rules) if self.rules else 100.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "cases": len(self.cases),
            "passed": len(self.cases) - len(self.failed),
            "failed": len(self.failed),
            "coverage": round(self.coverage, 1),
            "untested_rules": self.untested,
            "results": [c.to_dict() for c in self.cases],
        }


def run_cases(bundle: Bundle, config: Config) -> BundleResult:
    evaluators: dict[str, Evaluator] = {}
    result = BundleResult(bundle.name, rules=[r.id for r in bundle.rules])
    for case in bundle.tests:
        evaluator = evaluators.get(case.region)
        if evaluator is None:
            evaluator = evaluators[case.region] = compile_bundle(bundle, config, case.region)
        decision = evaluator.decide(case.item)
        matched = set(decision.matched)
        result.exercised |= matched
        result.cases.append(
            CaseResult(
                case,
                decision,
                missing=[r for r in case.rules if r not in matched],
                unexpected=[r for r in case.not_rules if r in matched],
            )
        )
    return result
