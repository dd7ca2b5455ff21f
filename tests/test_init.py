from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from modctl.cli import app
from modctl.source.scaffold import plan
from tests.conftest import modctl, snapshot


def test_init_creates_a_valid_committed_repository(tmp_path: Path, runner: CliRunner) -> None:
    target = tmp_path / "strategies-repo"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert "new git repository" in result.output
    assert "Next steps:" in result.output
    repo = git.Repo(target)
    assert not repo.is_dirty(untracked_files=True)
    committed = {item.path for item in repo.head.commit.tree.traverse() if item.type == "blob"}
    assert committed == set(plan())
    assert {"modctl.yaml", ".pre-commit-config.yaml"} <= committed
    assert any(p.startswith("playbooks/") for p in committed)
    assert len({p.split("/")[1] for p in committed if p.startswith("strategies/")}) >= 3
    checked = runner.invoke(app, ["--repo", str(target), "validate"])
    assert checked.exit_code == 0, checked.output


def test_init_refuses_to_overwrite(tmp_path: Path, runner: CliRunner) -> None:
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    (tmp_path / "modctl.yaml").write_text("# my own\n")
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 4
    assert "already exist" in result.output
    assert "--force" in result.output
    assert snapshot(tmp_path) == before


def test_init_force_overwrites_and_commits(tmp_path: Path, runner: CliRunner) -> None:
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    (tmp_path / "modctl.yaml").write_text("# my own\n")
    result = runner.invoke(app, ["init", "--force", str(tmp_path)])
    assert result.exit_code == 0, result.output
    repo = git.Repo(tmp_path)
    assert not repo.is_dirty(untracked_files=True)
    assert len(list(repo.iter_commits())) == 1  # unchanged content: nothing new to commit


def test_init_inside_an_existing_repository_commits_only_its_files(
    tmp_path: Path, runner: CliRunner
) -> None:
    repo = git.Repo.init(tmp_path)
    (tmp_path / "notes.txt").write_text("work in progress\n")
    repo.index.add(["notes.txt"])
    result = runner.invoke(app, ["init", str(tmp_path / "moderation")])
    assert result.exit_code == 0, result.output
    assert "existing git repository" in result.output
    committed = {item.path for item in repo.head.commit.tree.traverse() if item.type == "blob"}
    assert "notes.txt" not in committed
    assert "moderation/modctl.yaml" in committed
    assert [d.a_path for d in repo.index.diff("HEAD")] == ["notes.txt"]  # still staged


def test_init_without_git_identity_writes_nothing(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tuseConfigOnly = true\n")
    monkeypatch.setenv("HOME", str(home))
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(var, raising=False)
    target = tmp_path / "repo"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 2, result.output
    assert "git does not know who you are" in result.output
    assert not target.exists()


def test_init_without_git_says_so_plainly(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    env.pop("GIT_PYTHON_GIT_EXECUTABLE", None)
    target = tmp_path / "repo"
    done = subprocess.run(
        [sys.executable, "-m", "modctl", "init", str(target)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("modctl: error: git is not available")
    assert "Traceback" not in done.stderr
    assert not target.exists()


def test_init_dry_run_writes_nothing(tmp_path: Path, runner: CliRunner) -> None:
    target = tmp_path / "repo"
    result = runner.invoke(app, ["init", "--dry-run", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Would write {len(plan())} files in {target}")
    assert "  strategies/ipr-counterfeit/bundle.yaml\n" in result.output
    assert not target.exists()


def test_init_dry_run_shows_overwrites(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "modctl.yaml").write_text("# mine\n")
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["init", "--dry-run", "--force", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "  modctl.yaml  (overwrite)\n" in result.output
    assert snapshot(tmp_path) == before


def test_init_json_output(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["init", "--output", "json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["created_repo"] is True
    assert data["commit"] == git.Repo(tmp_path).head.commit.hexsha
    assert sorted(data["files"]) == sorted(plan())


@pytest.mark.parametrize("extra", [[], ["--dry-run"]], ids=["write", "dry-run"])
def test_init_refuses_a_folder_linked_outside_before_writing_anything(
    tmp_path: Path, extra: list[str]
) -> None:
    target, outside = tmp_path / "repo", tmp_path / "elsewhere"
    target.mkdir()
    outside.mkdir()
    (target / "strategies").symlink_to(outside)
    done = modctl("init", target, *extra)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"modctl: error: {target}/strategies leads outside {target} (to {outside}); "
        "modctl init writes only inside the repository: remove the link or choose another folder\n"
    )
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in target.iterdir()) == ["strategies"]


def test_init_force_never_writes_through_a_file_linked_outside(tmp_path: Path) -> None:
    target, precious = tmp_path / "repo", tmp_path / "precious.txt"
    target.mkdir()
    precious.write_text("keep me\n")
    (target / "modctl.yaml").symlink_to(precious)
    done = modctl("init", target, "--force")
    assert done.returncode == 2, done.stderr
    assert "modctl.yaml leads outside" in done.stderr
    assert precious.read_text() == "keep me\n"
    assert sorted(p.name for p in target.iterdir()) == ["modctl.yaml"]


def test_init_refuses_a_folder_linked_to_nothing_before_writing_anything(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    target.mkdir()
    (target / "strategies").symlink_to("nowhere")
    done = modctl("init", target)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"modctl: error: {target}/strategies is a link to nowhere, which does not exist; "
        "modctl init writes only through folders that exist: remove the link or choose another "
        "folder\n"
    )
    assert sorted(p.name for p in target.iterdir()) == ["strategies"]
