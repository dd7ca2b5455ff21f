from __future__ import annotations

import hashlib
import json
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from modctl.state.store import Store
from tests.conftest import run, write_files


@pytest.fixture
def repo(committed_repo: git.Repo) -> git.Repo:
    return committed_repo


def nothing_written(repo: git.Repo) -> bool:
    return not repo.tags and Store(Path(repo.working_dir)).tip() is None


def test_cut_tags_and_records_manifest_and_artifact(repo: git.Repo, runner: CliRunner) -> None:
    root = Path(repo.working_dir)
    code, out = run(
        runner, root, "release", "cut", "demo", "--notes", "first cut", "--actor", "rel@example.com"
    )
    assert code == 0, out
    assert out.startswith("Released demo 0.1.0 (sha256:")
    head = repo.head.commit.hexsha
    assert repo.tags["modctl/demo/0.1.0"].commit.hexsha == head
    assert repo.tags["modctl/demo/0.1.0"].tag is not None  # annotated
    store = Store(root)
    files = store.read().files
    data = files["artifacts/demo/0.1.0.json"]
    manifest_text = files["releases/demo/0.1.0.yaml"].decode()
    assert f"digest: sha256:{hashlib.sha256(data).hexdigest()}" in manifest_text
    assert f"source_commit: {head}" in manifest_text
    artifact = json.loads(data)
    assert (artifact["bundle"], artifact["version"], artifact["source_commit"]) == (
        "demo",
        "0.1.0",
        head,
    )
    assert [r["id"] for r in artifact["rules"]] == ["fake-brand"]
    (entry,) = store.journal()
    assert (entry.action, entry.bundle, entry.release, entry.actor) == (
        "release",
        "demo",
        "0.1.0",
        "rel@example.com",
    )
    assert not repo.is_dirty(untracked_files=True)


def test_versions_bump_and_never_repeat(repo: git.Repo, runner: CliRunner) -> None:
    root = Path(repo.working_dir)
    assert run(runner, root, "release", "cut", "demo")[0] == 0
    assert run(runner, root, "release", "cut", "demo", "--bump", "minor")[1].startswith(
        "Released demo 0.2.0"
    )
    assert run(runner, root, "release", "cut", "demo", "--bump", "major")[1].startswith(
        "Released demo 1.0.0"
    )
    assert run(runner, root, "release", "cut", "demo")[1].startswith("Released demo 1.0.1")
    code, out = run(runner, root, "release", "cut", "demo", "--version", "0.2.0")
    assert code == 4
    assert "release 0.2.0 of demo already exists; use --bump patch or choose another version" in out
    code, out = run(runner, root, "release", "cut", "demo", "--version", "v2")
    assert code == 2
    assert "is not X.Y.Z" in out
    code, out = run(runner, root, "release", "list")
    assert code == 0
    assert [line.split()[1] for line in out.splitlines()[1:]] == [
        "0.1.0",
        "0.2.0",
        "1.0.0",
        "1.0.1",
    ]
    code, out = run(runner, root, "release", "show", "demo", "0.2.0", "--output", "json")
    assert json.loads(out)["tests"] == {"cases": 1, "passed": 1, "rule_coverage": 100.0}
    code, out = run(runner, root, "release", "show", "demo", "9.9.9")
    assert code == 2
    assert "no release 9.9.9 of demo (releases: 0.1.0, 0.2.0, 1.0.0, 1.0.1)" in out


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (
            {
                "strategies/demo/rules/main.yaml": "- {id: x, when: {field: title, exists: true}, action: warn}\n"
            },
            4,
            "not committed",
        ),
        (
            {"strategies/demo/lists/new.yaml": "name: new\nkind: keywords\nitems: [x]\n"},
            4,
            "not committed",
        ),
    ],
)
def test_uncommitted_bundle_is_refused(
    repo: git.Repo, runner: CliRunner, change: dict[str, str], code: int, message: str
) -> None:
    write_files(Path(repo.working_dir), change)
    result = run(runner, Path(repo.working_dir), "release", "cut", "demo")
    assert result[0] == code, result[1]
    assert message in result[1]
    assert nothing_written(repo)


def test_changes_outside_the_bundle_do_not_block(repo: git.Repo, runner: CliRunner) -> None:
    write_files(Path(repo.working_dir), {"notes.txt": "scratch\n"})
    assert run(runner, Path(repo.working_dir), "release", "cut", "demo")[0] == 0


def test_failing_tests_are_refused(repo: git.Repo, runner: CliRunner) -> None:
    root = Path(repo.working_dir)
    tests = root / "strategies/demo/tests/main.yaml"
    tests.write_text(tests.read_text().replace("action: takedown", "action: warn"))
    repo.git.commit("-qam", "break a test")
    code, out = run(runner, root, "release", "cut", "demo")
    assert code == 1
    assert "1 test case(s) of demo fail ('cheap gucci'); `modctl test demo` shows why" in out
    assert nothing_written(repo)


def test_bundle_that_validate_refuses_for_its_size_is_not_released(
    repo: git.Repo, runner: CliRunner
) -> None:
    """A list over the file size limit, committed: `validate` refuses it (Y004), and so does
    `release cut`, which reads the bundle from the commit instead of the working tree."""
    root = Path(repo.working_dir)
    items = "".join(f"  - word{n}\n" for n in range(1_000_000))
    write_files(
        root, {"strategies/demo/lists/huge.yaml": "name: huge\nkind: keywords\nitems:\n" + items}
    )
    repo.git.add(".")
    repo.git.commit("-qm", "a huge list")
    code, out = run(runner, root, "validate")
    assert code == 1
    (finding,) = [line for line in out.splitlines() if " error " in line]
    assert finding.startswith("strategies/demo/lists/huge.yaml:1:1: error Y004 file is ")
    code, out = run(runner, root, "release", "cut", "demo")
    assert code == 1, out
    assert finding in out.splitlines()
    assert nothing_written(repo)


def test_dry_run_writes_nothing(repo: git.Repo, runner: CliRunner) -> None:
    code, out = run(runner, Path(repo.working_dir), "release", "cut", "demo", "--dry-run")
    assert code == 0, out
    assert out.startswith("Would release demo 0.1.0 from commit ")
    assert "digest: sha256:" in out
    assert nothing_written(repo)


def test_tag_pointing_elsewhere_is_refused(repo: git.Repo, runner: CliRunner) -> None:
    root = Path(repo.working_dir)
    first = repo.head.commit.hexsha
    write_files(root, {"notes.txt": "x\n"})
    repo.git.add("notes.txt")
    repo.git.commit("-qm", "second")
    repo.git.tag("modctl/demo/0.1.0", first)
    code, out = run(runner, root, "release", "cut", "demo")
    assert code == 4
    assert "tag modctl/demo/0.1.0 already points at" in out


def test_outside_git(minimal_repo: Path, runner: CliRunner) -> None:
    code, out = run(runner, minimal_repo, "release", "cut", "demo")
    assert code == 2
    assert "`modctl release cut` needs a git repository" in out


def test_list_and_show_do_not_depend_on_the_working_tree(repo: git.Repo, runner: CliRunner) -> None:
    root = Path(repo.working_dir)
    assert run(runner, root, "release", "cut", "demo")[0] == 0
    write_files(
        root, {"strategies/demo/rules/main.yaml": "- [broken\n", "modctl.yaml": "nope: [\n"}
    )
    code, out = run(runner, root, "release", "list")
    assert code == 0, out
    assert "0.1.0" in out
    assert run(runner, root, "release", "show", "demo", "0.1.0")[0] == 0
