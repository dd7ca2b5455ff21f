from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from modctl import __version__
from modctl.cli import app
from modctl.cli._app import _Boundary


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"modctl {__version__}\n"


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "validate", "schema"):
        assert command in result.output


def test_python_dash_m(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modctl", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"modctl {__version__}"


def test_start_up_does_not_import_the_heavy_stack() -> None:
    code = (
        "import sys, modctl.cli; "
        "print(sorted(m for m in ('git', 'jsonschema_rs', 'yaml', 'tabulate') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_unexpected_error_prints_one_line_and_saves_the_traceback(
    runner: CliRunner, tmp_path: Path
) -> None:
    crashing = typer.Typer(cls=_Boundary)

    @crashing.command()
    def boom() -> None:
        raise KeyError("surprise")

    @crashing.command()
    def other() -> None:
        """Two commands, so Typer keeps the group."""

    result = runner.invoke(crashing, ["boom"])
    assert result.exit_code == 70
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "modctl: internal error: KeyError: 'surprise'; the full traceback is in "
    )
    saved = Path(lines[0].split(" is in ")[1].split(";")[0])
    assert "Traceback (most recent call last)" in saved.read_text()
    assert "Traceback" not in result.output


def test_an_unexpected_error_of_many_lines_prints_its_first(runner: CliRunner) -> None:
    """An error whose message holds a stack trace (py4j's, of a Java exception) is one line
    too: it printed the whole Java stack trace."""
    crashing = typer.Typer(cls=_Boundary)

    @crashing.command()
    def boom() -> None:
        raise RuntimeError(
            "An error occurred while calling o112.collectToPython.\n"
            ": org.apache.spark.SparkException: Job aborted\n\tat org.apache.spark.Thing(X.scala:1)"
        )

    @crashing.command()
    def other() -> None:
        """Two commands, so Typer keeps the group."""

    result = runner.invoke(crashing, ["boom"])
    assert result.exit_code == 70
    (line,) = result.output.strip().splitlines()
    assert line.startswith(
        "modctl: internal error: RuntimeError: An error occurred while calling "
        "o112.collectToPython.; the full traceback is in "
    )
    saved = Path(line.split(" is in ")[1].split(";")[0])
    assert "org.apache.spark.SparkException: Job aborted" in saved.read_text()


def test_explain_a_code(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "--explain", "y003"])
    assert result.exit_code == 0
    assert result.output.startswith("Y003 (error): anchor or alias")


def test_explain_an_unknown_code(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "--explain", "R07"])
    assert result.exit_code == 2
    assert "did you mean 'R007'?" in result.output


def test_explain_a_retired_code(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "--explain", "r008"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "R008: catastrophic regex: retired, because modctl runs regexes in linear time"
    )


def test_explain_in_json(runner: CliRunner) -> None:
    from modctl.lint.catalogue import CHECKS

    result = runner.invoke(app, ["validate", "--explain", "-o", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [entry["code"] for entry in listed] == list(CHECKS)
    assert set(listed[0]) == {"code", "severity", "title", "explanation"}
    result = runner.invoke(app, ["validate", "--explain", "R014", "R008", "-o", "json"])
    assert [entry["code"] for entry in json.loads(result.output)] == ["R014", "R008"]


def test_explain_without_a_code_lists_every_code(runner: CliRunner) -> None:
    from modctl.lint.catalogue import CHECKS

    result = runner.invoke(app, ["validate", "--explain"])
    assert result.exit_code == 0, result.output
    rows = [line.split(None, 2) for line in result.output.splitlines()[: len(CHECKS)]]
    assert rows == [[c.code, c.severity.value, c.title] for c in CHECKS.values()]


def test_explain_several_codes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "--explain", "Y003", "r014"])
    assert result.exit_code == 0, result.output
    first, second = result.output.split("\n\nR014 (")
    assert first.startswith("Y003 (error): anchor or alias")
    assert second.startswith("error)")


def test_every_code_is_in_the_finding_codes_page() -> None:
    from modctl.lint.catalogue import CHECKS

    readme = (Path(__file__).parent.parent / "docs" / "finding-codes.md").read_text()
    missing = [code for code in CHECKS if f"| {code} " not in readme]
    assert not missing, missing


def test_validate_paths_select_bundles(minimal_repo: Path, runner: CliRunner) -> None:
    (minimal_repo / "strategies/other").mkdir()
    (minimal_repo / "README.md").write_text("# strategies\n")
    result = runner.invoke(app, ["validate", str(minimal_repo / "strategies/demo/rules/main.yaml")])
    assert result.exit_code == 0, result.output
    assert "5 files checked, no problems" in result.output
    result = runner.invoke(app, ["validate", str(minimal_repo / "strategies")])
    assert result.exit_code == 1
    assert "B001" in result.output
    result = runner.invoke(
        app, ["--repo", str(minimal_repo), "validate", str(minimal_repo / "README.md")]
    )
    assert result.exit_code == 2
    assert "is not part of modctl.yaml, strategies/ or playbooks/" in result.output


def test_output_cut_short_by_the_reader_is_not_an_error(tmp_path: Path) -> None:
    """`modctl log | head` must not end in an internal error when head stops reading."""
    import os

    read, write = os.pipe()
    os.close(read)  # the reader is gone before modctl writes a byte
    done = subprocess.run(
        [sys.executable, "-m", "modctl", "schema"],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    os.close(write)
    assert done.stderr == ""
    assert done.returncode == 0
