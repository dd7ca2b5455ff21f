"""`hotpatch fold`: a hot-patch written into the bundle's source in the working tree, every
other byte of the file kept, checked and tested again, with what to do next.

Until `hotpatch apply` exists the patches are written as it records them: one record, one id,
in the state of every region it patches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import built_once, copy_reference, record_hotpatch, run, run_git, snapshot

ALL = ["SG", "MY", "TH", "ID", "PH", "VN", "GB", "US"]
PRICE = "strategies/ipr-counterfeit/rules/price.yaml"
PHRASING = "strategies/ipr-counterfeit/rules/phrasing.yaml"
IMAGES = "strategies/ipr-counterfeit/rules/images.yaml"


def _commit_reference(root: Path) -> None:
    copy_reference(root)
    run_git(root, "init", "-q")
    run_git(root, "add", ".")
    run_git(root, "commit", "-qm", "strategies")


@pytest.fixture
def repo(templates: Path, tmp_path: Path) -> Path:
    """The project's reference strategies, committed; no state branch yet."""
    return built_once(templates, "fold-reference", _commit_reference, tmp_path / "repo")


def seed(
    root: Path,
    bundle: str,
    regions: list[str],
    op: str,
    target: str,
    value: Any = None,
    *,
    patch_id: str = "hp-20261129t1203-3f9a1c",
    queue: str | None = None,
) -> str:
    """Record a hot-patch in the state of `regions`, as `hotpatch apply` records one."""
    patch: dict[str, Any] = {
        "id": patch_id,
        "op": op,
        "target": target,
        "reason": "overturned appeals doubled",
        "incident": "INC-1",
        "actor": "oncall@example.com",
        "created": "2026-11-29T12:03:00Z",
        "expires": "2026-11-29T16:03:00Z",
    }
    if value is not None:
        patch["value"] = value
    if queue is not None:
        patch["queue"] = queue

    record_hotpatch(root, bundle, regions, patch)
    return patch_id


def fold(root: Path, patch_id: str, *options: str) -> tuple[int, str]:
    return run(CliRunner(), root, "hotpatch", "fold", patch_id, *options)


def worktree(root: Path) -> dict[str, str]:
    """Every file of the working tree with its content hash (the parse cache in .git aside)."""
    return {rel: digest for rel, digest in snapshot(root).items() if not rel.startswith(".git/")}


