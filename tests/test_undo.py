"""Every write prints an "Undo:" line, and running it puts the regions back: the stable release,
the canary's version, step and pause, and the freezes, as they were before the write."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modctl.state.files import freeze_of, region_file, region_state
from modctl.state.store import Store
from tests.conftest import MINIMAL, commit_minimal, run, run_git, write_files

REGIONS = ("SG", "MY", "GB")
START = ("rollout", "start", "demo", "0.1.1")
PROMOTE = ("rollout", "promote", "demo", "--region", "SG")
FREEZE = ("freeze", "--region", "SG", "--incident", "INC-7", "--reason", "it's bad")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pilot wave of three steps (1, 10, 100); three releases; 0.1.0 stable in SG and MY."""
    root = commit_minimal(tmp_path_factory.mktemp("undo") / "repo")
    config = MINIMAL["modctl.yaml"].replace("steps: [10, 100]", "steps: [1, 10, 100]")
    write_files(root, {"modctl.yaml": config})
    run_git(root, "commit", "-qam", "three steps")
    for args in (
        ("release", "cut", "demo"),
        ("release", "cut", "demo"),
        ("release", "cut", "demo"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "SG", "--full"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "MY", "--full"),
    ):
        code, out = run(CliRunner(), root, *args)
        assert code == 0, (args, out)
    return root


def ok(root: Path, *args: str) -> str:
    code, out = run(CliRunner(), root, *args)
    assert code == 0, (args, out)
    return out


def regions(root: Path) -> dict[str, Any]:
    """What an undo restores, per region: stable, canary (version, step, weight, paused), freeze."""
    files = Store(root).read().files
    found: dict[str, Any] = {}
    for region in REGIONS:
        raw = files.get(region_file(region, "demo"))
        state = region_state(region_file(region, "demo"), raw) if raw else None
        canary = state.canary if state else None
        hold = freeze_of(files, region)
        found[region] = (
            state.stable if state else None,
            (canary.version, canary.step, canary.weight, canary.paused) if canary else None,
            (hold.frozen, hold.incident, hold.reason),
        )
    return found


CASES = {
    "start": ((), START),
    "start at a later step": ((), (*START, "--at-step", "2")),
    "promote a step": ((START,), PROMOTE),
    "promote to stable": ((START, PROMOTE), PROMOTE),
    "promote --full": ((START,), (*PROMOTE, "--full")),
    "demote": ((START, PROMOTE), ("rollout", "demote", "demo", "--region", "SG")),
    "pause": ((START,), ("rollout", "pause", "demo", "--region", "SG")),
    "resume": (
        (START, ("rollout", "pause", "demo", "--region", "SG")),
        ("rollout", "resume", "demo", "--region", "SG"),
    ),
    "abort": ((START, PROMOTE), ("rollout", "abort", "demo", "--region", "SG")),
    "abort a paused canary": (
        (START, ("rollout", "pause", "demo", "--region", "SG")),
        ("rollout", "abort", "demo", "--region", "SG"),
    ),
    "rollback --to": ((), ("rollback", "demo", "--region", "MY", "--to", "0.1.2")),
    "rollback during a canary": (
        (START, PROMOTE),
        ("rollback", "demo", "--region", "SG", "--to", "0.1.2"),
    ),
    "rollback to the previous stable": (
        (("rollback", "demo", "--region", "SG", "--to", "0.1.2"),),
        ("rollback", "demo", "--region", "SG"),
    ),
    "demote a paused canary": (
        (START, PROMOTE, ("rollout", "pause", "demo", "--region", "SG")),
        ("rollout", "demote", "demo", "--region", "SG"),
    ),
    "abort in a frozen region": (
        (START, PROMOTE, FREEZE),
        ("rollout", "abort", "demo", "--region", "SG"),
    ),
    "demote in a frozen region": (
        (START, PROMOTE, FREEZE),
        ("rollout", "demote", "demo", "--region", "SG"),
    ),
    "rollback during a canary in a frozen region": (
        (START, PROMOTE, ("rollout", "pause", "demo", "--region", "SG"), FREEZE),
        ("rollback", "demo", "--region", "SG", "--to", "0.1.2"),
    ),
    "freeze": ((), ("freeze", "--region", "SG", "--incident", "INC-1", "--reason", "why")),
    "unfreeze": (
        (("freeze", "--all", "--incident", "INC-1", "--reason", "flood"),),
        ("unfreeze", "--region", "MY", "--incident", "INC-1"),
    ),
    "unfreeze of several freezes": (
        (FREEZE, ("freeze", "--all", "--incident", "INC-1", "--reason", "flood")),
        ("unfreeze", "--all", "--force"),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_printed_undo_restores_the_state_before(base: Path, tmp_path: Path, case: str) -> None:
    setup, command = CASES[case]
    root = tmp_path / "repo"
    run_git(tmp_path, "clone", "-q", "--no-local", str(base), str(root))
    run_git(root, "fetch", "-q", "origin", "modctl-state:modctl-state")
    for args in setup:
        ok(root, *args)
    before = regions(root)
    out = ok(root, *command)
    assert regions(root) != before, out
    undo = next(line for line in out.splitlines() if line.startswith("Undo: "))
    for step in undo.removeprefix("Undo: ").split("; "):
        words = shlex.split(step)
        assert words[0] == "modctl", undo
        ok(root, *words[1:])
    assert regions(root) == before, undo
    assert ok(root, "audit", "verify").endswith("state commits verified.\n")


def test_the_first_stable_release_of_a_region_says_it_has_no_undo(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    ok(root, "release", "cut", "demo")
    ok(root, "rollout", "start", "demo", "0.1.0")
    out = ok(root, "rollout", "promote", "demo", "--region", "SG")
    assert "Undo: none: this is the first stable release of demo in SG" in out


def test_a_release_says_it_has_no_undo_and_why(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    out = ok(root, "release", "cut", "demo")
    assert out.endswith(
        "Undo: none: releases are immutable; 0.1.0 reaches no region until "
        "`modctl rollout start demo 0.1.0`\n"
    )
