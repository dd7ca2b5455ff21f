"""modctl.backtest.sample: seeded, labelled listings for backtesting the reference bundles."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import modctl
from modctl.backtest.sample import REGIONS, listings, main, write
from modctl.yamlio import load_file
from tests.conftest import copy_reference, run

PROJECT = Path(__file__).resolve().parent.parent
CONFIG = load_file(PROJECT / "modctl.yaml")
LISTS = PROJECT / "strategies"
SHIPPED = Path(modctl.__file__).parent / "samples" / "sample-listings.jsonl"
CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string_list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "phash": lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{16}", v) is not None,
    "boolean": lambda v: isinstance(v, bool),
}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return list(listings(3000, seed=7))


def dumps(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def flatten(item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted paths, the way modctl.yaml declares fields."""
    flat: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def list_items(name: str) -> list[str]:
    (path,) = LISTS.glob(f"*/lists/{name}.yaml")
    items: list[str] = load_file(path)["items"]
    return items


def test_regions_are_those_of_the_config() -> None:
    assert tuple(CONFIG["regions"]) == REGIONS


def test_same_seed_same_rows_and_other_seed_other_rows() -> None:
    first = list(listings(500, seed=3))
    assert first == list(listings(500, seed=3))
    assert first != list(listings(500, seed=4))
    assert list(listings(100, seed=3)) == first[:100]


def test_rows_hold_declared_fields_of_the_declared_types(rows: list[dict[str, Any]]) -> None:
    fields: dict[str, str] = CONFIG["fields"]
    for row in rows:
        assert row["region"] in REGIONS
        assert row["label"] in ("infringing", "clean")
        assert isinstance(row["price"], float)
        for key, value in flatten(row).items():
            if key in ("region", "label"):
                continue
            assert key in fields, f"{row['id']}: undeclared field {key}"
            assert CHECKS[fields[key]](value), f"{row['id']}: {key}={value!r} is not {fields[key]}"


def test_ids_are_unique_and_name_the_region(rows: list[dict[str, Any]]) -> None:
    assert len({row["id"] for row in rows}) == len(rows)
    noticed = set(list_items("noticed-listings"))
    for row in rows:
        assert row["id"] in noticed or re.fullmatch(rf"L-{row['region']}-\d{{7}}", row["id"])
        assert row["id"].startswith(f"L-{row['region']}-")
        assert row["seller"]["id"].startswith(f"S-{row['region']}-")


def test_listings_named_outside_the_notice_portal_carry_no_notice_id(
    rows: list[dict[str, Any]],
) -> None:
    noticed = [row for row in rows if row["id"] in set(list_items("noticed-listings"))]
    assert noticed
    assert all("ids" not in row["notice"] for row in noticed)
    uncontested = [row for row in noticed if not row["notice"]["counter_notice"]]
    assert uncontested


def test_each_noticed_listing_id_names_one_listing() -> None:
    """Each id names one listing: once a region's ids are used up, its notices come through
    the portal again."""
    noticed = set(list_items("noticed-listings"))
    used = [row["id"] for row in listings(20_000, seed=7) if row["id"] in noticed]
    assert sorted(used) == sorted(noticed)


@pytest.mark.parametrize("bundle", ["ipr-counterfeit", "ipr-brand-misuse", "ipr-notice-takedown"])
def test_every_reference_rule_matches_some_shipped_listing(bundle: str) -> None:
    from modctl.backtest.run import run

    hits = run(PROJECT, bundle, SHIPPED).to_dict()["rules"]
    assert hits
    assert not [rule for rule, counts in hits.items() if counts["matches"] == 0]


def test_regions_and_labels_are_mixed(rows: list[dict[str, Any]]) -> None:
    assert {row["region"] for row in rows} == set(REGIONS)
    labels = Counter(row["label"] for row in rows)
    assert set(labels) == {"infringing", "clean"}
    assert 0.15 <= labels["infringing"] / len(rows) <= 0.45


def test_rows_draw_on_the_reference_lists(rows: list[dict[str, Any]]) -> None:
    hashes = [int(h, 16) for h in list_items("counterfeit-phashes")]
    near = [
        row
        for row in rows
        if min((int(row["image_phash"], 16) ^ h).bit_count() for h in hashes) <= 5
    ]
    assert near
    assert sum(row["label"] == "infringing" for row in near) >= 0.9 * len(near)
    authorized = set(list_items("authorized-sellers"))
    assert any(row["seller"]["id"] in authorized for row in rows)
    verified = set(list_items("verified-notices"))
    assert any(set(row.get("notice", {}).get("ids", ())) & verified for row in rows)


def test_regions_argument() -> None:
    assert {row["region"] for row in listings(200, seed=1, regions=["GB", "US"])} == {"GB", "US"}
    with pytest.raises(ValueError, match="regions"):
        listings(1, regions=["XX"])


def test_shipped_sample_is_3000_rows_of_seed_7(rows: list[dict[str, Any]]) -> None:
    expected = "".join(dumps(row) + "\n" for row in rows)
    assert SHIPPED.read_text(encoding="utf-8") == expected


def test_write_and_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.jsonl"
    assert main(["--rows", "50", "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 50
    assert [json.loads(line) for line in lines] == list(listings(50, seed=7))
    assert "50" in capsys.readouterr().out
    assert write(tmp_path / "y.jsonl", 20, seed=2) == 20


def test_a_parquet_file_is_typed_as_modctl_yaml_declares_and_decides_as_the_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--out listings.parquet` writes Parquet (what `backtest --engine spark` reads): it wrote
    JSON lines into a file of that name."""
    parquet, lines = tmp_path / "listings.parquet", tmp_path / "listings.jsonl"
    assert main(["--rows", "400", "--out", str(parquet)]) == 0
    assert main(["--rows", "400", "--out", str(lines)]) == 0
    assert "wrote 400 listings to" in capsys.readouterr().out
    root = copy_reference(tmp_path)
    reports = []
    for data in (parquet, lines):
        code, out = run(
            CliRunner(), root, "backtest", "ipr-counterfeit", "--data", str(data), "-o", "json"
        )
        assert code == 0, out
        report = json.loads(out)
        del report["seconds"], report["data"]
        reports.append(report)
    assert reports[0] == reports[1]
    assert reports[0]["rows"] == 400


def test_an_out_file_of_another_kind_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--rows", "5", "--out", str(tmp_path / "listings.csv")])
    assert exit_.value.code == 2
    assert "--out " in capsys.readouterr().err
    assert not (tmp_path / "listings.csv").exists()
