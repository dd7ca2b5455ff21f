"""The state branch with a remote: a local bare repository and two clones writing at once."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from modctl import yamlio
from modctl.cli import app
from modctl.gitio import Done
from modctl.state.store import Entry, Snapshot, Store
from tests.conftest import commit_minimal, modctl, run_git


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


def test_release_and_rollout_push_to_the_remote(
    clones: tuple[Path, Path, Path], runner: CliRunner
) -> None:
    remote, a, _ = clones
    assert runner.invoke(app, ["--repo", str(a), "release", "cut", "demo"]).exit_code == 0
    result = runner.invoke(app, ["--repo", str(a), "rollout", "start", "demo", "0.1.0"])
    assert result.exit_code == 0, result.output
    assert "deploy/SG/demo.json" in remote_files(remote)


def test_first_write_while_another_clone_creates_the_remote_state_branch(
    clones: tuple[Path, Path, Path],
) -> None:
    """The remote has no state branch when this write fetches, and has one by the time it asks
    why the fetch failed: the remote is reachable, and the write must land there."""
    remote, a, b = clones
    store = Store(b, remote="origin")
    call = store.git.call

    def other_writer_first(
        *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> Done:
        if args[0] == "ls-remote" and Store(remote).tip() is None:
            Store(a, remote="origin").write(put("a.json"))  # type: ignore[arg-type]
        return call(*args, stdin=stdin, env=env)

    store.git.call = other_writer_first  # type: ignore[method-assign]
    store.write(put("b.json"))  # type: ignore[arg-type]
    assert store.warnings == []
    assert set(remote_files(remote)) == {"a.json", "b.json"}


@pytest.mark.slow
def test_two_clones_writing_at_once(clones: tuple[Path, Path, Path]) -> None:
    """Twelve freezes and unfreezes from two clones at once: the remote's journal holds each
    write once, each region's freeze is its last write, and neither clone is left ahead of the
    remote or off its history."""
    remote, a, b = clones
    regions = ("SG", "MY", "GB")
    jobs = [
        (root, verb, region, f"{root.name} {verb} {region}")
        for root in (a, b)
        for verb in ("freeze", "unfreeze")
        for region in regions
    ]

    def write(job: tuple[Path, str, str, str]) -> subprocess.CompletedProcess[str]:
        root, verb, region, reason = job
        return modctl("--repo", root, verb, "--region", region, "--reason", reason)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(write, jobs))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    assert not any("warning" in r.stderr for r in results)

    journal = Store(remote).journal()  # newest first
    # A freeze of a frozen region, or an unfreeze of one that is not, writes nothing.
    wrote = [(job, r) for job, r in zip(jobs, results, strict=True) if "state commit" in r.stdout]
    assert all("Nothing written." in r.stdout for r in results if "state commit" not in r.stdout)
    assert sorted(e.reason or "" for e in journal) == sorted(job[3] for job, _ in wrote)
    reported = {r.stdout.split("(state commit ")[1][:12] for _, r in wrote}
    assert reported == {(e.commit or "")[:12] for e in journal}

    files = remote_files(remote)
    for region in regions:
        last = next(e for e in journal if region in (e.region or "").split(","))
        raw = files.get(f"regions/{region}/_region.yaml")  # lifting a freeze deletes it
        frozen = bool(raw and yamlio.loads(raw.decode())["frozen"])
        assert frozen == (last.action == "freeze"), (region, last.reason)

    remote_tip = Store(remote).tip()
    assert remote_tip is not None
    for root in (a, b):
        local = Store(root).tip()
        # A clone all of whose writes found nothing to do has no state branch yet.
        if local is not None:
            # Asked of the remote: a commit the remote lacks is no ancestor of its tip either.
            assert git.Repo(remote).is_ancestor(local, remote_tip), root.name
        synced = modctl("--repo", root, "sync")
        assert synced.returncode == 0, synced.stderr
        assert synced.stdout.strip() in (
            "Already in sync.",
            "Fast-forwarded to origin.",
            "Fetched the remote's state.",
        ), root.name
        assert Store(root).tip() == remote_tip
        audited = modctl("--repo", root, "audit", "verify")
        assert audited.stdout == f"{len(wrote)} state commits verified.\n", audited.stderr