def read(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")


def replaced(text: str, old: str, new: str) -> str:
    """`text` with the one occurrence of `old` made `new`: every other byte as it was."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def rule_block(text: str, rule: str, following: str) -> str:
    """The lines of `rule`, from its `- id:` up to the next rule's."""
    start = text.index(f"- id: {rule}\n")
    return text[start : text.index(f"- id: {following}\n")]


# Each op, on the reference strategies: the file after the fold is the file before with exactly
# the lines the patch changes changed.


def test_disable_everywhere_removes_a_rule_between_two_others(repo: Path) -> None:
    before = read(repo, PRICE)
    block = rule_block(before, "lux-unauthorized-cheap-sg-my", "brand-field-cheap-shadow")
    patch = seed(
        repo, "ipr-counterfeit", ["MY", "SG"], "disable_rule", "lux-unauthorized-cheap-sg-my"
    )
    code, out = fold(repo, patch)
    assert code == 0, out
    assert read(repo, PRICE) == replaced(before, block, "")
    assert f"into {PRICE}: removed rule lux-unauthorized-cheap-sg-my." in out
    assert "(disable_rule lux-unauthorized-cheap-sg-my in SG, MY)" in out


def test_disable_the_last_rule_leaves_no_blank_line_behind(repo: Path) -> None:
    before = read(repo, PHRASING)
    start = before.index("\n- id: inspired-by-brand-gb-us\n")
    patch = seed(repo, "ipr-counterfeit", ["GB", "US"], "disable_rule", "inspired-by-brand-gb-us")
    assert fold(repo, patch)[0] == 0
    assert read(repo, PHRASING) == before[:start]
    assert read(repo, PHRASING).endswith("  tags: [phrasing, local-language]\n")


def test_disable_the_first_rule_keeps_the_file_header(repo: Path) -> None:
    rel = "strategies/ipr-notice-takedown/rules/notices.yaml"
    before = read(repo, rel)
    block = rule_block(before, "verified-notice-takedown", "noticed-listing-takedown")
    assert before.startswith("# Notice-and-takedown.")
    patch = seed(repo, "ipr-notice-takedown", ALL, "disable_rule", "verified-notice-takedown")
    assert fold(repo, patch)[0] == 0
    assert read(repo, rel) == replaced(before, block, "")


def test_disable_the_only_rule_of_a_file_leaves_an_empty_list_under_its_comments(
    repo: Path,
) -> None:
    rel = "strategies/ipr-counterfeit/rules/allow.yaml"
    before = read(repo, rel)
    patch = seed(repo, "ipr-counterfeit", ALL, "disable_rule", "allow-authorized-seller")
    code, out = fold(repo, patch)
    assert code == 0, out
    header = before[: before.index("- id: allow-authorized-seller")]
    assert read(repo, rel) == header + "[]\n"


def test_disable_in_some_regions_narrows_the_rule_to_the_others(repo: Path) -> None:
    before = read(repo, PHRASING)
    patch = seed(repo, "ipr-counterfeit", ["SG", "MY"], "disable_rule", "replica-phrasing-brand")
    code, out = fold(repo, patch)
    assert code == 0, out
    old = "      - {field: description, matches: '(?i)\\b(?:replicas?|1:1|mirror[ -]quality|aaa\\+?[ -]grade|grade[ -]aaa|super[ -]?copy|master[ -]copy)\\b'}\n  action: takedown\n"
    assert read(repo, PHRASING) == replaced(
        before, old, old + "  regions: [TH, ID, PH, VN, GB, US]\n"
    )
    assert "rule replica-phrasing-brand now serves TH, ID, PH, VN, GB, US only" in out


def test_disable_in_some_of_a_rules_own_regions_removes_them_from_its_list(repo: Path) -> None:
    before = read(repo, PHRASING)
    patch = seed(repo, "ipr-counterfeit", ["MY", "ID"], "disable_rule", "local-replica-phrasing")
    assert fold(repo, patch)[0] == 0
    assert read(repo, PHRASING) == replaced(
        before, "  regions: [MY, ID, PH, VN]\n", "  regions: [PH, VN]\n"
    )


def test_set_action_to_review_adds_the_queue_after_the_action(repo: Path) -> None:
    before = read(repo, PRICE)
    patch = seed(
        repo,
        "ipr-counterfeit",
        ALL,
        "set_action",
        "lux-unauthorized-cheap",
        "review",
        queue="counterfeit-review",
    )
    code, out = fold(repo, patch)
    assert code == 0, out
    block = rule_block(before, "lux-unauthorized-cheap", "lux-unauthorized-cheap-sg-my")
    new = replaced(
        block,
        "  action: takedown\n",
        "  action: review\n  queue: counterfeit-review\n",
    )
    assert read(repo, PRICE) == replaced(before, block, new)
    assert "rule lux-unauthorized-cheap: action takedown -> review, queue counterfeit-review" in out


def test_set_action_where_the_rule_serves_exactly_the_patched_regions(repo: Path) -> None:
    before = read(repo, PRICE)
    patch = seed(
        repo, "ipr-counterfeit", ["SG", "MY"], "set_action", "lux-unauthorized-cheap-sg-my", "warn"
    )
    assert fold(repo, patch)[0] == 0
    assert read(repo, PRICE) == replaced(before, "  action: limit\n", "  action: warn\n")


def test_set_mode_adds_the_mode_or_changes_it(repo: Path) -> None:
    before = read(repo, IMAGES)
    shadow = seed(repo, "ipr-counterfeit", ALL, "set_mode", "counterfeit-image-match", "shadow")
    assert fold(repo, shadow)[0] == 0
    block = rule_block(before, "counterfeit-image-match", "counterfeit-image-near-match-shadow")
    new = replaced(block, "  action: takedown\n", "  action: takedown\n  mode: shadow\n")
    assert read(repo, IMAGES) == replaced(before, block, new)

    rel = "strategies/ipr-brand-misuse/rules/stuffing.yaml"
    before = read(repo, rel)
    enforce = seed(
        repo,
        "ipr-brand-misuse",
        ALL,
        "set_mode",
        "hashtag-brand-stuffing-shadow",
        "enforce",
        patch_id="hp-enforce",
    )
    assert fold(repo, enforce)[0] == 0
    assert read(repo, rel) == replaced(before, "  mode: shadow\n", "  mode: enforce\n")


def test_set_param_changes_the_params_value(repo: Path) -> None:
    before = read(repo, IMAGES)
    patch = seed(
        repo, "ipr-counterfeit", ALL, "set_param", "counterfeit-image-match.max_hamming", 4
    )
    code, out = fold(repo, patch)
    assert code == 0, out
    assert read(repo, IMAGES) == replaced(before, "    max_hamming: 6\n", "    max_hamming: 4\n")
    assert "rule counterfeit-image-match: params.max_hamming 6 -> 4" in out


def test_list_add_appends_in_the_quoting_of_the_list(repo: Path) -> None:
    rel = "strategies/ipr-counterfeit/lists/counterfeit-phashes.yaml"
    before = read(repo, rel)
    patch = seed(
        repo,
        "ipr-counterfeit",
        ALL,
        "list_add",
        "counterfeit-phashes",
        ["0123456789abcdef", "d1a6e55e9b9b1325"],  # the second is already listed
    )
    code, out = fold(repo, patch)
    assert code == 0, out
    assert read(repo, rel) == before + '  - "0123456789abcdef"\n'
    assert "list counterfeit-phashes: added 1 item (0123456789abcdef)" in out


def test_list_remove_drops_each_entry(repo: Path) -> None:
    rel = "strategies/ipr-counterfeit/lists/authorized-sellers.yaml"
    before = read(repo, rel)
    patch = seed(
        repo,
        "ipr-counterfeit",
        ALL,
        "list_remove",
        "authorized-sellers",
        ["S-SG-118020", "S-US-891127", "S-XX-000000"],
    )
    assert fold(repo, patch)[0] == 0
    expected = replaced(before, "  - S-SG-118020\n", "")
    assert read(repo, rel) == replaced(expected, "  - S-US-891127\n", "")


def test_a_list_written_in_flow_style_stays_in_flow_style(repo: Path) -> None:
    rel = "strategies/ipr-counterfeit/lists/authorized-sellers.yaml"
    (repo / rel).write_text(
        "name: authorized-sellers\nkind: ids\n# sellers\nitems: [S-1, S-2,  S-3]  # three\n"
    )
    add = seed(repo, "ipr-counterfeit", ALL, "list_add", "authorized-sellers", ["S-4"])
    assert fold(repo, add)[0] == 0
    assert read(repo, rel).endswith("items: [S-1, S-2,  S-3, S-4]  # three\n")
    remove = seed(
        repo,
        "ipr-counterfeit",
        ALL,
        "list_remove",
        "authorized-sellers",
        ["S-1", "S-3"],
        patch_id="hp-remove",
    )
    assert fold(repo, remove)[0] == 0
    assert read(repo, rel).endswith("items: [S-2,  S-4]  # three\n")


# Refusals: one line, the exit code of DESIGN.md, nothing written.


def test_an_op_the_source_cannot_hold_per_region_is_refused(repo: Path) -> None:
    files = worktree(repo)
    patch = seed(repo, "ipr-counterfeit", ["SG"], "set_action", "replica-phrasing-brand", "warn")
    code, out = fold(repo, patch)
    assert code == 4, out
    assert out.startswith(
        "modctl: error: hp-20261129t1203-3f9a1c sets the action of rule replica-phrasing-brand "
        "in SG only, but in the source the rule also serves MY, TH, ID, PH, VN, GB, US, and a "
        "rule has one action for all its regions"
    )
    assert len(out.splitlines()) == 1
    listed = seed(
        repo,
        "ipr-counterfeit",
        ["SG", "MY"],
        "list_add",
        "protected-brands",
        ["Acme"],
        patch_id="hp-list",
    )
    code, out = fold(repo, listed)
    assert code == 4, out
    assert "a list serves every region of bundle ipr-counterfeit" in out
    assert worktree(repo) == files


def test_an_unknown_id_lists_the_known_ones(repo: Path) -> None:
    seed(repo, "ipr-counterfeit", ["SG"], "disable_rule", "replica-phrasing-brand")
    code, out = fold(repo, "hp-20261129t1203-3f9a1d")
    assert code == 2, out
    assert out == (
        "modctl: error: no hot-patch 'hp-20261129t1203-3f9a1d' on the state branch; did you mean "
        "'hp-20261129t1203-3f9a1c'? (hot-patches: hp-20261129t1203-3f9a1c)\n"
    )


def test_a_source_that_already_has_the_patch_is_already_folded(repo: Path) -> None:
    (repo / IMAGES).write_text(read(repo, IMAGES).replace("max_hamming: 6", "max_hamming: 4"))
    files = worktree(repo)
    patch = seed(
        repo, "ipr-counterfeit", ALL, "set_param", "counterfeit-image-match.max_hamming", 4
    )
    code, out = fold(repo, patch)
    assert code == 0, out
    assert "already folded" in out
    assert out.rstrip().endswith("nothing written.")
    assert worktree(repo) == files
    code, out = fold(repo, patch, "--output", "json")
    assert code == 0, out
    assert (json.loads(out)["status"], json.loads(out)["files"]) == ("already folded", [])


def test_folding_twice_writes_once(repo: Path) -> None:
    patch = seed(repo, "ipr-counterfeit", ["GB", "US"], "disable_rule", "inspired-by-brand-gb-us")
    assert fold(repo, patch)[0] == 0
    files = worktree(repo)
    code, out = fold(repo, patch)
    assert code == 0, out
    assert (
        "already folded: rule inspired-by-brand-gb-us is not in strategies/ipr-counterfeit" in out
    )
    assert worktree(repo) == files


def test_a_rule_the_source_no_longer_has_is_refused(repo: Path) -> None:
    (repo / IMAGES).write_text(
        read(repo, IMAGES).replace("counterfeit-image-match\n", "counterfeit-image-exact\n")
    )
    files = worktree(repo)
    patch = seed(repo, "ipr-counterfeit", ALL, "set_mode", "counterfeit-image-match", "shadow")
    code, out = fold(repo, patch)
    assert code == 4, out
    assert "changes rule counterfeit-image-match, which the working tree's" in out
    assert worktree(repo) == files


def test_enable_rule_needs_no_change_unless_the_source_lacks_the_rule(repo: Path) -> None:
    patch = seed(repo, "ipr-counterfeit", ALL, "enable_rule", "counterfeit-image-match")
    code, out = fold(repo, patch)
    assert code == 0, out
    assert "nothing to fold" in out
    (repo / IMAGES).write_text(
        read(repo, IMAGES).replace("counterfeit-image-match\n", "counterfeit-image-exact\n")
    )
    code, out = fold(repo, patch)
    assert code == 4, out
    assert "re-enables rule counterfeit-image-match, which the working tree's" in out
    regional = seed(
        repo,
        "ipr-counterfeit",
        ["SG", "TH"],
        "enable_rule",
        "local-replica-phrasing",
        patch_id="hp-2",
    )
    code, out = fold(repo, regional)
    assert code == 4, out
    assert "re-enables rule local-replica-phrasing in SG, TH, where the working tree's rule" in out


def test_a_read_only_file_is_refused(repo: Path) -> None:
    (repo / IMAGES).chmod(0o444)
    files = worktree(repo)
    patch = seed(
        repo, "ipr-counterfeit", ALL, "set_param", "counterfeit-image-match.max_hamming", 4
    )
    code, out = fold(repo, patch)
    assert code == 4, out
    assert out == (
        f"modctl: error: {IMAGES} is read-only; make it writable and fold again (nothing was "
        "written)\n"
    )
    assert worktree(repo) == files


# What the user sees: the diff, the checks, the next steps.


def test_a_byte_order_mark_and_the_file_mode_are_kept(repo: Path) -> None:
    raw = (repo / IMAGES).read_bytes()
    (repo / IMAGES).write_bytes(b"\xef\xbb\xbf" + raw)
    (repo / IMAGES).chmod(0o640)
    patch = seed(
        repo, "ipr-counterfeit", ALL, "set_param", "counterfeit-image-match.max_hamming", 4
    )
    assert fold(repo, patch)[0] == 0
    expected = raw.replace(b"max_hamming: 6\n", b"max_hamming: 4\n")
    assert (repo / IMAGES).read_bytes() == b"\xef\xbb\xbf" + expected
    assert (repo / IMAGES).stat().st_mode & 0o777 == 0o640


def test_a_source_that_breaks_its_schema_is_refused(repo: Path) -> None:
    (repo / IMAGES).write_text(read(repo, IMAGES).replace("action: takedown", "action: takedwn"))
    patch = seed(
        repo, "ipr-counterfeit", ALL, "set_param", "counterfeit-image-match.max_hamming", 4
    )
    code, out = fold(repo, patch)
    assert code == 1, out
    assert out.startswith(
        "modctl: error: strategies/ipr-counterfeit does not validate (2 errors; the first: "
        f"{IMAGES}:"
    )
    assert len(out.splitlines()) == 1


def test_a_layout_that_cannot_be_edited_in_place_is_refused(repo: Path) -> None:
    (repo / IMAGES).write_text(
        read(repo, IMAGES).replace(
            "- id: counterfeit-image-match\n", "- # exact match\n  id: counterfeit-image-match\n"
        )
    )
    files = worktree(repo)
    patch = seed(repo, "ipr-counterfeit", ALL, "disable_rule", "counterfeit-image-match")
    code, out = fold(repo, patch)
    assert code == 4, out
    assert out == (
        "modctl: error: modctl cannot fold hp-20261129t1203-3f9a1c into the source in place: "
        "line 4: a comment between `-` and the item it opens; make the change by hand\n"
    )
    assert worktree(repo) == files


def test_dry_run_prints_the_diff_and_writes_nothing(repo: Path) -> None:
    files = worktree(repo)
    patch = seed(
        repo, "ipr-counterfeit", ALL, "set_param", "counterfeit-image-match.max_hamming", 4
    )
    code, out = fold(repo, patch, "--dry-run")
    assert code == 0, out
    assert f"--- a/{IMAGES}\n+++ b/{IMAGES}\n" in out
    assert "\n-    max_hamming: 6\n+    max_hamming: 4\n" in out
    assert out.rstrip().endswith("Dry run: nothing written.")
    assert worktree(repo) == files


def test_json_reports_the_files_changed(repo: Path) -> None:
    patch = seed(
        repo, "ipr-counterfeit", ALL, "set_param", "counterfeit-image-match.max_hamming", 4
    )
    code, out = fold(repo, patch, "-o", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["files"] == [IMAGES]
    assert (report["status"], report["written"], report["op"]) == ("folded", True, "set_param")
    assert report["regions"] == ALL
    assert "+    max_hamming: 4" in report["diff"]
    assert report["next"][-1].startswith("once it is stable in SG, MY, TH")


def test_the_tests_that_expected_the_old_behaviour_are_named(repo: Path) -> None:
    patch = seed(repo, "ipr-counterfeit", ALL, "disable_rule", "counterfeit-image-match")
    code, out = fold(repo, patch)
    assert code == 0, out
    lines = out.splitlines()
    failing = lines[
        lines.index("Tests that now fail (they expected the behaviour before the patch):") :
    ]
    assert failing[1].startswith("  strategies/ipr-counterfeit/tests/images.yaml:")
    assert "did not match counterfeit-image-match" in failing[1]
    assert "error T001 test" in out  # a test that names the removed rule is a finding
    assert lines[-2].startswith(
        "Next: review `git diff`, update the tests and fix the findings above, commit, then "
        "`modctl release cut ipr-counterfeit` and roll the release out;"
    )
    assert lines[-1].startswith(
        "once it is stable in SG, MY, TH, ID, PH, VN, GB, US, "
        "`modctl hotpatch revert hp-20261129t1203-3f9a1c`"
    )
    code, out = run(CliRunner(), repo, "test", "ipr-counterfeit")
    assert code == 1  # they do fail: the report told the truth


def test_a_clean_fold_names_no_test(repo: Path) -> None:
    patch = seed(repo, "ipr-counterfeit", ALL, "list_add", "authorized-sellers", ["S-ZZ-000001"])
    code, out = fold(repo, patch)
    assert code == 0, out
    assert "Tests that now fail" not in out
    assert "Next: review `git diff`, commit, then `modctl release cut ipr-counterfeit`" in out
    assert run(CliRunner(), repo, "validate", str(repo / "strategies/ipr-counterfeit"))[0] == 0


def take_off(root: Path, bundle: str, regions: list[str], patch_id: str) -> str:
    """Take the hot-patch off the state of `regions`, as `hotpatch revert` does; the commit."""
    from modctl import yamlio
    from modctl.state.store import Entry, Snapshot, Store

    def transition(state: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        files: dict[str, bytes | None] = {}
        for region in regions:
            path = f"regions/{region}/{bundle}.yaml"
            data = yamlio.loads(state.files[path].decode())
            data["hotpatches"] = [p for p in data["hotpatches"] if p["id"] != patch_id]
            files[path] = yamlio.dump(data).encode()
        entry = Entry("hotpatch-revert", "oncall@example.com", f"revert {patch_id}")
        return files, entry

    return Store(root).write(transition).commit or ""


def test_a_patch_taken_off_the_state_branch_still_folds_and_says_so(repo: Path) -> None:
    """Reverted or lapsed before anyone folded it: the fix still belongs in the source."""
    before = read(repo, PRICE)
    block = rule_block(before, "lux-unauthorized-cheap-sg-my", "brand-field-cheap-shadow")
    patch = seed(
        repo, "ipr-counterfeit", ["MY", "SG"], "disable_rule", "lux-unauthorized-cheap-sg-my"
    )
    gone = take_off(repo, "ipr-counterfeit", ["MY", "SG"], patch)
    code, out = fold(repo, patch)
    assert code == 0, out
    assert read(repo, PRICE) == replaced(before, block, "")
    assert f"no longer on the state branch (taken off by hotpatch-revert {gone[:12]} at " in out
    assert "modctl hotpatch revert" not in out
    code, out = run(CliRunner(), repo, "hotpatch", "revert", patch)
    assert code == 2, out
    assert out.startswith(
        f"modctl: error: hot-patch {patch} is no longer on the state branch (taken off by "
        f"hotpatch-revert {gone[:12]} at "
    )
    assert "nothing to revert" in out
