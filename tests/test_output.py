"""Every command that reports takes `--output json` (short `-o`) and prints one JSON document,
on a real strategy repository whose state branch was built with the real commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from modctl.cli import app
from tests.conftest import SAMPLE, copy_reference

ITEM = {"id": "L-1", "region": "SG", "title": "GUCCI bag", "brand": "Gucci", "price": 120}

# One invocation per command, run against the staged repository (see `stage`); writers run with
# --dry-run, each where the state allows it. A new command needs a line here.
INVOCATIONS = {
    "init": "init {new}",
    "new bundle": "new bundle knockoff-toys --dry-run",
    "new rule": "new rule ipr-counterfeit fake-watch --field title --op matches --value fake "
    "--action warn --file rules/price.yaml --dry-run",
    "fmt": "fmt --check",
    "validate": "validate",
    "test": "test",
    "schema": "schema",
    "diff": "diff ipr-counterfeit HEAD",
    "backtest": "backtest ipr-counterfeit --data {sample}",
    "explain": "explain ipr-counterfeit --item {item}",
    "release cut": "release cut ipr-counterfeit --version 2.0.0 --dry-run",
    "release list": "release list",
    "release show": "release show ipr-counterfeit 1.0.0",
    "rollout start": "rollout start ipr-counterfeit 1.1.0 -r MY --dry-run",
    "rollout promote": "rollout promote ipr-counterfeit -r SG --force --dry-run",
    "rollout demote": "rollout demote ipr-counterfeit -r SG --dry-run",
    "rollout analyze": "rollout analyze ipr-counterfeit --metrics {metrics} --dry-run",
    "rollout advance": "rollout advance ipr-counterfeit --metrics {metrics} --dry-run",
    "rollout pause": "rollout pause ipr-counterfeit -r SG --dry-run",
    "rollout resume": "rollout resume ipr-brand-misuse -r SG --dry-run",
    "rollout abort": "rollout abort ipr-counterfeit -r SG --dry-run",
    "rollout status": "rollout status",
    "status": "status ipr-counterfeit",
    "rollback": "rollback ipr-counterfeit -r SG --dry-run",
    "freeze": "freeze -r SG --dry-run",
    "unfreeze": "unfreeze -r SG --dry-run",
    "hotpatch fold": "hotpatch fold {hotpatch} --dry-run",
    "render": "render ipr-counterfeit -r SG",
    "sync": "sync",
    "log": "log",
    "audit verify": "audit verify",
    "hotpatch apply": "hotpatch apply ipr-counterfeit -r SG set_mode replica-phrasing-brand shadow "
    "--reason noisy --dry-run",
    "hotpatch list": "hotpatch list --all",
    "hotpatch expire": "hotpatch expire --dry-run",
    "hotpatch revert": "hotpatch revert {hotpatch} --dry-run",
    "incident show": "incident show INC-1",
    "incident report": "incident report INC-1",
    "report effectiveness": "report effectiveness ipr-counterfeit --metrics {metrics}",
    "report gaps": "report gaps ipr-counterfeit --data {sample}",
    "emergency list": "emergency list",
    "emergency show": "emergency show disable-rule",
    "emergency run": "emergency run shadow-rule -p bundle=ipr-counterfeit -p "
    "rule=replica-phrasing-brand -p regions=SG --incident INC-1 --reason noisy --dry-run",
    "demo": "demo",
}


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every command that runs, subcommands included, by its full name."""
    if isinstance(command, TyperGroup):
        for name in sorted(command.list_commands(None)):  # type: ignore[arg-type]
            yield from commands(command.get_command(None, name), (*path, name))  # type: ignore[arg-type]
    else:
        yield " ".join(path), command


COMMANDS = dict(commands(typer.main.get_command(app)))


