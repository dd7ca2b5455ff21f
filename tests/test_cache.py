"""The parse cache: inside the git directory, keyed by content and version, never trusted blindly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modctl import __version__, schemas, yamlio
from modctl.source import files as sources
from modctl.source.validate import validate
from tests.conftest import MINIMAL, commit_minimal, modctl, run_git, snapshot, write_files

BRANDS = "strategies/demo/lists/brands.yaml"
RULES = "strategies/demo/rules/main.yaml"
SAMPLE_ROWS = [
    {"id": "1", "region": "SG", "title": "Gucci bag", "price": 5, "label": "infringing"},
    {"id": "2", "region": "SG", "title": "Gucci bag", "price": 50, "label": "infringing"},
    {"id": "3", "region": "MY", "title": "plain shoes", "price": 1, "label": "clean"},
]
# What a forged entry claims the rules file holds: a rule that takes down every listing.
FORGED_RULES = [
    {"id": "fake-brand", "when": {"field": "title", "exists": True}, "action": "takedown"}
]
PLANTED = {
    "code": "B005",
    "severity": "warning",
    "path": "modctl.yaml",
    "line": 1,
    "column": 1,
    "message": "planted",
}


@pytest.fixture
def git_repo(minimal_repo: Path) -> Path:
    """The minimal repository inside a git repository (nothing committed)."""
    run_git(minimal_repo, "init", "-q")
    return minimal_repo


def cache_of(repo: Path) -> Path:
    return Path(run_git(repo, "rev-parse", "--absolute-git-dir").strip()) / "modctl" / "cache"


def entries(repo: Path, prefix: str = "") -> list[Path]:
    return sorted(cache_of(repo).glob(f"{prefix}*.json"))


def entry_of(repo: Path, kind: str) -> Path:
    """The cache file of the one parsed document of `kind` (or of the run report: "run")."""
    (found,) = [
        p
        for p in entries(repo)
        if (
            p.stem.startswith("run-")
            if kind == "run"
            else json.loads(p.read_text()).get("kind") == kind
        )
    ]
    return found


def rewrite(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    entry = json.loads(path.read_text())
    change(entry)
    path.write_text(json.dumps(entry))


def backtest(repo: Path, folder: Path) -> dict[str, Any]:
    """`modctl backtest` of the demo bundle on a few rows written into `folder`."""
    folder.mkdir(exist_ok=True)
    data = folder / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in SAMPLE_ROWS))
    done = modctl("--repo", repo, "backtest", "demo", "--data", data, "--output", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    del report["seconds"]
    return report


# What an attacker commits against modctl 0.1.0's cache in `<repo>/.modctl-cache`: entries named
# by the content hash of the files they describe, which anyone can compute.


def legacy_digest(kind: str, raw: bytes) -> str:
    return hashlib.blake2b(kind.encode() + b"\0" + raw, digest_size=20).hexdigest()


def plant_legacy_cache(repo: Path, parsed: dict[str, tuple[str, Any]], report: Any) -> None:
    """Commit a `.modctl-cache` claiming that each file of `parsed` (path: kind, data) parsed to
    `data`, and that validating the whole repository found `report`."""
    folder = repo / ".modctl-cache" / f"v{__version__}-{schemas.fingerprint()}"
    folder.mkdir(parents=True)
    for rel, (kind, data) in parsed.items():
        name = legacy_digest(kind, (repo / rel).read_bytes())
        (folder / f"{name}.json").write_text(json.dumps(data))
    kinds = {"modctl.yaml": "config", "strategies/demo/bundle.yaml": "bundle"}
    kinds |= {RULES: "rules", BRANDS: "list", "strategies/demo/tests/main.yaml": "tests"}
    run = hashlib.blake2b(digest_size=20)
    for rel in sorted(kinds):
        run.update(f"{rel}\0{legacy_digest(kinds[rel], (repo / rel).read_bytes())}\0".encode())
    run.update(b"bundle demo\0")
    (folder / f"run-{run.hexdigest()}.json").write_text(json.dumps(report))
    run_git(repo, "add", "--force", ".")
    run_git(repo, "commit", "-qm", "plant a parse cache")


def test_committed_cache_folder_cannot_hide_a_schema_error(tmp_path: Path) -> None:
    origin = commit_minimal(tmp_path / "origin")
    write_files(origin, {RULES: "- [not, a, rule]\n"})
    plant_legacy_cache(origin, {RULES: ("rules", yamlio.loads(MINIMAL[RULES]))}, [])
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(origin), str(clone))
    assert (clone / ".modctl-cache").is_dir()
    done = modctl("validate", cwd=clone)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{RULES}:1:3: error S001" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_committed_cache_folder_cannot_change_a_backtest(tmp_path: Path) -> None:
    origin = commit_minimal(tmp_path / "origin")
    expected = backtest(origin, tmp_path)
    plant_legacy_cache(origin, {RULES: ("rules", FORGED_RULES)}, [])
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(origin), str(clone))
    assert backtest(clone, tmp_path) == expected
    assert expected["decisions"] == {"MY": {"none": 1}, "SG": {"none": 1, "takedown": 1}}


def test_committed_cache_folder_cannot_stand_in_for_modctl_yaml_at_head(tmp_path: Path) -> None:
    origin = commit_minimal(tmp_path / "origin")
    write_files(origin, {"modctl.yaml": MINIMAL["modctl.yaml"] + "surprise: 1\n"})
    good = yamlio.loads(MINIMAL["modctl.yaml"])
    plant_legacy_cache(origin, {"modctl.yaml": ("config", good)}, [])
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(origin), str(clone))
    done = modctl("freeze", "--region", "SG", "--reason", "test", cwd=clone)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "modctl.yaml at HEAD is invalid: S001 unknown key 'surprise'" in done.stderr


def test_cache_lives_in_the_git_directory_and_git_status_stays_clean(tmp_path: Path) -> None:
    repo = commit_minimal(tmp_path / "repo")
    for _ in range(2):
        done = modctl("validate", cwd=repo)
        assert done.returncode == 0, done.stdout + done.stderr
    assert len(entries(repo)) == 6  # five parsed files and the report
    assert cache_of(repo).is_relative_to((repo / ".git").resolve())
    assert not (repo / ".modctl-cache").exists()
    assert run_git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all") == ""


def test_linked_worktree_keeps_its_cache_in_its_own_git_directory(tmp_path: Path) -> None:
    main = commit_minimal(tmp_path / "main")
    linked = tmp_path / "linked"
    run_git(main, "worktree", "add", "-q", "--detach", str(linked))
    write_files(linked, {RULES: "- [not, a, rule]\n"})
    done = modctl("validate", cwd=linked)
    assert done.returncode == 1, done.stdout + done.stderr
    run_git(linked, "checkout", "--", RULES)
    for _ in range(2):
        done = modctl("validate", cwd=linked)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (
        cache_of(linked) == (main / ".git" / "worktrees" / "linked" / "modctl" / "cache").resolve()
    )
    assert len(entries(linked)) == 6
    for tree in (main, linked):
        assert run_git(tree, "status", "--porcelain", "--ignored", "--untracked-files=all") == ""


def test_plain_folder_runs_without_a_cache_and_writes_nothing(
    minimal_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    before = snapshot(minimal_repo)
    for _ in range(2):
        done = modctl("validate", cwd=minimal_repo)
        assert done.returncode == 0, done.stdout + done.stderr
    tested = modctl("--repo", minimal_repo, "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert backtest(minimal_repo, tmp_path_factory.mktemp("data"))["rules"] == {
        "fake-brand": {"matches": 1, "decided": 1}
    }
    assert snapshot(minimal_repo) == before


def test_leftover_cache_folder_in_the_working_tree_is_never_read(git_repo: Path) -> None:
    write_files(git_repo, {RULES: "- [not, a, rule]\n"})
    folder = git_repo / ".modctl-cache" / f"v{__version__}-{schemas.fingerprint()}"
    folder.mkdir(parents=True)
    raw = (git_repo / RULES).read_bytes()
    (folder / f"{legacy_digest('rules', raw)}.json").write_text(json.dumps(FORGED_RULES))
    assert [f.code for f in validate(git_repo).findings] == ["S001"]


def other_source(entry: dict[str, Any]) -> None:
    if "source" in entry:
        entry["source"] = "0" * 40
    else:
        entry["sources"][RULES][1] = "0" * 40


TAMPERED: dict[str, Callable[[Path], None]] = {
    "another modctl version": lambda p: rewrite(p, lambda e: e.update(modctl="0.0.1")),
    "another source hash": lambda p: rewrite(p, other_source),
    "another key": lambda p: rewrite(p, lambda e: e.update(key="0" * 40)),
    "no record of its making": lambda p: p.write_text(
        json.dumps(json.loads(p.read_text())["data"])
    ),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
}


def forge(repo: Path) -> None:
    """Make the cached rules claim a rule nobody wrote, and the cached report a planted finding,
    keeping everything else of their entries."""
    rewrite(entry_of(repo, "rules"), lambda e: e.update(data=FORGED_RULES))
    rewrite(entry_of(repo, "run"), lambda e: e.update(data=[PLANTED]))


@pytest.mark.parametrize("tamper", TAMPERED.values(), ids=TAMPERED.keys())
def test_mismatched_entries_are_ignored_and_overwritten(
    git_repo: Path, tamper: Callable[[Path], None]
) -> None:
    assert validate(git_repo).findings == []
    rules, run = entry_of(git_repo, "rules"), entry_of(git_repo, "run")
    good = {path: path.read_bytes() for path in (rules, run)}
    forge(git_repo)
    for path in (rules, run):
        tamper(path)
    assert validate(git_repo).findings == []
    assert {path: path.read_bytes() for path in (rules, run)} == good


@pytest.mark.parametrize("tamper", TAMPERED.values(), ids=TAMPERED.keys())
def test_mismatched_entries_cannot_change_a_backtest(
    tmp_path: Path, tamper: Callable[[Path], None]
) -> None:
    repo = commit_minimal(tmp_path / "repo")
    expected = backtest(repo, tmp_path)
    assert modctl("validate", cwd=repo).returncode == 0
    forge(repo)
    tamper(entry_of(repo, "rules"))
    assert backtest(repo, tmp_path) == expected


def test_matching_forged_entries_are_what_the_checks_catch(
    git_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The control for the tests above: an entry that matches in every recorded part is used,
    so it is those checks that keep a forged entry out."""
    validate(git_repo)
    forge(git_repo)
    assert [f.message for f in validate(git_repo).findings] == ["planted"]
    assert validate(git_repo, use_cache=False).findings == []
    entry_of(git_repo, "run").unlink()
    # The forged rule passes the test written for the real one, and leaves the list unused.
    assert [f.code for f in validate(git_repo).findings] == ["B005"]
    assert backtest(git_repo, tmp_path_factory.mktemp("data"))["decisions"]["MY"] == {"takedown": 1}


