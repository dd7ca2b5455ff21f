"""Every bad input of the foundation issue: exit 1 or 2, one located line, no traceback,
nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from modctl.cli import app
from tests.conftest import (
    MINIMAL,
    commit_minimal,
    modctl,
    run,
    run_git,
    snapshot,
    write_files,
)

RULES = "strategies/demo/rules/main.yaml"
BILLION_LAUGHS = (
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    + "".join(
        f"{chr(99 + i)}: &{chr(99 + i)} [{', '.join([f'*{chr(98 + i)}'] * 9)}]\n" for i in range(7)
    )
)

BAD_FILES: list[tuple[str, str | bytes, str, str]] = [
    ("malformed", "- id: a\n  when: {field: title\n", "Y001", r"3:1"),
    ("tab-indented", "- id: a\n\twhen: {}\n", "Y008", r"2:1"),
    ("not-utf8", "- id: caf\xe9\n".encode("latin-1"), "Y005", r"1:10"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "Y006", r"3:1"),
    ("empty", "", "Y007", r"1:1"),
    ("duplicate-key", "- id: a\n  action: warn\n  action: takedown\n", "Y002", r"3:3"),
    ("billion-laughs", BILLION_LAUGHS, "Y003", r"1:4"),
    ("rule-is-a-list", "- [id, a]\n", "S001", r"1:3"),
    (
        "wrong-type-deep-in-condition",
        "- id: a\n  action: warn\n  when:\n    all:\n      - any:\n"
        "          - not: {field: price, lt: cheap}\n",
        "S001",
        r"6:37",
    ),
    (
        "unknown-operator",
        "- id: a\n  action: warn\n  when: {field: title, containz: {list: brands}}\n",
        "S001",
        r"3:24",
    ),
    (
        "five-thousand-digits",
        f"- id: a\n  action: warn\n  params: {{max: {'9' * 5000}}}\n",
        "Y012",
        r"3:17",
    ),
    ("infinite-param", "- id: a\n  action: warn\n  params: {max: .inf}\n", "Y012", r"3:17"),
    ("nan-param", "- id: a\n  action: warn\n  params: {max: .nan}\n", "Y012", r"3:17"),
    (
        "regex-with-a-backreference",
        "- id: fake-brand\n  action: warn\n  when: {field: title, matches: '(x)\\1'}\n",
        "R014",
        r"3:33",
    ),
]


@pytest.mark.parametrize(
    ("content", "code", "where"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_rules_file(
    minimal_repo: Path, runner: CliRunner, content: str | bytes, code: str, where: str
) -> None:
    write_files(minimal_repo, {RULES: content})
    before = snapshot(minimal_repo)
    result = runner.invoke(app, ["--repo", str(minimal_repo), "validate"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if ": error " in line]
    assert len(errors) == 1, result.output
    assert re.match(rf"{re.escape(RULES)}:{where}: error {code} \S", errors[0]), errors[0]
    assert snapshot(minimal_repo) == before


def test_oversize_file_is_refused_without_reading_it(minimal_repo: Path, runner: CliRunner) -> None:
    big = minimal_repo / "strategies/demo/lists/huge.yaml"
    with big.open("wb") as handle:  # sparse: 50 MB on paper, nothing on disk
        handle.truncate(50 * 1024 * 1024)
    result = runner.invoke(app, ["--repo", str(minimal_repo), "validate"])
    assert result.exit_code == 1, result.output
    assert (
        "strategies/demo/lists/huge.yaml:1:1: error Y004 file is 52,428,800 bytes; the limit is "
        "8,388,608 bytes (8 MiB)" in result.output
    )


def test_path_that_does_not_exist(minimal_repo: Path, runner: CliRunner) -> None:
    missing = minimal_repo / "strategies" / "nope"
    result = runner.invoke(app, ["validate", str(missing)])
    assert result.exit_code == 2
    assert result.output.strip() == f"modctl: error: {missing}: no such file or folder"


def test_folder_without_modctl_yaml_says_where_it_looked(
    tmp_path: Path, runner: CliRunner, chdir: object
) -> None:
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    chdir(folder)  # type: ignore[operator]
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"no modctl.yaml in {folder} or any folder above it" in result.output
    assert "up to /" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_path_outside_the_repository(
    minimal_repo: Path, tmp_path_factory: pytest.TempPathFactory, runner: CliRunner
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere")
    result = runner.invoke(app, ["--repo", str(minimal_repo), "validate", str(outside)])
    assert result.exit_code == 2
    assert "is outside the strategy repository" in result.output


def test_file_outside_the_repository_of_the_current_folder(
    minimal_repo: Path, tmp_path_factory: pytest.TempPathFactory, runner: CliRunner, chdir: object
) -> None:
    """No repository holds the file: the one of the current folder is the one it is outside."""
    outside = tmp_path_factory.mktemp("elsewhere") / "x.yaml"
    outside.write_text("- id: a\n  action: warn\n")
    chdir(minimal_repo)  # type: ignore[operator]
    result = runner.invoke(app, ["validate", str(outside)])
    assert result.exit_code == 2
    assert result.output == (
        f"modctl: error: {outside} is outside the strategy repository at {minimal_repo}\n"
    )


@pytest.mark.parametrize("command", [["validate"], ["log"], ["rollout", "status"]])
def test_repo_that_does_not_exist_is_named(
    tmp_path: Path, runner: CliRunner, command: list[str]
) -> None:
    missing = tmp_path / "nope"
    result = runner.invoke(app, ["--repo", str(missing), *command])
    assert result.exit_code == 2
    assert result.output == f"modctl: error: --repo {missing}: the folder does not exist\n"


def test_symlink_escaping_the_repository_is_not_read(
    minimal_repo: Path, tmp_path_factory: pytest.TempPathFactory, runner: CliRunner
) -> None:
    secret = tmp_path_factory.mktemp("secret") / "secret.yaml"
    secret.write_text("password: hunter2\n")
    (minimal_repo / "strategies/demo/lists/leak.yaml").symlink_to(secret)
    result = runner.invoke(app, ["--repo", str(minimal_repo), "validate"])
    assert result.exit_code == 1
    assert "points outside the repository" in result.output
    assert "hunter2" not in result.output


def test_malformed_modctl_yaml(minimal_repo: Path, runner: CliRunner) -> None:
    write_files(minimal_repo, {"modctl.yaml": "version: 1\nregions: [SG\n"})
    result = runner.invoke(app, ["--repo", str(minimal_repo), "validate"])
    assert result.exit_code == 1
    assert re.search(r"^modctl.yaml:3:1: error Y001 invalid YAML", result.output, re.M), (
        result.output
    )


def test_unknown_format_is_a_usage_error(minimal_repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["--repo", str(minimal_repo), "validate", "--format", "xml"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


LONG = "a" * 5000
# Each ended in an internal error (exit 70): the system refused a name too long to look up.
TOO_LONG: dict[str, tuple[list[str], str]] = {
    "repo": (["--repo", LONG, "validate"], "--repo 'aaaa"),
    "validate-path": (["validate", f"strategies/{LONG}"], "PATHS 'strategies/aaaa"),
    "backtest-data": (["backtest", "demo", "--data", LONG], "--data 'aaaa"),
    "init-folder": (["init", LONG], "DIRECTORY 'aaaa"),
    "release-bundle": (["release", "cut", LONG], "bundle name 'aaaa"),
    "rollout-bundle": (["rollout", "start", LONG, "1.0.0"], "bundle name 'aaaa"),
    "test-bundle": (["test", "demo", LONG], "bundle name 'aaaa"),
}


@pytest.mark.parametrize(("args", "named"), list(TOO_LONG.values()), ids=list(TOO_LONG))
def test_name_of_five_thousand_characters_is_one_line(
    committed_repo: git.Repo, args: list[str], named: str
) -> None:
    root = Path(committed_repo.working_dir)
    before = snapshot(root)
    done = modctl(*args, cwd=root)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"modctl: error: {named}"), line
    assert re.search(r"\(50\d\d characters\)", line), line
    assert len(line) < 250
    assert snapshot(root) == before


@pytest.mark.parametrize("option", ["diff", "--rev", "--baseline"])
def test_revision_naming_a_path_outside_is_one_line(
    committed_repo: git.Repo, option: str, tmp_path: Path
) -> None:
    root = Path(committed_repo.working_dir)
    item = tmp_path / "item.json"
    item.write_text('{"id": "1", "region": "SG", "title": "x"}')
    args = {
        "diff": ["diff", "demo", "HEAD:../../etc"],
        "--rev": ["explain", "demo", "--item", str(item), "--rev", "HEAD:../../etc"],
        "--baseline": ["backtest", "demo", "--data", str(item), "--baseline", "HEAD:../../etc"],
    }[option]
    done = modctl(*args, cwd=root)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "modctl: error: revision 'HEAD:../../etc' does not exist; give a commit, branch or tag "
        "(see `git log`)\n"
    )


@pytest.mark.parametrize("bake", ["99999999999h", "9" * 5000 + "h"])
def test_a_bake_time_no_clock_can_hold_is_a_schema_error_not_a_crash(
    tmp_path: Path, bake: str
) -> None:
    root = commit_minimal(tmp_path / "repo")
    runner = CliRunner()
    for args in (("release", "cut", "demo"), ("rollout", "start", "demo", "0.1.0")):
        assert run(runner, root, *args)[0] == 0
    config = MINIMAL["modctl.yaml"].replace("rollout:\n", f"rollout:\n  min_bake: {bake}\n")
    write_files(root, {"modctl.yaml": config})
    code, out = run(runner, root, "validate")
    assert code == 1, out
    assert "S001" in out
    run_git(root, "commit", "-qam", "a bake no clock can hold")
    code, out = run(runner, root, "rollout", "promote", "demo", "--region", "SG", "--force")
    assert code == 1, out
    assert "modctl.yaml at HEAD is invalid: S001" in out
