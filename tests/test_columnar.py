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
