from __future__ import annotations

import json
from pathlib import Path

import pytest
from junitparser import Attr, Failure, JUnitXml, TestCase
from typer.testing import CliRunner

from modctl.cli import app
from tests.conftest import write_files


def test_reference_bundles_pass(reference_repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["--repo", str(reference_repo), "test"])
    assert result.exit_code == 0, result.output
    for bundle in ("ipr-counterfeit", "ipr-brand-misuse", "ipr-notice-takedown"):
        assert f"{bundle}: " in result.output
    assert "0 failed; rule coverage 100%" in result.output


BROKEN_CASE = """\
- name: cheap gucci
  region: SG
  item: {title: Gucci bag, price: 5}
  expect: {action: limit, rules: [fake-brand], not_rules: [fake-brand]}
"""


def test_broken_expectation_fails_with_a_readable_diff(
    minimal_repo: Path, runner: CliRunner
) -> None:
    write_files(minimal_repo, {"strategies/demo/tests/main.yaml": BROKEN_CASE})
    result = runner.invoke(app, ["--repo", str(minimal_repo), "test"])
    assert result.exit_code == 1
    assert result.output.splitlines()[:5] == [
        "FAIL strategies/demo/tests/main.yaml:1 'cheap gucci' in SG",
        "  expected: limit; rules include fake-brand; rules exclude fake-brand",
        "  actual:   takedown (decided by fake-brand); matched fake-brand",
        "  matched but should not: fake-brand",
        "demo: 0 passed, 1 failed; rule coverage 100% (1/1) FAILED",
    ]


def test_json_and_junit_reports(minimal_repo: Path, runner: CliRunner, tmp_path: Path) -> None:
    write_files(minimal_repo, {"strategies/demo/tests/main.yaml": BROKEN_CASE})
    result = runner.invoke(app, ["--repo", str(minimal_repo), "test", "--output", "json"])
    assert result.exit_code == 1
    (bundle,) = json.loads(result.stdout)
    assert (bundle["bundle"], bundle["failed"], bundle["coverage"]) == ("demo", 1, 100.0)
    assert bundle["results"][0]["actual"] == {"action": "takedown", "rules": ["fake-brand"]}
    result = runner.invoke(app, ["--repo", str(minimal_repo), "test", "--output", "junit"])
    assert result.exit_code == 1
    report = tmp_path / "junit.xml"
    report.write_text(result.stdout)
    (suite,) = list(JUnitXml.fromfile(str(report)))
    assert (suite.name, suite.tests, suite.failures) == ("demo", 1, 1)
    (case,) = list(suite)
    assert (case.name, case.classname) == ("cheap gucci [SG]", "modctl.demo")
    assert FileCase.fromelem(case).file == "strategies/demo/tests/main.yaml"
    (failure,) = case.result
    assert isinstance(failure, Failure)
    assert (failure.type, failure.message) == ("expectation", "expected limit, got takedown")
    assert failure.text == (
        "expected action limit, rules fake-brand, not rules fake-brand\n"
        "actual action takedown, matched fake-brand"
    )


class FileCase(TestCase):
    file = Attr()


@pytest.mark.parametrize("flag", ["-o", "--format", "-f"])
def test_output_short_flag_and_format_alias(
    minimal_repo: Path, runner: CliRunner, flag: str
) -> None:
    def report(*args: str) -> str:
        return runner.invoke(app, ["--repo", str(minimal_repo), "test", *args]).stdout

    assert report(flag, "json") == report("--output", "json")


def test_junit_report_of_a_case_named_with_a_control_character(
    minimal_repo: Path, runner: CliRunner, tmp_path: Path
) -> None:
    write_files(
        minimal_repo,
        {"strategies/demo/tests/main.yaml": BROKEN_CASE.replace("cheap gucci", '"bell\\a case"')},
    )
    result = runner.invoke(app, ["--repo", str(minimal_repo), "test", "-o", "junit"])
    report = tmp_path / "junit.xml"
    report.write_text(result.stdout)
    (suite,) = list(JUnitXml.fromfile(str(report)))
    assert [case.name for case in suite] == ["bell\\x07 case [SG]"]


def test_min_coverage(minimal_repo: Path, runner: CliRunner) -> None:
    write_files(
        minimal_repo,
        {
            "strategies/demo/rules/more.yaml": "- id: never\n  when: {field: price, gt: 1000000}\n  action: warn\n",
            "strategies/demo/tests/more.yaml": "- name: rich\n  region: SG\n  item: {price: 1}\n  expect: {action: none, not_rules: [never]}\n",
        },
    )
    assert runner.invoke(app, ["--repo", str(minimal_repo), "test"]).exit_code == 0
    result = runner.invoke(app, ["--repo", str(minimal_repo), "test", "--min-coverage", "80"])
    assert result.exit_code == 1
    assert "rule coverage 50% (1/2) FAILED" in result.output
    assert "rules no test matches: never" in result.output


def test_bundle_with_lint_errors_is_refused_with_the_findings(
    minimal_repo: Path, runner: CliRunner
) -> None:
    write_files(
        minimal_repo,
        {
            "strategies/demo/rules/main.yaml": "- id: fake-brand\n  when: {field: nope, exists: true}\n  action: warn\n"
        },
    )
    result = runner.invoke(app, ["--repo", str(minimal_repo), "test", "demo"])
    assert result.exit_code == 1
    assert "modctl: error: validation failed (1 error); fix them first" in result.output
    assert "strategies/demo/rules/main.yaml:2:17: error R002" in result.output
    assert "Traceback" not in result.output


def test_unknown_bundle(minimal_repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["--repo", str(minimal_repo), "test", "dem"])
    assert result.exit_code == 2
    assert "no bundle named 'dem'; did you mean 'demo'?" in result.output
