from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from modctl.source import files as sources
from modctl.source.files import CACHE_DIR
from modctl.source.validate import validate
from tests.conftest import write_files


def entries(repo: Path, prefix: str = "") -> list[Path]:
    return sorted((repo / CACHE_DIR).glob(f"v*/{prefix}*.json"))


BRANDS = "strategies/demo/lists/brands.yaml"


def test_unchanged_repository_reuses_the_whole_report(minimal_repo: Path) -> None:
    assert validate(minimal_repo).findings == []
    assert len(entries(minimal_repo)) == 6  # five parsed files and the report
    (report,) = entries(minimal_repo, "run-")
    planted = {
        "code": "B005",
        "severity": "warning",
        "path": "modctl.yaml",
        "line": 1,
        "column": 1,
        "message": "planted",
    }
    report.write_text(json.dumps([planted]))
    assert [f.message for f in validate(minimal_repo).findings] == ["planted"]
    assert validate(minimal_repo, use_cache=False).findings == []


def test_changed_repository_reuses_parsed_files(minimal_repo: Path) -> None:
    validate(minimal_repo)
    rules = next(p for p in entries(minimal_repo) if '"when"' in p.read_text())
    data = json.loads(rules.read_text())
    data.append({"id": "from-cache", "when": {"field": "title", "exists": True}, "action": "warn"})
    rules.write_text(json.dumps(data))
    write_files(minimal_repo, {BRANDS: "name: brands\nkind: keywords\nitems: [gucci]\n"})
    assert [f.code for f in validate(minimal_repo).findings] == ["R010"]


def test_edited_file_misses_the_cache_and_stale_entries_go(minimal_repo: Path) -> None:
    validate(minimal_repo)
    write_files(minimal_repo, {BRANDS: "name: brands\nkind: keywords\nitems: [gucci]\n"})
    assert validate(minimal_repo).findings == []
    assert len(entries(minimal_repo)) == 6


def test_corrupt_cache_entry_is_ignored(minimal_repo: Path) -> None:
    validate(minimal_repo)
    for entry in entries(minimal_repo):
        entry.write_text("{not json")
    assert validate(minimal_repo).findings == []


def test_failing_run_writes_nothing(minimal_repo: Path) -> None:
    write_files(minimal_repo, {"strategies/demo/rules/main.yaml": "- [not, a, rule]\n"})
    assert validate(minimal_repo).errors == 1
    assert not (minimal_repo / CACHE_DIR).exists()


def test_cache_never_dirties_git_status(minimal_repo: Path) -> None:
    repo = git.Repo.init(minimal_repo)
    repo.git.add(".")
    repo.git.commit("-qm", "init")
    validate(minimal_repo)
    assert entries(minimal_repo)
    assert not repo.is_dirty(untracked_files=True)


def test_parallel_parsing_gives_the_same_report(
    minimal_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = "- id: r{n}\n  when: {{field: title, matches: '(a+)+$'}}\n  action: warn\n"
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
    assert len(serial.findings) == 160  # a catastrophic regex and an untested rule, 80 times
