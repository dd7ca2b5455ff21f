"""`modctl new bundle` and `modctl new rule`: written in the reference layout, validated before
anything is written, with a test case that fails until someone fills it in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl import yamlio
from modctl.cli import app
from modctl.source.fmt import format_file
from tests.conftest import run, run_git, snapshot, write_files

PRICE = "strategies/ipr-counterfeit/rules/price.yaml"
PRICE_TESTS = "strategies/ipr-counterfeit/tests/price.yaml"
WATCH = (
    *("new", "rule", "ipr-counterfeit", "fake-watch", "--field", "title", "--op", "matches"),
    *("--value", r"(?i)\bfake watch\b", "--action", "review", "--queue", "ipr-review"),
    *("--file", "rules/price.yaml"),
)


@pytest.fixture
def repo(reference_repo: Path) -> Path:
    run_git(reference_repo, "init", "-q")
    return reference_repo


def formatted(root: Path, rel: str) -> bool:
    return format_file(root / rel, rel).status == "unchanged"


def test_new_bundle_scaffolds_the_reference_layout(repo: Path, runner: CliRunner) -> None:
    code, out = run(runner, repo, "new", "bundle", "knockoff-toys", "-r", "SG,MY", "-r", "TH")
    assert code == 0, out
    folder = "strategies/knockoff-toys"
    files = [f"{folder}/{rel}" for rel in ("bundle.yaml", "rules/main.yaml", "tests/main.yaml")]
    assert out.splitlines()[:6] == [
        "Created bundle knockoff-toys:",
        *(f"  {rel}" for rel in files),
        f"  {folder}/lists/.gitkeep",
        "Next, add its first rule (until it has one, `modctl validate` says B003, a bundle with "
        "no rules):",
    ]
    assert (repo / f"{folder}/bundle.yaml").read_text() == (
        "# knockoff-toys. Rules: rules/; the lists they read: lists/; test cases: tests/.\n"
        "# Say what the strategy catches, and why, in description.\n"
        "name: knockoff-toys\n"
        "owner: author@example.com\n"
        "regions: [SG, MY, TH]\n"
    )
    assert yamlio.load_file(repo / f"{folder}/rules/main.yaml") == []
    assert all(formatted(repo, rel) for rel in files)
    code, out = run(runner, repo, "validate", str(repo / folder))
    assert code == 1
    assert out.splitlines() == [
        f"{folder}/bundle.yaml:3:1: error B003 bundle 'knockoff-toys' has no rules; add rules "
        f"under {folder}/rules/",
        "1 error, 0 warnings in 4 files",
    ]


def test_the_first_rule_goes_into_the_scaffold_and_validates(repo: Path, runner: CliRunner) -> None:
    description = "Toys sold as licensed: a 'Pokémon' plush from an unlicensed seller"
    code, out = run(
        runner, repo, "new", "bundle", "toys", "--owner", "toys@example.com", "--description",
        description,
    )  # fmt: skip
    assert code == 0, out
    assert yamlio.load_file(repo / "strategies/toys/bundle.yaml") == {
        "name": "toys",
        "description": description,
        "owner": "toys@example.com",
    }
    assert "Say what" not in (repo / "strategies/toys/bundle.yaml").read_text()
    code, out = run(
        runner, repo, "new", "rule", "toys", "toy-replica", "--field", "title", "--op",
        "contains_any", "--value", "[replica, knockoff]", "--action", "takedown",
    )  # fmt: skip
    assert code == 0, out
    rules = (repo / "strategies/toys/rules/main.yaml").read_text()
    assert rules.endswith(
        "- id: toy-replica\n"
        "  when: {field: title, contains_any: [replica, knockoff]}\n"
        "  action: takedown\n"
    )
    assert run(runner, repo, "validate", str(repo / "strategies/toys")) == (
        0,
        "4 files checked, no problems\n",
    )
    assert formatted(repo, "strategies/toys/rules/main.yaml")
    assert formatted(repo, "strategies/toys/tests/main.yaml")


def test_new_bundle_refuses_an_existing_bundle_and_bad_names(repo: Path, runner: CliRunner) -> None:
    before = snapshot(repo)
    cases = {
        ("ipr-counterfeit",): "modctl: error: bundle ipr-counterfeit already exists "
        "(strategies/ipr-counterfeit/); choose another name\n",
        ("Toys",): "modctl: error: bundle name 'Toys' is not a valid name: lower-case letters, "
        "digits, '.', '_' and '-', starting with a letter or digit, at most 80 characters\n",
        ("toys", "-r", "SGP"): "modctl: error: region 'SGP' is not declared in modctl.yaml; did "
        "you mean 'SG'? (regions: SG, MY, TH, ID, PH, VN, GB, US)\n",
    }
    for args, message in cases.items():
        assert run(runner, repo, "new", "bundle", *args) == (2, message)
    assert snapshot(repo) == before


def test_new_bundle_dry_run_lists_the_files_and_writes_nothing(
    repo: Path, runner: CliRunner
) -> None:
    before = snapshot(repo)
    result = runner.invoke(
        app, ["--repo", str(repo), "new", "bundle", "toys", "--dry-run", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dry_run"] is True
    assert [f["path"] for f in report["files"]] == [
        "strategies/toys/bundle.yaml",
        "strategies/toys/rules/main.yaml",
        "strategies/toys/tests/main.yaml",
        "strategies/toys/lists/.gitkeep",
    ]
    assert snapshot(repo) == before


def test_new_bundle_points_at_the_schemas_the_repository_keeps(
    repo: Path, runner: CliRunner
) -> None:
    write_files(repo, {".schemas/bundle.json": "{}", ".schemas/rules.json": "{}"})
    assert run(runner, repo, "new", "bundle", "toys")[0] == 0
    bundle = (repo / "strategies/toys/bundle.yaml").read_text()
    assert bundle.startswith("# yaml-language-server: $schema=../../.schemas/bundle.json\n")
    rules = (repo / "strategies/toys/rules/main.yaml").read_text()
    assert rules.startswith("# yaml-language-server: $schema=../../../.schemas/rules.json\n")
    assert "yaml-language-server" not in (repo / "strategies/toys/tests/main.yaml").read_text()


def test_new_rule_appends_keeping_every_byte_and_adds_a_failing_test(
    repo: Path, runner: CliRunner
) -> None:
    rules_before = (repo / PRICE).read_text()
    tests_before = (repo / PRICE_TESTS).read_text()
    code, out = run(runner, repo, *WATCH)
    assert code == 0, out
    assert out.splitlines() == [
        f"Added rule fake-watch to {PRICE}.",
        f"Added test case 'fake-watch matches' to {PRICE_TESTS}: it fails until its item is a "
        "listing the rule should match.",
        "Next: fill in the test case, then run `modctl test ipr-counterfeit`.",
    ]
    assert (repo / PRICE).read_text() == rules_before + (
        "\n- id: fake-watch\n"
        r"  when: {field: title, matches: '(?i)\bfake watch\b'}"
        "\n  action: review\n"
        "  queue: ipr-review\n"
    )
    assert (repo / PRICE_TESTS).read_text() == tests_before + (
        "\n# TODO: make the item a listing that fake-watch should match (the fields its\n"
        "# condition reads) and check the expected action; this case fails until then.\n"
        "- name: fake-watch matches\n"
        "  region: SG\n"
        "  item:\n"
        "    title: TODO\n"
        "  expect:\n"
        "    action: review\n"
        "    rules: [fake-watch]\n"
    )
    assert formatted(repo, PRICE)
    assert formatted(repo, PRICE_TESTS)
    code, out = run(runner, repo, "validate")
    assert code == 0, out
    code, out = run(runner, repo, "test", "ipr-counterfeit", "-o", "json")
    assert code == 1
    (result,) = json.loads(out)
    failed = [case["name"] for case in result["results"] if not case["passed"]]
    assert failed == ["fake-watch matches"]
    assert result["untested_rules"] == ["fake-watch"]


def test_the_test_case_passes_once_filled_in(repo: Path, runner: CliRunner) -> None:
    assert run(runner, repo, *WATCH)[0] == 0
    tests = repo / PRICE_TESTS
    tests.write_text(tests.read_text().replace("title: TODO", "title: Fake watch sale"))
    code, out = run(runner, repo, "test", "ipr-counterfeit")
    assert code == 0, out
    assert "ipr-counterfeit: " in out
    assert "rules no test matches" not in out


@pytest.mark.parametrize(
    ("args", "item"),
    [
        # The placeholder is what the rule does not match...
        (("--field", "price", "--op", "gt", "--value", "5000"), {"price": 0}),
        (
            ("--field", "seller.ipr_strikes", "--op", "gte", "--value", "3"),
            {"seller": {"ipr_strikes": 0}},
        ),
        (("--field", "brand", "--op", "exists", "--value", "false"), {"brand": "TODO"}),
        # ...or, when it is (a test of inequality, a regex that finds TODO), no field at all.
        (("--field", "brand", "--op", "ne", "--value", "Gucci"), {}),
        (("--field", "title", "--op", "matches", "--value", "(?i)todo"), {}),
    ],
)
def test_the_test_case_fails_whatever_the_operator(
    repo: Path, runner: CliRunner, args: tuple[str, ...], item: dict[str, object]
) -> None:
    code, out = run(
        runner, repo, "new", "rule", "ipr-counterfeit", "r1", *args, "--action", "warn",
        "--file", "rules/new.yaml",
    )  # fmt: skip
    assert code == 0, out
    (case,) = yamlio.load_file(repo / "strategies/ipr-counterfeit/tests/new.yaml")
    assert case["item"] == item
    code, out = run(runner, repo, "test", "ipr-counterfeit")
    assert code == 1
    assert "'r1 matches' in SG" in out


def test_a_new_rules_file_gets_its_own_tests_file(repo: Path, runner: CliRunner) -> None:
    code, out = run(
        runner, repo, "new", "rule", "ipr-counterfeit", "r1", "--field", "price", "--op", "lt",
        "--value", "1", "--action", "warn", "--file", "rules/new.yaml", "--region", "GB",
        "--description", "Suspiciously cheap", "--severity", "low",
    )  # fmt: skip
    assert code == 0, out
    assert "strategies/ipr-counterfeit/rules/new.yaml (new file)" in out
    assert yamlio.load_file(repo / "strategies/ipr-counterfeit/rules/new.yaml") == [
        {
            "id": "r1",
            "description": "Suspiciously cheap",
            "severity": "low",
            "regions": ["GB"],
            "when": {"field": "price", "lt": 1},
            "action": "warn",
        }
    ]
    (case,) = yamlio.load_file(repo / "strategies/ipr-counterfeit/tests/new.yaml")
    assert case["region"] == "GB"


REFUSALS = {
    "unknown bundle": (
        (
            "ipr-counterfit",
            "r1",
            "--field",
            "title",
            "--op",
            "eq",
            "--value",
            "x",
            "--action",
            "warn",
        ),
        2,
        "modctl: error: no bundle named 'ipr-counterfit' in strategies/; did you mean "
        "'ipr-counterfeit'? (bundles: ipr-brand-misuse, ipr-counterfeit, ipr-notice-takedown); "
        "`modctl new bundle ipr-counterfit` makes one",
    ),
    "existing rule id": (
        (
            "ipr-counterfeit",
            "lux-unauthorized-cheap",
            "--field",
            "title",
            "--op",
            "eq",
            "--value",
            "x",
            "--action",
            "warn",
        ),
        2,
        "modctl: error: rule 'lux-unauthorized-cheap' already exists in "
        "strategies/ipr-counterfeit/rules/price.yaml; choose another id",
    ),
    "unknown field": (
        (
            "ipr-counterfeit",
            "r1",
            "--field",
            "titel",
            "--op",
            "eq",
            "--value",
            "x",
            "--action",
            "warn",
        ),
        2,
        "modctl: error: --field titel: modctl.yaml declares no such field; did you mean 'title'? "
        "(fields: id, title, description, price, currency, brand, category, seller.id, "
        "seller.ipr_strikes, seller.authorized_brands, image_phash, notice.ids, "
        "notice.counter_notice)",
    ),
    "unknown operator": (
        (
            "ipr-counterfeit",
            "r1",
            "--field",
            "title",
            "--op",
            "contains",
            "--value",
            "x",
            "--action",
            "warn",
        ),
        2,
        "modctl: error: --op contains: no such operator; did you mean 'contains_any'? "
        "(operators: eq, ne, lt, lte, gt, gte, in, not_in, contains_any, matches, exists, "
        "within_distance)",
    ),
    "operator that does not suit the field": (
        (
            "ipr-counterfeit",
            "r1",
            "--field",
            "title",
            "--op",
            "lt",
            "--value",
            "3",
            "--action",
            "warn",
        ),
        2,
        "modctl: error: --op lt does not apply to title, a string field; for a string field: "
        "eq, ne, in, not_in, contains_any, matches, exists",
    ),
    "unknown action": (
        (
            "ipr-counterfeit",
            "r1",
            "--field",
            "title",
            "--op",
            "eq",
            "--value",
            "x",
            "--action",
            "takedwn",
        ),
        2,
        "modctl: error: --action takedwn: no such action; did you mean 'takedown'? (actions: "
        "takedown, limit, review, warn, allow)",
    ),
    "review without a queue": (
        (
            "ipr-counterfeit",
            "r1",
            "--field",
            "title",
            "--op",
            "eq",
            "--value",
            "x",
            "--action",
            "review",
        ),
        2,
        "modctl: error: --action review needs --queue NAME: the review queue it sends to",
    ),
    "bad rule id": (
        (
            "ipr-counterfeit",
            "R 1",
            "--field",
            "title",
            "--op",
            "eq",
            "--value",
            "x",
            "--action",
            "warn",
        ),
        2,
        "modctl: error: rule id 'R 1' is not a valid name: lower-case letters, digits, '.', '_' "
        "and '-', starting with a letter or digit, at most 80 characters",
    ),
    "several rules files and no --file": (
        (
            "ipr-counterfeit",
            "r1",
            "--field",
            "title",
            "--op",
            "eq",
            "--value",
            "x",
            "--action",
            "warn",
        ),
        2,
        "modctl: error: bundle ipr-counterfeit has 4 rules files (rules/allow.yaml, "
        "rules/images.yaml, rules/phrasing.yaml, rules/price.yaml); name one with --file "
        "rules/NAME.yaml",
    ),
    "a file outside rules/": (
        (
            "ipr-counterfeit",
            "r1",
            "--field",
            "title",
            "--op",
            "eq",
            "--value",
            "x",
            "--action",
            "warn",
            "--file",
            "lists/x.yaml",
        ),
        2,
        "modctl: error: --file lists/x.yaml: a rules file is rules/NAME.yaml in the bundle's folder",
    ),
    "a value that is not YAML": (
        (
            "ipr-counterfeit",
            "r1",
            "--field",
            "price",
            "--op",
            "gt",
            "--value",
            "[1",
            "--action",
            "warn",
            "--file",
            "rules/price.yaml",
        ),
        2,
        "modctl: error: --value '[1' is not one YAML value: invalid YAML: while parsing a flow "
        "sequence; did not find expected ',' or ']'",
    ),
    "a list the bundle does not define": (
        (
            "ipr-counterfeit",
            "r1",
            "--field",
            "title",
            "--op",
            "contains_any",
            "--value",
            "{list: protected-brand}",
            "--action",
            "warn",
            "--file",
            "rules/price.yaml",
        ),
        1,
        "modctl: error: the new rule does not validate: strategies/ipr-counterfeit/rules/price.yaml:"
        "51:45: error R004 rule 'r1' references list 'protected-brand', which bundle "
        "'ipr-counterfeit' does not define; did you mean 'protected-brands'?; nothing written",
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_new_rule_refusals_write_nothing(name: str, repo: Path, runner: CliRunner) -> None:
    args, code, message = REFUSALS[name]
    before = snapshot(repo)
    assert run(runner, repo, "new", "rule", *args) == (code, message + "\n")
    assert snapshot(repo) == before


def test_new_rule_dry_run_shows_the_diff_and_writes_nothing(repo: Path, runner: CliRunner) -> None:
    before = snapshot(repo)
    code, out = run(runner, repo, *WATCH, "--dry-run")
    assert code == 0, out
    assert out.startswith("Would add rule fake-watch and test case 'fake-watch matches':\n")
    assert f"+++ b/{PRICE}\n" in out
    assert "+- id: fake-watch\n" in out
    assert f"+++ b/{PRICE_TESTS}\n" in out
    assert snapshot(repo) == before


def test_new_rule_json(repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["--repo", str(repo), *WATCH, "-o", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rule"]["id"] == "fake-watch"
    assert report["test_case"] == "fake-watch matches"
    assert [f["path"] for f in report["files"]] == [PRICE, PRICE_TESTS]
    assert report["warnings"] == []


def test_a_read_only_rules_file_is_refused(repo: Path, runner: CliRunner) -> None:
    (repo / PRICE).chmod(0o444)
    before = snapshot(repo)
    code, out = run(runner, repo, *WATCH)
    assert (code, out) == (
        4,
        f"modctl: error: {PRICE} is read-only; make it writable and run modctl new rule again "
        "(nothing was written)\n",
    )
    assert snapshot(repo) == before


def test_a_value_for_a_text_field_stays_text(repo: Path, runner: CliRunner) -> None:
    code, out = run(
        runner, repo, "new", "rule", "ipr-counterfeit", "r1", "--field", "seller.id", "--op",
        "in", "--value", "1234", "--action", "warn", "--file", "rules/new.yaml",
    )  # fmt: skip
    assert code == 0, out
    (rule,) = yamlio.load_file(repo / "strategies/ipr-counterfeit/rules/new.yaml")
    assert rule["when"] == {"field": "seller.id", "in": ["1234"]}


def test_a_bundle_that_does_not_pass_its_schemas_is_refused(repo: Path, runner: CliRunner) -> None:
    write_files(repo, {PRICE: "- id: a\n  action: warn\n"})
    before = snapshot(repo)
    code, out = run(runner, repo, *WATCH)
    assert code == 1
    assert out.startswith(
        "modctl: error: strategies/ipr-counterfeit does not validate (1 error; the first: "
        f"{PRICE}:1:3: error S001"
    )
    assert out.endswith("fix it before adding a rule (`modctl validate` lists them all)\n")
    assert snapshot(repo) == before


def test_a_rules_file_written_as_a_flow_list_is_refused(repo: Path, runner: CliRunner) -> None:
    allow = "strategies/ipr-counterfeit/rules/allow.yaml"
    write_files(
        repo,
        {
            allow: "[{id: allow-authorized-seller, when: {field: seller.id, in: "
            "{list: authorized-sellers}}, action: allow}]\n"
        },
    )
    before = snapshot(repo)
    code, out = run(
        runner, repo, "new", "rule", "ipr-counterfeit", "r1", "--field", "title", "--op", "eq",
        "--value", "x", "--action", "warn", "--file", "rules/allow.yaml",
    )  # fmt: skip
    assert (code, out) == (
        4,
        f"modctl: error: {allow}: line 1: the list is written in flow style; modctl cannot add "
        "to it in place: add the rule by hand, or name another file with --file\n",
    )
    assert snapshot(repo) == before
