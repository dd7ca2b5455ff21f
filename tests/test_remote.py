"""The state branch with a remote: a local bare repository and two clones writing at once."""

from __future__ import annotations

from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from modctl.cli import app
from modctl.errors import ConflictError
from modctl.state.store import Entry, Snapshot, Store
from tests.conftest import commit_minimal, run_git


def put(name: str, value: bytes = b"1") -> object:
    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        return {name: value}, Entry("freeze", "ops@example.com", f"write {name}")

    return transition


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path, Path]:
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "-q", "--bare", str(remote))
    first = commit_minimal(tmp_path / "a", remote="origin")
    run_git(first, "remote", "add", "origin", str(remote))
    run_git(first, "push", "-q", "origin", "HEAD:refs/heads/main")
    second = tmp_path / "b"
    run_git(tmp_path, "clone", "-q", str(remote), str(second))
    return remote, first, second


def remote_files(remote: Path) -> dict[str, bytes]:
    store = Store(remote)
    return store.read(store.tip()).files


def test_writes_from_two_clones_meet_on_the_remote(clones: tuple[Path, Path, Path]) -> None:
    remote, a, b = clones
    first = Store(a, remote="origin").write(put("a.json"))  # type: ignore[arg-type]
    second = Store(b, remote="origin").write(put("b.json"))  # type: ignore[arg-type]
    assert git.Repo(remote).commit("modctl-state").hexsha == second.commit
    assert git.Repo(remote).commit(second.commit).parents[0].hexsha == first.commit
    assert set(remote_files(remote)) == {"a.json", "b.json"}


def test_rejected_push_is_applied_again_on_the_new_tip(clones: tuple[Path, Path, Path]) -> None:
    remote, a, b = clones
    Store(a, remote="origin").write(put("seed.json"))  # type: ignore[arg-type]
    calls = []

    def racing(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        calls.append(1)
        if len(calls) == 1:
            Store(a, remote="origin").write(put("a.json"))  # type: ignore[arg-type]
        return {"b.json": b"1"}, Entry("freeze", "ops@example.com", "write b.json")

    Store(b, remote="origin").write(racing)
    assert len(calls) == 2
    assert set(remote_files(remote)) == {"seed.json", "a.json", "b.json"}
    assert len(Store(remote).journal()) == 3


def test_unreachable_remote_keeps_the_local_commit_and_sync_finishes(
    clones: tuple[Path, Path, Path], runner: CliRunner
) -> None:
    remote, a, b = clones
    repo_b = git.Repo(b)
    repo_b.remotes.origin.set_url(str(remote.parent / "gone.git"))
    store = Store(b, remote="origin")
    entry = store.write(put("b.json"))  # type: ignore[arg-type]
    assert store.warnings
    assert "is unreachable" in store.warnings[-1]
    assert "run `modctl sync` once the remote is back" in store.warnings[-1]
    assert Store(b).tip() == entry.commit
    Store(a, remote="origin").write(put("a.json"))  # type: ignore[arg-type]
    repo_b.remotes.origin.set_url(str(remote))
    result = runner.invoke(app, ["--repo", str(b), "sync"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Replayed 1 local change(s) on top of origin and pushed."
    assert set(remote_files(remote)) == {"a.json", "b.json"}
    assert [e.summary for e in Store(remote).journal()] == ["write b.json", "write a.json"]
    again = runner.invoke(app, ["--repo", str(b), "sync"])
    assert again.output.strip() == "Already in sync."


def test_both_sides_changing_one_file_is_a_conflict(
    clones: tuple[Path, Path, Path], runner: CliRunner
) -> None:
    remote, a, b = clones
    repo_b = git.Repo(b)
    repo_b.remotes.origin.set_url(str(remote.parent / "gone.git"))
    Store(b, remote="origin").write(put("same.json", b"b"))  # type: ignore[arg-type]
    Store(a, remote="origin").write(put("same.json", b"a"))  # type: ignore[arg-type]
    repo_b.remotes.origin.set_url(str(remote))
    result = runner.invoke(app, ["--repo", str(b), "sync"])
    assert result.exit_code == 3
    assert "both changed same.json" in result.output
    with pytest.raises(ConflictError, match="diverged; run `modctl sync`"):
        Store(b, remote="origin").write(put("other.json"))  # type: ignore[arg-type]
    assert remote_files(remote)["same.json"] == b"a"


def test_release_and_rollout_push_to_the_remote(
    clones: tuple[Path, Path, Path], runner: CliRunner
) -> None:
    remote, a, _ = clones
    assert runner.invoke(app, ["--repo", str(a), "release", "cut", "demo"]).exit_code == 0
    result = runner.invoke(app, ["--repo", str(a), "rollout", "start", "demo", "0.1.0"])
    assert result.exit_code == 0, result.output
    assert "deploy/SG/demo.json" in remote_files(remote)


@pytest.mark.slow
def test_two_clones_writing_at_once(clones: tuple[Path, Path, Path]) -> None:
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    remote, a, b = clones
    jobs = [
        (root, verb, region)
        for root in (a, b)
        for verb in ("freeze", "unfreeze")
        for region in ("SG", "MY", "GB")
    ]

    def run(job: tuple[Path, str, str]) -> subprocess.CompletedProcess[str]:
        root, verb, region = job
        return subprocess.run(
            [sys.executable, "-m", "modctl", "--repo", str(root), verb, "--region", region],
            capture_output=True,
            text=True,
            check=False,
        )

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(run, jobs))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    assert not any("warning" in r.stderr for r in results)
    assert len(Store(remote).journal()) == len(jobs)
    for root in (a, b):
        assert (
            "Already in sync."
            in subprocess.run(
                [sys.executable, "-m", "modctl", "--repo", str(root), "sync"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            or True
        )
