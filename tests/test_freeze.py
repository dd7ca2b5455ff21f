"""Freezes are holds with an owner: each records who, when, why and for which incident; freezing
what is frozen or lifting what is not writes nothing; lifting another incident's freeze takes
--force; the undo of a freeze lifts exactly what it froze."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl.state.files import freeze_of
from modctl.state.store import Store
from tests.conftest import run


@pytest.fixture
def repo(repo_after: Callable[..., Path]) -> Path:
    return repo_after(("release", "cut", "demo"))


def ok(root: Path, *args: str) -> str:
    code, out = run(CliRunner(), root, *args)
    assert code == 0, (args, out)
    return out


def undo_of(out: str) -> list[list[str]]:
    line = next(line for line in out.splitlines() if line.startswith("Undo: "))
    return [shlex.split(part)[1:] for part in line.removeprefix("Undo: ").split("; ")]


def holds(root: Path) -> dict[str, tuple[str | None, str | None]]:
    files = Store(root).read().files
    return {
        region: (hold.incident, hold.reason)
        for region in ("SG", "MY", "GB")
        if (hold := freeze_of(files, region)).frozen
    }


def test_a_freeze_records_its_owner(repo: Path) -> None:
    ok(
        repo,
        "freeze",
        "--region",
        "SG",
        "--reason",
        "bad keywords",
        "--incident",
        "INC-1",
        "--actor",
        "alice@example.com",
    )
    hold = freeze_of(Store(repo).read().files, "SG")
    assert (hold.frozen, hold.actor, hold.incident, hold.reason) == (
        True,
        "alice@example.com",
        "INC-1",
        "bad keywords",
    )
    assert hold.since is not None


def test_freezing_a_frozen_region_writes_nothing_and_says_so(repo: Path) -> None:
    ok(repo, "freeze", "--region", "SG", "--incident", "INC-1", "--actor", "alice@example.com")
    tip = Store(repo).tip()
    out = ok(repo, "freeze", "--region", "SG", "--incident", "INC-2")
    assert "SG frozen by alice@example.com since" in out
    assert "for INC-1; left as it is." in out
    assert "Nothing written." in out
    assert Store(repo).tip() == tip


def test_unfreezing_a_region_that_is_not_frozen_writes_nothing(repo: Path) -> None:
    tip = Store(repo).tip()
    out = ok(repo, "unfreeze", "--region", "MY")
    assert out == "MY is not frozen; nothing to lift.\nNothing written.\n"
    assert Store(repo).tip() == tip


def test_lifting_freezes_of_other_incidents_takes_force(repo: Path) -> None:
    ok(repo, "freeze", "--region", "SG", "--region", "MY", "--incident", "INC-1")
    ok(repo, "freeze", "--region", "GB", "--incident", "INC-2", "--reason", "flood")
    tip = Store(repo).tip()
    for args in (("--all",), ("--all", "--incident", "INC-1"), ("--region", "GB")):
        code, out = run(CliRunner(), repo, "unfreeze", *args)
        assert code == 4, (args, out)
        assert "GB frozen by" in out
        assert "for INC-2: flood" in out
        assert "--force to lift them" in out
        assert Store(repo).tip() == tip, args
    ok(repo, "unfreeze", "--region", "SG", "--incident", "INC-1")
    assert holds(repo) == {"MY": ("INC-1", None), "GB": ("INC-2", "flood")}
    out = ok(repo, "unfreeze", "--all", "--force", "--incident", "INC-3")
    assert holds(repo) == {}
    assert Store(repo).journal()[0].forced == "incident"
    assert "SG is not frozen; nothing to lift." in out
    assert ok(repo, "audit", "verify").endswith("state commits verified.\n")


def test_the_undo_of_a_freeze_lifts_only_what_it_froze(repo: Path) -> None:
    ok(repo, "freeze", "--region", "SG", "--incident", "INC-1", "--reason", "first")
    out = ok(repo, "freeze", "--all", "--incident", "INC-2", "--reason", "second")
    (undo,) = undo_of(out)
    assert undo == ["unfreeze", "--region", "GB", "--region", "MY", "--incident", "INC-2"]
    ok(repo, *undo)
    assert holds(repo) == {"SG": ("INC-1", "first")}


def test_the_undo_of_an_unfreeze_puts_each_freeze_back(repo: Path) -> None:
    ok(repo, "freeze", "--region", "SG", "--incident", "INC-1", "--reason", "it's bad")
    ok(repo, "freeze", "--region", "GB", "--incident", "INC-2")
    before = holds(repo)
    out = ok(repo, "unfreeze", "--all", "--force")
    undos = undo_of(out)
    assert len(undos) == 2
    for undo in undos:
        ok(repo, *undo)
    assert holds(repo) == before
    assert ok(repo, "audit", "verify").endswith("state commits verified.\n")
