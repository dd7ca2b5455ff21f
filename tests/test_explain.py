from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from modctl.cli import app
from tests.conftest import write_files

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
