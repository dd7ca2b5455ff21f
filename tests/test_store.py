"""The state branch: plumbing-only commits, compare-and-swap, trailers, never the work tree."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import git
import pytest

from modctl.errors import ConflictError, GitError, RefusedError
from modctl.state.store import Entry, Snapshot, Store, actor
from tests.conftest import assert_fsck_clean


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    history = git.Repo.init(tmp_path)
    (tmp_path / "modctl.yaml").write_text("version: 1\n")
    history.git.add(".")
    history.git.commit("-qm", "first")
    return history


def counter(key: str = "count") -> object:
    """A transition that increments a counter file and journals it."""

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        current = json.loads(snapshot.files.get("counter.json", b"{}"))
        current[key] = current.get(key, 0) + 1
        entry = Entry("freeze", "ops@example.com", f"count {key}", region="SG", reason="a test")
        return {"counter.json": json.dumps(current).encode()}, entry

    return transition


def test_first_write_creates_the_branch_with_trailers(repo: git.Repo) -> None:
    store = Store(Path(repo.working_dir))
    assert store.tip() is None
    assert store.read().files == {}
    entry = store.write(counter())  # type: ignore[arg-type]
    assert entry.commit == store.tip()
    assert store.read().files == {"counter.json": b'{"count": 1}'}
    message = repo.commit(entry.commit).message
    assert message.splitlines()[0] == "count count"
    assert (
        "Modctl-Action: freeze\nModctl-Region: SG\nModctl-Actor: ops@example.com\nModctl-Reason: a test"
        in message
    )
    journal = store.journal()
    assert [(e.action, e.region, e.actor, e.reason, e.commit) for e in journal] == [
        ("freeze", "SG", "ops@example.com", "a test", entry.commit)
    ]


def test_writes_chain_and_delete_files(repo: git.Repo) -> None:
    store = Store(Path(repo.working_dir))
    first = store.write(counter())  # type: ignore[arg-type]
    second = store.write(counter())  # type: ignore[arg-type]
    assert repo.commit(second.commit).parents[0].hexsha == first.commit
    assert json.loads(store.read().files["counter.json"]) == {"count": 2}
    store.write(
        lambda s: ({"counter.json": None, "deploy/SG/b.json": b"{}"}, Entry("render", "a", "move"))
    )
    assert store.read().files == {"deploy/SG/b.json": b"{}"}
    assert [e.summary for e in store.journal()] == ["move", "count count", "count count"]


def test_never_touches_work_tree_index_or_head(repo: git.Repo) -> None:
    root = Path(repo.working_dir)
    (root / "modctl.yaml").write_text("version: 1\n# edited, not staged\n")
    (root / "new.txt").write_text("staged\n")
    repo.git.add("new.txt")
    repo.git.checkout("--detach")
    head, status = repo.head.commit.hexsha, repo.git.status("--porcelain")
    Store(root).write(counter())  # type: ignore[arg-type]
    assert repo.head.commit.hexsha == head
    assert repo.head.is_detached
    assert repo.git.status("--porcelain") == status
    assert (root / "modctl.yaml").read_text().endswith("# edited, not staged\n")
    assert not (root / "counter.json").exists()


def test_lost_race_reapplies_the_transition(repo: git.Repo) -> None:
    root = Path(repo.working_dir)
    store, other = Store(root), Store(root)
    calls = []

    def racing(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        calls.append(snapshot.commit)
        if len(calls) == 1:
            other.write(counter("other"))  # type: ignore[arg-type]
        return counter("mine")(snapshot)  # type: ignore[operator, no-any-return]

    store.write(racing)
    assert len(calls) == 2  # the first attempt lost, the second re-read and won
    assert json.loads(store.read().files["counter.json"]) == {"other": 1, "mine": 1}
    assert len(store.journal()) == 2


def test_transition_that_no_longer_applies_is_a_conflict(repo: git.Repo) -> None:
    root = Path(repo.working_dir)
    store, other = Store(root), Store(root)
    attempts = []

    def only_once(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        attempts.append(1)
        if "frozen" in snapshot.files:
            raise RefusedError("region SG is frozen")
        if len(attempts) == 1:
            other.write(lambda s: ({"frozen": b"SG"}, Entry("freeze", "b", "freeze SG")))
        return {"promoted": b"1"}, Entry("promote", "a", "promote")

    with pytest.raises(ConflictError, match="no longer applies: region SG is frozen"):
        store.write(only_once)
    assert "promoted" not in store.read().files
    with pytest.raises(RefusedError, match="frozen"):
        store.write(only_once)


def _bump(args: tuple[str, int]) -> str | None:
    root, n = args
    return Store(Path(root)).write(counter(f"w{n}")).commit  # type: ignore[arg-type]


@pytest.mark.slow
def test_concurrent_processes_lose_no_update(repo: git.Repo) -> None:
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        commits = pool.map(_bump, [(repo.working_dir, n % 8) for n in range(24)])
    store = Store(Path(repo.working_dir))
    assert sum(json.loads(store.read().files["counter.json"]).values()) == 24
    journal = store.journal()
    assert len(journal) == 24
    assert {e.commit for e in journal} == set(commits)
    assert_fsck_clean(Path(repo.working_dir))


def test_actor(repo: git.Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(repo.working_dir)
    assert actor("alice@example.com", root) == "alice@example.com"
    monkeypatch.setenv("MODCTL_ACTOR", "bob@example.com")
    assert actor(None, root) == "bob@example.com"
    monkeypatch.delenv("MODCTL_ACTOR")
    assert actor(None, root) == "author@example.com"


def test_identical_concurrent_write_is_not_mistaken_for_ours(repo: git.Repo) -> None:
    """Two writers making the very same change in the same second make the very same commit;
    the loser must still apply its change on top, not take the winner's commit for its own."""
    root = Path(repo.working_dir)
    store, other = Store(root), Store(root)
    calls = []

    def same(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        calls.append(1)
        if len(calls) == 1:
            other.write(counter())  # type: ignore[arg-type]
        return counter()(snapshot)  # type: ignore[operator, no-any-return]

    store.write(same)
    assert json.loads(store.read().files["counter.json"]) == {"count": 2}
    assert len(store.journal()) == 2


def test_commit_signing_configuration_is_respected(repo: git.Repo) -> None:
    repo.git.config("commit.gpgsign", "true")
    repo.git.config("gpg.program", "modctl-test-no-such-gpg")
    with pytest.raises(GitError, match="git commit-tree failed"):
        Store(Path(repo.working_dir)).write(counter())  # type: ignore[arg-type]
    assert Store(Path(repo.working_dir)).tip() is None
