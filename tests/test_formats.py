"""Reports as real clients read them: JSON, GitHub workflow commands, JUnit XML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from junitparser import Attr, Failure, JUnitXml, TestCase
from typer.testing import CliRunner

from modctl.cli import app
from tests.conftest import write_files

BROKEN = {
    "strategies/demo/rules/main.yaml": """\
- id: fake-brand
  params: {max_price: 20}
  when:
    all:
      - {field: title, contains_any: {list: brands}}
      - {field: price, lt: {param: max_price}}
      - {field: title, matches: "(?<!genuine )leather"}
  action: takedown
""",
    "strategies/demo/lists/spare.yaml": "name: spare\nkind: keywords\nitems: ['50%, off: now']\n",
}


@pytest.fixture
def broken_repo(minimal_repo: Path) -> Path:
    return write_files(minimal_repo, BROKEN)


def run(runner: CliRunner, repo: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--repo", str(repo), "validate", *args])
    return result.exit_code, result.stdout


def test_json_report(broken_repo: Path, runner: CliRunner) -> None:
    code, out = run(runner, broken_repo, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert (report["errors"], report["warnings"]) == (1, 1)
    codes = {(f["code"], f["severity"], f["path"], f["line"]) for f in report["findings"]}
    assert codes == {
        ("R014", "error", "strategies/demo/rules/main.yaml", 7),
        ("B005", "warning", "strategies/demo/lists/spare.yaml", 1),
    }


def test_json_report_of_clean_repo(minimal_repo: Path, runner: CliRunner) -> None:
    code, out = run(runner, minimal_repo, "--output", "json")
    assert code == 0
    assert json.loads(out) == {"ok": True, "files": 5, "errors": 0, "warnings": 0, "findings": []}


@pytest.mark.parametrize("flag", ["-o", "--format", "-f"])
def test_output_short_flag_and_format_alias(
    broken_repo: Path, runner: CliRunner, flag: str
) -> None:
    assert run(runner, broken_repo, flag, "junit") == run(runner, broken_repo, "--output", "junit")


def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """Parse `::command key=value,...::message` the way GitHub's runner does
    (ActionCommand.TryParseV2: split on the first `::` after the command, unescape %XX)."""
    assert line.startswith("::")
    command_part, message = line[2:].split("::", 1)
    name, _, props = command_part.partition(" ")
    properties = {}
    for pair in filter(None, props.split(",")):
        key, value = pair.split("=", 1)
        properties[key] = (
            value.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
        )
    message = message.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
    return name, properties, message


def test_github_annotations(broken_repo: Path, runner: CliRunner) -> None:
    code, out = run(runner, broken_repo, "--format", "github")
    assert code == 1
    parsed = [parse_workflow_command(line) for line in out.splitlines()]
    by_level = {name: (props, message) for name, props, message in parsed}
    props, message = by_level["error"]
    assert props == {
        "file": "strategies/demo/rules/main.yaml",
        "line": "7",
        "col": "33",
        "title": "modctl R014",
    }
    assert message.startswith("rule 'fake-brand': regex '(?<!genuine )leather' uses a negative")
    assert by_level["warning"][0]["file"] == "strategies/demo/lists/spare.yaml"


def test_github_escapes_percent_comma_colon_newline() -> None:
    from modctl.findings import Finding, Report, Severity
    from modctl.reports.findings import github

    finding = Finding("S001", Severity.ERROR, "a,b:c%.yaml", "50% off\nnow", line=1, column=2)
    line = github(Report([finding], ["a,b:c%.yaml"]), strict=False)
    assert "\n" not in line
    name, props, message = parse_workflow_command(line)
    assert (name, props["file"], message) == ("error", "a,b:c%.yaml", "50% off\nnow")


def test_strict_turns_warnings_into_failures(minimal_repo: Path, runner: CliRunner) -> None:
    write_files(
        minimal_repo,
        {"strategies/demo/lists/spare.yaml": BROKEN["strategies/demo/lists/spare.yaml"]},
    )
    assert run(runner, minimal_repo)[0] == 0
    code, out = run(runner, minimal_repo, "--strict")
    assert code == 1
    assert "warning B005" in out
    code, out = run(runner, minimal_repo, "--strict", "--format", "github")
    assert out.startswith("::error ")


def test_junit_report(broken_repo: Path, runner: CliRunner, tmp_path: Path) -> None:
    code, out = run(runner, broken_repo, "--format", "junit")
    assert code == 1
    report = tmp_path / "report.xml"
    report.write_text(out)
    xml = JUnitXml.fromfile(str(report))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert suite.tests == 6
    assert suite.failures == 1
    cases = {case.name: case for case in suite}
    failing = cases["strategies/demo/rules/main.yaml"]
    results = failing.result
    assert len(results) == 1
    assert isinstance(results[0], Failure)
    assert results[0].type == "R014"
    assert "7:33: error R014" in (results[0].text or "")
    warned = cases["strategies/demo/lists/spare.yaml"]
    assert warned.is_passed
    assert warned.system_out == "1:7: warning B005 no rule references list 'spare'"
    assert cases["modctl.yaml"].is_passed
    assert cases["modctl.yaml"].system_out is None


def test_junit_strict_fails_the_file_with_warnings(
    broken_repo: Path, runner: CliRunner, tmp_path: Path
) -> None:
    code, out = run(runner, broken_repo, "--output", "junit", "--strict")
    assert code == 1
    report = tmp_path / "report.xml"
    report.write_text(out)
    (suite,) = list(JUnitXml.fromfile(str(report)))
    assert suite.failures == 2
    warned = {case.name: case for case in suite}["strategies/demo/lists/spare.yaml"]
    (failure,) = warned.result
    assert (failure.type, failure.message) == ("B005", "B005 no rule references list 'spare'")


class FileCase(TestCase):
    file = Attr()


def test_junit_writer_as_junitparser_reads_it() -> None:
    from modctl.reports import junit

    document = junit.document(
        "modctl <check>",
        [
            junit.Suite(
                "bundle & co",
                [
                    junit.Case(
                        'case "one" [SG]',
                        "modctl.bundle",
                        file="tests/a.yaml",
                        failure=junit.Failure("expected <b>", "expectation", "line 1\nline 2 & 3"),
                    ),
                    junit.Case("case two", "modctl.bundle", output="kept\nfor later"),
                    junit.Case("bell\x07 \ud800 case", "modctl.bundle"),
                ],
            ),
            junit.Suite("empty"),
        ],
    )
    xml = JUnitXml.fromstring(document.encode())
    assert xml.name == "modctl <check>"
    first, empty = list(xml)
    assert (first.name, first.tests, first.failures, first.errors, first.skipped) == (
        "bundle & co",
        3,
        1,
        0,
        0,
    )
    assert (empty.name, empty.tests, empty.failures) == ("empty", 0, 0)
    failing, kept, odd = list(first)
    assert (failing.name, failing.classname) == ('case "one" [SG]', "modctl.bundle")
    assert FileCase.fromelem(failing).file == "tests/a.yaml"
    (failure,) = failing.result
    assert isinstance(failure, Failure)
    assert (failure.message, failure.type, failure.text) == (
        "expected <b>",
        "expectation",
        "line 1\nline 2 & 3",
    )
    assert failing.system_out is None
    assert kept.is_passed
    assert kept.system_out == "kept\nfor later"
    assert FileCase.fromelem(kept).file is None
    assert odd.name == "bell\\x07 \\ud800 case"
