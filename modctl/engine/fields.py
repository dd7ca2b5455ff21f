"""Reading listing fields by dotted path, and checking a listing against the field types
modctl.yaml declares (for `backtest` rows and `explain --item` alike)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from modctl import printable

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


def type_problem(item: dict[str, Any], fields: dict[str, str]) -> str | None:
    """What in a listing does not have the type modctl.yaml declares, if anything."""
    for path, field_type in fields.items():
        value: Any = item
        for depth, part in enumerate(path.split(".")):
            if value is not None and not isinstance(value, dict):
                parent = ".".join(path.split(".")[:depth])
                return f"field {parent!r}: {shown_value(value)} is not an object"
            value = None if value is None else value.get(part)
        if value is not None and not _fits(value, field_type):
            if isinstance(value, float) and not math.isfinite(value):
                return f"field {path!r}: {shown_value(value)} is not a finite number"
            return f"field {path!r}: {shown_value(value)} is not {_A[field_type]}"
        texts = value if isinstance(value, list) else [value]
        if not all(encodable(v) for v in texts if isinstance(v, str)):
            return f"field {path!r}: {shown_value(value)} holds a lone surrogate, which is not text"
    return None


def encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def shown_value(value: Any) -> str:
    """A value of a listing for a message: NaN and Infinity as JSON writes them, text escaped,
    and cut when long."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return printable.shown(value)
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


_A = {
    "string": "a string",
    "phash": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "string_list": "a list of strings",
}


def _fits(value: Any, field_type: str) -> bool:
    if field_type in ("string", "phash"):
        return isinstance(value, str)
    if isinstance(value, bool):
        return field_type == "boolean"
    if field_type == "number":
        if isinstance(value, float):
            return math.isfinite(value)
        return isinstance(value, int) and abs(value) < 2**1023
    if field_type == "integer":
        return isinstance(value, int) and -(2**63) <= value < 2**63
    if field_type == "string_list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return False
