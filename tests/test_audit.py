"""`modctl audit verify` accepts what modctl writes and names the first commit that breaks a promise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from modctl import yamlio
from modctl.state.store import Entry, Snapshot, Store
from tests.conftest import commit_minimal, run, run_git


@pytest.fixture
def history(repo_after: Callable[..., Path]) -> Path:
    return repo_after(
        ("release", "cut", "demo"),
        ("release", "cut", "demo"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "SG", "--full", "--force"),
        ("rollout", "start", "demo", "0.1.1"),
        ("rollout", "promote", "demo", "--region", "SG", "--full", "--force"),
        ("freeze", "--region", "SG"),
        ("rollback", "demo", "--region", "SG"),
    )


def write(root: Path, files: dict[str, bytes | None], entry: Entry) -> str:
    committed = Store(root).write(lambda snapshot: (files, entry)).commit
    assert committed is not None
    return committed


def test_what_modctl_writes_verifies(history: Path, runner: CliRunner) -> None:
    assert run(runner, history, "audit", "verify") == (0, "8 state commits verified.\n")


def test_a_commit_without_trailers(history: Path, runner: CliRunner) -> None:
    store = Store(history)
    tip = store.tip()
    tree = run_git(history, "rev-parse", f"{tip}^{{tree}}").strip()
    sneaky = run_git(history, "commit-tree", tree, "-p", str(tip), "-m", "hand edit").strip()
    run_git(history, "update-ref", "refs/heads/modctl-state", sneaky)
    code, out = run(runner, history, "audit", "verify")
    assert code == 1
    assert (
        f"audit failed at commit {sneaky[:12]} 'hand edit': no Modctl-Action or Modctl-Actor trailer"
        in out
    )


def test_changed_artifact(history: Path, runner: CliRunner) -> None:
    tamper = Entry("rollback", "x", "tamper", bundle="demo", region="SG", release="0.1.1")
    bad = write(history, {"artifacts/demo/0.1.0.json": b"{}"}, tamper)
    code, out = run(runner, history, "audit", "verify")
    assert code == 1
    assert (
        f"{bad[:12]} 'tamper': it writes artifacts/demo/0.1.0.json, which `rollback` does not "
        "touch here" in out
    )


def test_moved_tag(history: Path, runner: CliRunner) -> None:
    repo = git.Repo(history)
    (history / "notes.txt").write_text("x\n")
    repo.git.add("notes.txt")
    repo.git.commit("-qm", "second")
    repo.git.tag("-f", "modctl/demo/0.1.0", "HEAD")
    code, out = run(runner, history, "audit", "verify")
    assert code == 1
    assert "tag modctl/demo/0.1.0 does not point at the release's source commit" in out


def test_stable_changed_by_a_freeze(history: Path, runner: CliRunner) -> None:
    state = yamlio.loads(Store(history).read().files["regions/SG/demo.yaml"].decode())
    state["stable"] = "0.1.1"
    write(
        history,
        {"regions/SG/demo.yaml": yamlio.dump(state).encode()},
        Entry("freeze", "x", "sneak a release in", region="SG"),
    )
    code, out = run(runner, history, "audit", "verify")
    assert code == 1
    assert "it writes regions/SG/demo.yaml, which `freeze` does not touch here" in out


def test_start_while_frozen(history: Path, runner: CliRunner) -> None:
    snapshot: Snapshot = Store(history).read()
    state = yamlio.loads(snapshot.files["regions/SG/demo.yaml"].decode())
    state["canary"] = {
        "version": "0.1.1",
        "weight": 100,
        "step": 1,
        "since": "2026-01-01T00:00:00Z",
        "paused": False,
    }
    write(
        history,
        {"regions/SG/demo.yaml": yamlio.dump(state).encode()},
        Entry("start", "x", "start anyway", bundle="demo", region="SG", release="0.1.1"),
    )
    code, out = run(runner, history, "audit", "verify")
    assert code == 1
    assert "start does not apply to its parent's state: region SG is frozen" in out


def test_deploy_that_does_not_match_the_region_state(history: Path, runner: CliRunner) -> None:
    hand = Entry("freeze", "x", "hand-made deploy", region="SG")
    write(history, {"deploy/SG/demo.json": b"{}"}, hand)
    code, out = run(runner, history, "audit", "verify")
    assert code == 1
    assert "it writes deploy/SG/demo.json, which `freeze` does not touch here" in out


def test_a_state_file_written_around_modctl_is_one_clear_line(
    history: Path, runner: CliRunner
) -> None:
    write(
        history, {"regions/SG/demo.yaml": b"stable: [unclosed\n"}, Entry("freeze", "x", "hand edit")
    )
    for args in (("rollout", "status"), ("rollback", "demo", "--region", "SG")):
        code, out = run(runner, history, *args)
        assert code == 2, (args, out)
        assert "regions/SG/demo.yaml on the state branch is unreadable" in out
        assert "`modctl audit verify` names the commit" in out
        assert "Traceback" not in out
    code, out = run(runner, history, "audit", "verify")
    assert code == 1
    assert "'hand edit': it writes regions/SG/demo.yaml, which `freeze` does not touch" in out


def test_a_start_in_several_regions_verifies_whatever_their_order(
    tmp_path: Path, runner: CliRunner
) -> None:
    root = commit_minimal(tmp_path / "repo")
    (root / "strategies/demo/bundle.yaml").write_text("name: demo\nregions: [SG, MY, GB]\n")
    run_git(root, "commit", "-qam", "serve GB too")
    for args in (
        ("release", "cut", "demo"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "SG", "--full"),
        ("rollout", "start", "demo", "0.1.0", "--region", "MY", "--region", "GB"),
    ):
        code, out = run(runner, root, *args)
        assert code == 0, (args, out)
    assert "canary in GB 50%, MY 50%" in out
    assert run(runner, root, "audit", "verify") == (0, "4 state commits verified.\n")
