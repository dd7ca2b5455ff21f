"""Traffic assignment between a region's stable release and its canary.

The production platform implements the same function, so modctl's analysis and the platform
agree on which listings the canary decided:

    bucket = int.from_bytes(sha256(f"{bundle}\\x1f{item_id}".encode("utf-8")).digest()[:8], "big") % 10000
    variant = "canary" if bucket < round(weight * 100) else "stable"

`weight` is the canary's share in percent (0-100, steps of 0.01). An item in the canary at one
weight stays in it at every higher weight, so promotion only ever adds listings to the canary.
"""

from __future__ import annotations

import hashlib
from typing import Literal

BUCKETS = 10_000


def bucket(bundle: str, item_id: str) -> int:
    digest = hashlib.sha256(f"{bundle}\x1f{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(bundle: str, item_id: str, weight: float) -> Literal["canary", "stable"]:
    if not 0 <= weight <= 100:
        raise ValueError(f"canary weight must be between 0 and 100, not {weight}")
    return "canary" if bucket(bundle, item_id) < round(weight * 100) else "stable"
