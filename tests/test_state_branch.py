"""The state branch is never a source branch: `validate` refuses one that is checked out or holds
the bundles, and writes refuse while it is checked out."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl.state.store import Store
from tests.conftest import MINIMAL, commit_minimal, run, run_git, write_files


def on_branch(root: Path, branch: str) -> None:
    config = MINIMAL["modctl.yaml"] + f"state: {{branch: {branch}}}\n"
    write_files(root, {"modctl.yaml": config})
    run_git(root, "commit", "-qam", f"state on {branch}")


def test_validate_refuses_the_checked_out_branch_as_state_branch(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    branch = run_git(root, "branch", "--show-current").strip()
    on_branch(root, branch)
    code, out = run(CliRunner(), root, "validate")
    assert code == 1, out
    assert "C008" in out
    assert f"state.branch {branch!r} is the branch checked out in {root}" in out
    assert "modctl.yaml:" in out


def test_validate_refuses_a_branch_that_holds_the_bundles(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    run_git(root, "branch", "release-line")
    on_branch(root, "release-line")
    code, out = run(CliRunner(), root, "validate")
    assert code == 1, out
    assert "state.branch 'release-line' is a branch that holds modctl.yaml" in out
    # The check reads the branches each time: a cached report does not hide it.
    assert run(CliRunner(), root, "validate")[0] == 1


def test_the_default_state_branch_validates(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    assert run(CliRunner(), root, "freeze", "--region", "SG")[0] == 0
    code, out = run(CliRunner(), root, "validate")
    assert code == 0, out


def test_writes_refuse_while_the_state_branch_is_checked_out(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    branch = run_git(root, "branch", "--show-current").strip()
    head = run_git(root, "rev-parse", "HEAD").strip()
    on_branch(root, branch)
    moved = run_git(root, "rev-parse", "HEAD").strip()
    assert moved != head
    code, out = run(CliRunner(), root, "freeze", "--region", "SG")
    assert code == 2, out
    assert f"the state branch {branch} is checked out in {root}" in out
    assert run_git(root, "rev-parse", "HEAD").strip() == moved
    assert run_git(root, "status", "--porcelain") == ""


def test_writes_refuse_while_a_linked_worktree_has_the_state_branch(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    assert run(CliRunner(), root, "freeze", "--region", "SG")[0] == 0
    tip = Store(root).tip()
    run_git(root, "worktree", "add", "-q", str(tmp_path / "state"), "modctl-state")
    code, out = run(CliRunner(), root, "unfreeze", "--region", "SG")
    assert code == 2, out
    assert f"checked out in {tmp_path / 'state'}" in out
    assert Store(root).tip() == tip


@pytest.mark.parametrize("branch", ["HEAD", "refs/heads/main", "a..b", "state/", "x.lock"])
def test_a_state_branch_name_git_would_misread_is_a_schema_error(
    tmp_path: Path, branch: str
) -> None:
    root = commit_minimal(tmp_path / "repo")
    config = MINIMAL["modctl.yaml"] + f"state: {{branch: '{branch}'}}\n"
    write_files(root, {"modctl.yaml": config})
    code, out = run(CliRunner(), root, "validate")
    assert code == 1, out
    assert "S001" in out


def test_writes_refuse_a_state_branch_that_holds_the_bundles(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    main = run_git(root, "branch", "--show-current").strip()
    on_branch(root, main)
    run_git(root, "checkout", "-q", "-b", "feature")
    tip = run_git(root, "rev-parse", main).strip()
    code, out = run(CliRunner(), root, "freeze", "--region", "SG")
    assert code == 2, out
    assert f"the state branch {main} holds modctl.yaml" in out
    assert run_git(root, "rev-parse", main).strip() == tip