def stage(base: Path, runner: CliRunner) -> Path:
    """The reference repository with a local remote and a state branch where ipr-counterfeit has
    1.1.0 stable in SG over 1.0.0 and 1.2.0 as canary with a hot-patch, and ipr-brand-misuse a
    canary paused under incident INC-1."""
    remote = base / "remote.git"
    git.Repo.init(remote, bare=True)
    root = base / "repo"
    root.mkdir()
    copy_reference(root)
    config = root / "modctl.yaml"
    state = "state:\n  branch: modctl-state\n"
    assert state in config.read_text()
    config.write_text(config.read_text().replace(state, state + "  remote: origin\n"))
    repo = git.Repo.init(root)
    repo.git.add(".")
    repo.git.commit("-qm", "strategies")
    repo.create_remote("origin", str(remote))
    repo.git.push("-q", "origin", "HEAD:refs/heads/main")
    steps = [
        *(
            step
            for version in ("1.0.0", "1.1.0")
            for step in (
                ("release", "cut", "ipr-counterfeit", "--version", version),
                ("rollout", "start", "ipr-counterfeit", version),
                ("rollout", "promote", "ipr-counterfeit", "-r", "SG", "--full", "--force"),
            )
        ),
        ("release", "cut", "ipr-counterfeit", "--version", "1.2.0"),
        ("rollout", "start", "ipr-counterfeit", "1.2.0", "--at-step", "2"),
        ("release", "cut", "ipr-brand-misuse", "--version", "1.0.0"),
        ("rollout", "start", "ipr-brand-misuse", "1.0.0"),
        ("rollout", "pause", "ipr-brand-misuse", "-r", "SG", "--incident", "INC-1"),
        (
            *("hotpatch", "apply", "ipr-counterfeit", "-r", "SG", "disable_rule"),
            *("lux-unauthorized-cheap", "--reason", "overturns doubled"),
        ),
    ]
    for step in steps:
        result = runner.invoke(app, ["--repo", str(root), *step])
        assert result.exit_code == 0, (step, result.output)
    return root


STAGED = pytest.StashKey[Path]()


@pytest.fixture
def staged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once for the whole run: the commands under test only read it or dry-run."""
    stash = request.config.stash
    if STAGED not in stash:
        stash[STAGED] = stage(tmp_path_factory.mktemp("staged"), CliRunner())
    return stash[STAGED]


def test_every_command_has_an_invocation() -> None:
    assert sorted(COMMANDS) == sorted(INVOCATIONS)


def output_flags(name: str) -> set[str]:
    return {
        flag
        for param in COMMANDS[name].params
        if "--output" in param.opts
        for flag in (*param.opts, *param.secondary_opts)
    }


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_prints_json_with_output_json(
    name: str, staged: Path, tmp_path: Path, runner: CliRunner
) -> None:
    assert "--output" in output_flags(name), f"{name} reports but takes no --output"
    item = tmp_path / "item.json"
    item.write_text(json.dumps(ITEM))
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "region,bundle,variant,window_start,window_end,decisions,takedowns,appeals,"
        "appeals_overturned,rule\n"
        "SG,ipr-counterfeit,canary,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,100,10,20,2,\n"
        "SG,ipr-counterfeit,canary,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,60,6,12,1,"
        "lux-unauthorized-cheap\n"
    )
    listed = runner.invoke(app, ["--repo", str(staged), "hotpatch", "list", "-o", "json"])
    (hotpatch,) = [row["id"] for row in json.loads(listed.stdout)["hotpatches"]]
    args = [
        word.format(
            new=tmp_path / "new", item=item, sample=SAMPLE, metrics=metrics, hotpatch=hotpatch
        )
        for word in INVOCATIONS[name].split()
    ]
    result = runner.invoke(app, ["--repo", str(staged), *args, "--output", "json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_output_has_the_short_flag(name: str) -> None:
    assert "-o" in output_flags(name), f"{name} reports but takes no -o"


def test_render_json_is_exactly_what_the_platform_loads(staged: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["--repo", str(staged), "render", "ipr-counterfeit", "-r", "SG", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    deployed = git.Repo(staged).git.show("modctl-state:deploy/SG/ipr-counterfeit.json")
    assert result.stdout == deployed