def test_edited_file_misses_the_cache_and_stale_entries_go(git_repo: Path) -> None:
    validate(git_repo)
    write_files(git_repo, {BRANDS: "name: brands\nkind: keywords\nitems: [gucci]\n"})
    assert validate(git_repo).findings == []
    assert len(entries(git_repo)) == 6
    assert not list(cache_of(git_repo).glob(".*"))  # no temporary file left behind


def test_failing_run_writes_nothing(git_repo: Path) -> None:
    write_files(git_repo, {RULES: "- [not, a, rule]\n"})
    assert validate(git_repo).errors == 1
    assert not cache_of(git_repo).exists()


def test_parallel_parsing_gives_the_same_report(
    minimal_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = "- id: r{n}\n  when: {{field: title, matches: '(a)\\1'}}\n  action: warn\n"
    write_files(
        minimal_repo,
        {
            f"strategies/demo/rules/gen{i}.yaml": "".join(
                rule.format(n=i * 10 + k) for k in range(10)
            )
            for i in range(8)
        },
    )
    serial = validate(minimal_repo, use_cache=False, jobs=1)
    monkeypatch.setattr(sources, "PARALLEL_MIN_BYTES", 1)
    parallel = validate(minimal_repo, use_cache=False, jobs=2)
    assert parallel.findings == serial.findings
    assert len(serial.findings) == 160  # a backreference and an untested rule, 80 times
