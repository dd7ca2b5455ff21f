from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl.cli import app
from tests.conftest import MODCTL, memory_limit, modctl, write_files

TAKEDOWN = {
    "id": "L-1",
    "region": "SG",
    "title": "GUCCI Marmont bag brand new",
    "brand": "Gucci",
    "price": 120,
    "seller": {"id": "S-SG-900001", "ipr_strikes": 0},
    "image_phash": "0123456789abcdef",
}


def explain(runner: CliRunner, repo: Path, item: dict[str, object], *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["--repo", str(repo), "explain", "ipr-counterfeit", "--item", "-", *args],
        input=json.dumps(item),
    )
    return result.exit_code, result.output


def test_takedown_names_keyword_and_threshold(reference_repo: Path, runner: CliRunner) -> None:
    code, out = explain(runner, reference_repo, TAKEDOWN)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "ipr-counterfeit in SG: takedown (decided by lux-unauthorized-cheap)"
    assert lines[1] == "  matched lux-unauthorized-cheap (takedown)"
    assert "    - title contains 'Gucci' (list protected-brands) at 0-5" in lines
    assert "    - seller.id 'S-SG-900001' not in list authorized-sellers" in lines
    assert (
        "    - price 120 < 450 (brand-reference-price['Gucci'] 1500 x max_price_ratio 0.3)" in lines
    )


def test_near_miss_is_one_condition_short(reference_repo: Path, runner: CliRunner) -> None:
    item = {**TAKEDOWN, "price": 460}
    code, out = explain(runner, reference_repo, item)
    assert code == 0
    assert "  almost matched lux-unauthorized-cheap (takedown), one condition short:" in out
    assert (
        "    - price 460 not < 450 (brand-reference-price['Gucci'] 1500 x max_price_ratio 0.3)"
        in out
    )


def test_every_region_and_json(reference_repo: Path, runner: CliRunner) -> None:
    item = {k: v for k, v in TAKEDOWN.items() if k != "region"}
    code, out = explain(runner, reference_repo, item, "--output", "json")
    assert code == 0
    results = json.loads(out)
    assert len(results) == 8
    by_region = {r["region"]: r for r in results}
    assert by_region["SG"]["action"] == "takedown"
    assert by_region["SG"]["matched"][0]["reasons"][0].startswith("title contains 'Gucci'")


def test_bad_item_and_region(reference_repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        ["--repo", str(reference_repo), "explain", "ipr-counterfeit", "--item", "-"],
        input="[1]",
    )
    assert result.exit_code == 2
    assert "must hold one JSON object" in result.output
    code, out = explain(runner, reference_repo, TAKEDOWN, "--region", "XX")
    assert code == 2
    assert "does not serve region 'XX'" in out
    result = runner.invoke(
        app, ["--repo", str(reference_repo), "explain", "ipr-counterfeit", "--item", "nope.json"]
    )
    assert result.exit_code == 2
    assert "cannot read nope.json" in result.output
    result = runner.invoke(
        app,
        ["--repo", str(reference_repo), "explain", "ipr-counterfeit", "--item", "-"],
        input='{"region": "SG", "title": "Gucci \\ud800"}',
    )
    assert result.exit_code == 2
    assert result.output == (
        "modctl: error: - holds a lone surrogate (such as \\ud800), which is not text\n"
    )


def test_shadow_rule_and_no_match_in_text(minimal_repo: Path, runner: CliRunner) -> None:
    write_files(
        minimal_repo,
        {
            "strategies/demo/rules/watch.yaml": "- id: watch-title\n  mode: shadow\n  regions: [SG]\n"
            "  when: {field: title, exists: true}\n  action: review\n  queue: ipr\n"
        },
    )

    def explain_demo(item: dict[str, object]) -> list[str]:
        result = runner.invoke(
            app,
            ["--repo", str(minimal_repo), "explain", "demo", "--item", "-"],
            input=json.dumps(item),
        )
        assert result.exit_code == 0, result.output
        return result.output.splitlines()

    assert explain_demo({"region": "SG", "title": "plain shoes", "price": 5}) == [
        "demo in SG: none",
        "  matched watch-title (review, shadow: reported, never decides)",
        "    - title is present",
        "  almost matched fake-brand (takedown), one condition short:",
        "    - title contains no keyword of list brands",
    ]
    assert explain_demo({"region": "MY"}) == ["demo in MY: none", "  no rule matched or came close"]


def test_endless_item_stops_at_the_listing_limit(minimal_repo: Path) -> None:
    """`--item /dev/zero` never ends: reading it whole ran out of memory (exit 70)."""
    done = subprocess.run(
        [str(MODCTL), "--repo", str(minimal_repo), "explain", "demo", "--item", "/dev/zero"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        preexec_fn=memory_limit(600),
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "modctl: error: /dev/zero is longer than 1 MiB, the limit for one listing; "
        "--item takes one listing as a JSON object\n"
    )


def test_huge_item_file_and_stdin_stop_at_the_listing_limit(
    minimal_repo: Path, tmp_path: Path
) -> None:
    item = tmp_path / "item.json"
    item.write_text(json.dumps({"id": "1", "region": "SG", "title": "x" * (2 << 20)}))
    done = modctl("--repo", minimal_repo, "explain", "demo", "--item", item)
    assert done.returncode == 2, done.stderr
    assert "is longer than 1 MiB, the limit for one listing" in done.stderr
    done = subprocess.run(
        [str(MODCTL), "--repo", str(minimal_repo), "explain", "demo", "--item", "-"],
        input=item.read_bytes(),
        capture_output=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert b"- is longer than 1 MiB" in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id": "1", "price": NaN}', "NaN is not a number JSON has"),
        (b'{"id": "1", "price": 1e999}', "1e999 is not a finite number"),
        (b'{"id": "1", "title": "caf\xff"}', "is not UTF-8 text"),
    ],
    ids=["nan", "overflow", "not-utf8"],
)
def test_item_that_is_not_strict_json_is_refused(
    minimal_repo: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    item = tmp_path / "item.json"
    item.write_bytes(content)
    done = modctl("--repo", minimal_repo, "explain", "demo", "--item", item)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert message in done.stderr


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("price", "12", "field 'price': '12' is not a number"),
        ("seller", "S-SG-900001", "field 'seller': 'S-SG-900001' is not an object"),
        ("seller", {"id": "S-1", "ipr_strikes": 1.5}, "field 'seller.ipr_strikes': 1.5 is not an"),
        ("title", ["GUCCI"], "field 'title': ['GUCCI'] is not a string"),
    ],
    ids=["number-as-text", "object-as-text", "integer-as-float", "string-as-list"],
)
def test_field_of_another_type_than_declared_is_named(
    reference_repo: Path, runner: CliRunner, field: str, value: object, expected: str
) -> None:
    """As `backtest` refuses such a row: no rule can read the field, so the decision would be a
    quiet `none` or a near miss that says nothing of the cause."""
    code, out = explain(runner, reference_repo, {**TAKEDOWN, field: value})
    assert code == 2, out
    assert out.startswith(f"modctl: error: the listing's {expected}"), out
    assert out.endswith("as modctl.yaml declares it\n"), out
