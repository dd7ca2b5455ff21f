from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modctl.engine.assign import assign, bucket
from modctl.state.store import Store

# The vectors docs/state-branch.md gives the platform team; they pin the function forever.
VECTORS = [
    ("ipr-counterfeit", "L-SG-0000001", 10, None),
    ("ipr-counterfeit", "L-SG-0000002", 10, None),
    ("ipr-counterfeit", "L-SG-0000004", 10, None),
    ("ipr-brand-misuse", "L-GB-0000042", 50, None),
]


def test_bucket_is_the_documented_formula() -> None:
    for bundle, item_id, _weight, _ in VECTORS:
        digest = hashlib.sha256(f"{bundle}\x1f{item_id}".encode()).digest()
        assert bucket(bundle, item_id) == int.from_bytes(digest[:8], "big") % 10000


def test_documented_vectors() -> None:
    readme = (Path(__file__).parent.parent / "docs" / "state-branch.md").read_text()
    for bundle, item_id, weight, _ in VECTORS:
        line = f"| {bundle} | {item_id} | {bucket(bundle, item_id)} | {weight} | {assign(bundle, item_id, weight)} |"
        assert line in readme, line


@given(st.text(min_size=1), st.text(min_size=1), st.floats(0, 100), st.floats(0, 100))
def test_promotion_only_adds_listings_to_the_canary(
    bundle: str, item_id: str, a: float, b: float
) -> None:
    low, high = sorted((a, b))
    if assign(bundle, item_id, low) == "canary":
        assert assign(bundle, item_id, high) == "canary"


def test_share_follows_the_weight() -> None:
    ids = [f"L-{i}" for i in range(20000)]
    for weight in (1, 10, 50):
        share = sum(assign("b", i, weight) == "canary" for i in ids) / len(ids) * 100
        assert abs(share - weight) < 1.0
    assert all(assign("b", i, 0) == "stable" for i in ids[:100])
    assert all(assign("b", i, 100) == "canary" for i in ids[:100])


def test_weight_out_of_range() -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        assign("b", "x", 101)


def test_first_canary_leaves_the_rest_of_the_region_to_no_release(
    repo_after: Callable[..., Path],
) -> None:
    """What docs/state-branch.md tells the platform team about a region with a canary and no
    stable."""
    root = repo_after(("release", "cut", "demo"), ("rollout", "start", "demo", "0.1.0"))
    deploy = json.loads(Store(root).read().files["deploy/SG/demo.json"])
    assert deploy["stable"] is None
    assert (deploy["canary"]["version"], deploy["canary"]["weight"]) == ("0.1.0", 10)
    readme = " ".join(
        (Path(__file__).parent.parent / "docs" / "state-branch.md").read_text().split()
    )
    assert (
        'holds `"stable": null`, the listings assigned to the canary are decided by it, and the '
        "rest of the region's traffic by no release of the bundle: the bundle takes no action on "
        "them, as before it was deployed there."
    ) in readme
