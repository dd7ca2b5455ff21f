"""Reading listing fields by dotted path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MISSING: Any = object()
# The most one listing may take as JSON: an `explain --item`, a backtest's JSON line or CSV record.
MAX_LISTING_BYTES = 1 << 20
LISTING_LIMIT = f"longer than {MAX_LISTING_BYTES >> 20} MiB, the limit for one listing"


def getter(path: str) -> Callable[[dict[str, Any]], Any]:
    """A fast reader of a dotted field path: the value, or MISSING when absent or null."""
    parts = path.split(".")
    if len(parts) == 1:
        (key,) = parts

        def top(item: dict[str, Any]) -> Any:
            value = item.get(key)
            return MISSING if value is None else value

        return top
    if len(parts) == 2:
        outer, inner = parts

        def nested(item: dict[str, Any]) -> Any:
            parent = item.get(outer)
            if not isinstance(parent, dict):
                return MISSING
            value = parent.get(inner)
            return MISSING if value is None else value

        return nested

    def deep(item: dict[str, Any]) -> Any:
        value: Any = item
        for part in parts:
            if not isinstance(value, dict):
                return MISSING
            value = value.get(part)
        return MISSING if value is None else value

    return deep
