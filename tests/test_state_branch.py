"""The state branch is never a source branch: `validate` refuses one that is checked out or holds
the bundles, and writes refuse while it is checked out."""

from __future__ import annotations

from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from modctl.state.store import Store
from tests.conftest import MINIMAL, commit_minimal, modctl, run, run_git, write_files


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


def _edit_config(root: Path, old: str, new: str) -> None:
    config = root / "modctl.yaml"
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, new))


def test_state_commands_warn_when_an_uncommitted_edit_changes_state(
    committed_repo: git.Repo,
) -> None:
    """An on-call engineer adds `state.remote` and forgets to commit: the state commands go on
    with the committed modctl.yaml, and say so in one line."""
    root = Path(committed_repo.working_dir)
    _edit_config(root, "metrics:", "state: {branch: modctl-state, remote: backup}\nmetrics:")
    for command in (["freeze", "-r", "SG", "--dry-run"], ["log"]):
        done = modctl("--repo", root, *command)
        assert done.returncode == 0, done.stderr
        assert done.stderr == (
            "modctl: warning: modctl.yaml in the working tree sets state.remote to 'backup' "
            "(committed: not set); state commands use the modctl.yaml committed at HEAD until "
            "you commit it\n"
        )


def test_an_uncommitted_edit_elsewhere_in_the_config_gives_no_warning(
    committed_repo: git.Repo,
) -> None:
    root = Path(committed_repo.working_dir)
    _edit_config(root, "regions: [SG, MY, GB]", "regions: [SG, MY, GB]  # GB from next week")
    done = modctl("--repo", root, "freeze", "-r", "SG", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
