from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from tests.conftest import run, write_files


@pytest.fixture
def repo(committed_repo: git.Repo) -> Path:
    return Path(committed_repo.working_dir)


def test_rules_params_lists_and_regions(repo: Path, runner: CliRunner) -> None:
    write_files(
        repo,
        {
            "strategies/demo/bundle.yaml": "name: demo\nregions: [SG]\n",
            "strategies/demo/rules/main.yaml": """\
- id: fake-brand
  params: {max_price: 25}
  regions: [SG]
  when:
    all:
      - {field: title, contains_any: {list: brands}}
      - {field: price, lt: {param: max_price}}
  action: limit
- id: new-rule
  mode: shadow
  when: {field: title, exists: true}
  action: warn
""",
            "strategies/demo/lists/brands.yaml": "name: brands\nkind: keywords\nitems: [gucci, dior, chanel]\n",
        },
    )
    code, out = run(runner, repo, "diff", "demo")
    assert code == 0, out
    assert out.splitlines() == [
        "demo: HEAD -> working tree",
        '  bundle regions: ["SG", "MY"] -> ["SG"]',
        "rules: 1 added, 0 removed, 1 changed",
        "  + new-rule (warn, shadow)",
        "  ~ fake-brand",
        "      action: takedown -> limit",
        '      regions: all -> ["SG"]',
        "      params.max_price: 20 -> 25",
        "lists: 0 added, 0 removed, 1 changed",
        "  ~ brands (keywords): +2 -1",
        "      added: dior, chanel",
        "      removed: prada",
    ]


def test_json_and_two_revisions(repo: Path, runner: CliRunner) -> None:
    history = git.Repo(repo)
    write_files(
        repo,
        {"strategies/demo/lists/brands.yaml": "name: brands\nkind: keywords\nitems: [gucci]\n"},
    )
    history.git.commit("-qam", "drop prada")
    code, out = run(runner, repo, "diff", "demo", "HEAD~1", "HEAD", "-o", "json")
    assert code == 0, out
    report = json.loads(out)
    assert (report["before"], report["after"]) == ("HEAD~1", "HEAD")
    assert report["lists"]["changed"] == [
        {
            "name": "brands",
            "kind": "keywords",
            "kind_before": None,
            "added": 0,
            "removed": 1,
            "changed": 0,
            "added_sample": [],
            "removed_sample": ["prada"],
            "changed_sample": {},
        }
    ]
    assert report["rules"] == {"added": [], "removed": [], "changed": []}


def test_new_bundle_shows_everything_added(repo: Path, runner: CliRunner) -> None:
    write_files(
        repo,
        {
            "strategies/fresh/bundle.yaml": "name: fresh\n",
            "strategies/fresh/rules/a.yaml": "- {id: a, when: {field: title, exists: true}, action: warn}\n",
            "strategies/fresh/tests/a.yaml": "- {name: t, region: SG, item: {title: x}, expect: {action: warn, rules: [a]}}\n",
        },
    )
    code, out = run(runner, repo, "diff", "fresh")
    assert code == 0, out
    assert "rules: 1 added, 0 removed, 0 changed" in out
    assert "tests: 1 added, 0 removed" in out


def test_no_changes_unknown_revision_and_bundle(repo: Path, runner: CliRunner) -> None:
    assert run(runner, repo, "diff", "demo")[1].splitlines()[1] == "  no changes"
    code, out = run(runner, repo, "diff", "demo", "nope")
    assert code == 2
    assert "revision 'nope' does not exist" in out
    code, out = run(runner, repo, "diff", "nope")
    assert code == 2
    assert "no bundle named 'nope' at HEAD nor at working tree" in out
