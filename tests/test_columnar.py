"""The batch evaluator decides exactly as the row evaluator, listing for listing."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from modctl.model import Bundle, Origin, Rule
from tests.batching import Compiled, assert_same, batch_of, by_batch, by_rows, compiled
from tests.conftest import SAMPLE, reference_workspace
from tests.test_index import listing


def test_reference_bundles_on_the_sample() -> None:
    workspace = reference_workspace()
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    for bundle in workspace.bundles.values():
        served = [row for row in rows if row["region"] in bundle.regions]
        verdicts = by_batch(bundle, workspace.config, served)
        assert verdicts == by_rows(bundle, workspace.config, served)
        assert sum(1 for action, _, _ in verdicts if action == "takedown") > 50


def test_evaluators_sharing_a_batch() -> None:
    """A baseline and the current bundle decide the same batch, each with its own lists."""
    workspace = reference_workspace()
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    columns = batch_of(rows, workspace.config)
    for bundle in workspace.bundles.values():
        full = replace(bundle, regions=workspace.config.regions)
        assert by_batch(full, workspace.config, rows, columns) == by_rows(
            full, workspace.config, rows
        )


@cache
def reference_compiled(name: str) -> Compiled:
    workspace = reference_workspace()
    return compiled(workspace.bundles[name], workspace.config)


@settings(max_examples=200, deadline=None)
@given(st.lists(listing, min_size=1, max_size=8), st.data())
def test_generated_listings(items: list[dict[str, Any]], data: st.DataObject) -> None:
    workspace = reference_workspace()
    for item in items:
        item["region"] = data.draw(st.sampled_from(["SG", "MY", "GB", "US"]))
    for name, bundle in workspace.bundles.items():
        assert_same(bundle, workspace.config, items, reference_compiled(name))


def test_shadow_rules_match_but_never_decide() -> None:
    workspace = reference_workspace()
    config = workspace.config
    when = {"field": "title", "contains_any": ["gucci"]}
    rules = [
        Rule("watch", "takedown", when, Origin("r"), mode="shadow"),
        Rule("flag", "review", when, Origin("r")),
    ]
    bundle = Bundle("b", Origin("b"), regions=config.regions, rules=rules)
    items = [{"region": "SG", "title": "Gucci"}, {"region": "GB", "title": "Prada"}]
    expected = [("review", "flag", ["watch", "flag"]), ("none", None, [])]
    assert by_batch(bundle, config, items) == expected
    assert_same(bundle, config, items)


# Hostile patterns (hours of backtracking in `re` on the long titles below), Unicode word
# boundaries, the ends of text, case pairs, and patterns the prefilter indexes and does not.
REGEXES = [
    r"(a|a)*b",
    r"(a|aa)+$",
    r"\w*\w*\w*\w*\w*\w*\w*\w*\w*\w*\w*\w*x",
    r"\bhàng giả\b",
    r"(?i)\b(?:replicas?|1:1)\b",
    r"(?i)gucci\s*$",
    r"(?m)^sale$",
    r"(?i)[ks]\d+",
    r"\B\w\B",
]
TITLES = st.lists(
    st.sampled_from(
        [
            "a" * 40,
            "a" * 40 + "!",
            "a" * 40 + "b",
            "a" * 41 + "x",
            "mua hàng giả",
            "hàng giảx",
            "REPL\u0130CA",
            "1:1 copy",
            "Gucci \n",
            "x\nsale\n",
            "\u212a12",
            "\u017f9",
            "",
        ]
    )
    | st.text(st.sampled_from("aàbx \n_1:é\u212a"), max_size=12),
    min_size=1,
    max_size=8,
)


@cache
def regex_bundle() -> tuple[Bundle, Compiled]:
    config = reference_workspace().config
    rules = [
        Rule(f"regex-{i}", "warn", {"field": "title", "matches": p}, Origin("r"))
        for i, p in enumerate(REGEXES)
    ]
    bundle = Bundle("regexes", Origin("b"), regions=config.regions, rules=rules)
    return bundle, compiled(bundle, config)


@settings(max_examples=200, deadline=None)
@given(TITLES)
def test_regexes_decide_alike_by_row_and_batch(titles: list[str]) -> None:
    bundle, built = regex_bundle()
    items = [{"id": str(i), "region": "SG", "title": t} for i, t in enumerate(titles)]
    assert_same(bundle, reference_workspace().config, items, built)


def test_regexes_on_hostile_titles_by_row_and_batch() -> None:
    bundle, built = regex_bundle()
    titles = ["a" * 40 + "!", "a" * 40 + "b", "a" * 40, "a" * 40 + "x", "mua hàng giả"]
    items = [{"id": str(i), "region": "SG", "title": t} for i, t in enumerate(titles)]
    verdicts = by_batch(bundle, reference_workspace().config, items, built=built)
    assert [matched for _, _, matched in verdicts] == [
        ["regex-8"],
        ["regex-0", "regex-8"],
        ["regex-1", "regex-8"],
        ["regex-2", "regex-8"],
        ["regex-3", "regex-8"],
    ]
    assert_same(bundle, reference_workspace().config, items, built)
