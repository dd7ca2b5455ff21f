"""`modctl sync` replays commands, not patches: a local change made while the remote was
unreachable is run again on the remote's newer state and dropped, visibly, when it no longer
applies there. Release tags travel with the state. Two clones of a local bare repository."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl import yamlio
from modctl.state.store import Store
from tests.conftest import commit_minimal, run, run_git

Sh = Callable[..., tuple[int, str]]


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare remote; clone `a`, where 0.1.0 and 0.1.1 are released and 0.1.0 is stable in
    SG and MY; clone `b`, synced to that."""
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "-q", "--bare", str(remote))
    run_git(remote, "symbolic-ref", "HEAD", "refs/heads/main")
    a = commit_minimal(tmp_path / "a", remote="origin")
    run_git(a, "remote", "add", "origin", str(remote))
    run_git(a, "push", "-q", "origin", "HEAD:refs/heads/main")
    runner = CliRunner()
    for args in (
        ("release", "cut", "demo"),
        ("release", "cut", "demo"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "SG", "--full", "--force"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "MY", "--full", "--force"),
    ):
        code, out = run(runner, a, *args)
        assert code == 0, (args, out)
    b = tmp_path / "b"
    run_git(tmp_path, "clone", "-q", str(remote), str(b))
    code, out = run(runner, b, "sync")
    assert code == 0, out
    return remote, a, b


def offline(root: Path, remote: Path) -> None:
    run_git(root, "remote", "set-url", "origin", str(remote.parent / "gone.git"))


def online(root: Path, remote: Path) -> None:
    run_git(root, "remote", "set-url", "origin", str(remote))


def ok(root: Path, *args: str) -> str:
    code, out = run(CliRunner(), root, *args)
    assert code == 0, (args, out)
    return out


def freeze_of(root: Path, region: str) -> dict[str, object]:
    raw = Store(root).read().files.get(f"regions/{region}/_region.yaml", b"{}")
    data: dict[str, object] = yamlio.loads(raw.decode())
    return data


def test_an_offline_change_that_still_applies_is_replayed(clones: tuple[Path, Path, Path]) -> None:
    remote, a, b = clones
    offline(b, remote)
    ok(b, "freeze", "--region", "MY", "--reason", "from b")
    ok(a, "freeze", "--region", "SG", "--reason", "from a")
    online(b, remote)
    code, out = run(CliRunner(), b, "freeze", "--region", "GB")
    assert code == 3, out
    assert "diverged; run `modctl sync` to replay the local changes" in out
    assert ok(b, "sync") == "Replayed 1 local change(s) on top of origin and pushed.\n"
    assert Store(b).tip() == Store(remote).tip()
    assert freeze_of(remote, "MY")["reason"] == "from b"
    assert freeze_of(remote, "SG")["reason"] == "from a"
    for root in (a, b):
        ok(root, "sync")
        assert ok(root, "audit", "verify").endswith("state commits verified.\n")


def test_an_offline_promote_in_a_region_frozen_meanwhile_is_dropped(
    clones: tuple[Path, Path, Path],
) -> None:
    remote, a, b = clones
    ok(a, "rollout", "start", "demo", "0.1.1")
    ok(b, "sync")
    offline(b, remote)
    ok(b, "freeze", "--region", "MY", "--reason", "harmless")
    ok(b, "rollout", "promote", "demo", "--region", "SG", "--force")
    local = Store(b).tip()
    ok(a, "freeze", "--region", "SG", "--reason", "incident", "--incident", "INC-9")
    online(b, remote)
    code, out = run(CliRunner(), b, "sync")
    assert code == 3, out
    assert "Replayed 1 local change(s) on top of origin and pushed." in out
    assert "Dropped 1 local change(s)" in out
    assert "promote demo 0.1.1 to stable in SG: region SG is frozen" in out
    kept = out.split("kept on ")[1].split(" ")[0]
    assert kept.startswith("modctl-state-rejected/")
    assert run_git(b, "rev-parse", kept).strip() == local  # nothing lost
    sg = yamlio.loads(Store(remote).read().files["regions/SG/demo.yaml"].decode())
    assert sg["stable"] == "0.1.0"
    assert sg["canary"]["version"] == "0.1.1"
    assert freeze_of(remote, "MY")["reason"] == "harmless"
    assert Store(b).tip() == Store(remote).tip()
    assert ok(b, "audit", "verify").endswith("state commits verified.\n")


def test_an_offline_start_whose_earlier_wave_was_rolled_back_is_dropped(
    clones: tuple[Path, Path, Path],
) -> None:
    remote, a, b = clones
    ok(a, "rollout", "start", "demo", "0.1.1")
    ok(a, "rollout", "promote", "demo", "--region", "SG", "--full", "--force")
    ok(b, "sync")
    offline(b, remote)
    ok(b, "rollout", "start", "demo", "0.1.1")  # the next wave: MY
    ok(a, "rollback", "demo", "--region", "SG")
    online(b, remote)
    code, out = run(CliRunner(), b, "sync")
    assert code == 3, out
    assert "start demo 0.1.1 canary in MY 50%: wave 'pilot' comes first" in out
    my = yamlio.loads(Store(remote).read().files["regions/MY/demo.yaml"].decode())
    assert (my["stable"], my["canary"]) == ("0.1.0", None)
    assert Store(b).tip() == Store(remote).tip()


def test_keep_local_replays_only_when_every_change_applies(
    clones: tuple[Path, Path, Path],
) -> None:
    remote, a, b = clones
    ok(a, "rollout", "start", "demo", "0.1.1")
    ok(b, "sync")
    offline(b, remote)
    ok(b, "rollout", "promote", "demo", "--region", "SG", "--force")
    ok(a, "freeze", "--region", "SG")
    online(b, remote)
    local, theirs = Store(b).tip(), Store(remote).tip()
    code, out = run(CliRunner(), b, "sync", "--keep", "local")
    assert code == 3, out
    assert "--keep local: 1 local change(s) no longer apply" in out
    assert "nothing was synced" in out
    assert (Store(b).tip(), Store(remote).tip()) == (local, theirs)


def test_keep_remote_takes_the_remote_and_keeps_the_local_changes_aside(
    clones: tuple[Path, Path, Path],
) -> None:
    remote, a, b = clones
    offline(b, remote)
    ok(b, "freeze", "--region", "MY")
    local = Store(b).tip()
    ok(a, "freeze", "--region", "SG")
    online(b, remote)
    code, out = run(CliRunner(), b, "sync", "--keep", "remote")
    assert code == 0, out
    assert "Took origin's state and dropped 1 local change(s)." in out
    assert Store(b).tip() == Store(remote).tip()
    kept = out.split("kept on ")[1].split(" ")[0]
    assert run_git(b, "rev-parse", kept).strip() == local


def test_a_push_a_server_hook_rejects_is_reported_with_its_message(
    clones: tuple[Path, Path, Path],
) -> None:
    remote, a, _ = clones
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'state changes need a change ticket' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = Store(a).tip(), Store(remote).tip()
    code, out = run(CliRunner(), a, "freeze", "--region", "SG")
    assert code == 3, out
    assert "origin refused the push of the state branch (state changes need a change ticket)" in out
    assert "race" not in out
    assert (Store(a).tip(), Store(remote).tip()) == before


def tags(root: Path) -> set[str]:
    return set(run_git(root, "tag", "--list", "modctl/*").split())


def test_release_tags_travel_with_the_state(
    clones: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    remote, _, _ = clones
    assert tags(remote) == {"modctl/demo/0.1.0", "modctl/demo/0.1.1"}
    fresh = tmp_path / "fresh"
    run_git(tmp_path, "clone", "-q", "--no-tags", str(remote), str(fresh))
    run_git(fresh, "fetch", "-q", "--no-tags", "origin", "modctl-state:modctl-state")
    code, out = run(CliRunner(), fresh, "audit", "verify")
    assert code == 1, out
    assert "tag modctl/demo/0.1.0 is missing here; `modctl sync` fetches release tags" in out
    ok(fresh, "sync")
    assert tags(fresh) == tags(remote)
    assert ok(fresh, "audit", "verify") == "6 state commits verified.\n"


def test_a_release_cut_offline_pushes_its_tag_at_the_next_sync(
    clones: tuple[Path, Path, Path],
) -> None:
    remote, a, _ = clones
    offline(a, remote)
    run_git(a, "commit", "-q", "--allow-empty", "-m", "next")
    ok(a, "release", "cut", "demo")
    assert "modctl/demo/0.1.2" not in tags(remote)
    online(a, remote)
    run_git(a, "push", "-q", "origin", "HEAD:refs/heads/main")
    ok(a, "sync")
    assert "modctl/demo/0.1.2" in tags(remote)


def test_a_release_whose_tag_the_remote_refuses_writes_neither(
    clones: tuple[Path, Path, Path],
) -> None:
    remote, a, b = clones
    run_git(b, "commit", "-q", "--allow-empty", "-m", "elsewhere")
    run_git(b, "tag", "modctl/demo/0.1.2")
    run_git(b, "push", "-q", "origin", "refs/tags/modctl/demo/0.1.2")
    before = Store(remote).tip()
    code, out = run(CliRunner(), a, "release", "cut", "demo")
    assert code == 3, out
    assert Store(remote).tip() == before
    assert "modctl/demo/0.1.2" not in tags(a)


READERS = (
    ("rollout", "status"),
    ("release", "list"),
    ("log",),
    ("render", "demo", "--region", "SG"),
    ("audit", "verify"),
)


def test_readers_say_when_the_local_state_branch_is_missing_or_behind(
    clones: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    remote, a, b = clones
    fresh = tmp_path / "fresh"
    run_git(tmp_path, "clone", "-q", str(remote), str(fresh))
    for args in READERS:
        code, out = run(CliRunner(), fresh, *args)
        assert "there is no local state branch yet, but origin has one: run `modctl sync`" in out
    ok(a, "freeze", "--region", "SG")
    run_git(b, "fetch", "-q", "origin")
    for args in READERS:
        code, out = run(CliRunner(), b, *args)
        assert code == 0, (args, out)
        assert "the local state branch is behind origin's: run `modctl sync`" in out, args
    ok(b, "sync")
    for args in READERS:
        code, out = run(CliRunner(), b, *args)
        assert code == 0, (args, out)
        assert "warning" not in out, args
