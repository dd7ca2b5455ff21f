"""The JSON Schemas (Draft 2020-12) of every file modctl reads, shipped as package data."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from modctl.errors import UsageError

# name -> (file it describes, one-line summary)
SCHEMAS: dict[str, tuple[str, str]] = {
    "config": ("modctl.yaml", "repository configuration: regions, fields, waves, gates, metrics"),
    "bundle": (
        "strategies/<bundle>/bundle.yaml",
        "bundle metadata: name, owner, regions, precedence",
    ),
    "rules": (
        "strategies/<bundle>/rules/*.yaml",
        "a list of rules: condition, action, params, regions",
    ),
    "list": ("strategies/<bundle>/lists/*.yaml", "one named list: keywords, ids, hashes or a map"),
    "tests": (
        "strategies/<bundle>/tests/*.yaml",
        "a list of test cases: region, item, expected decision",
    ),
    "playbook": ("playbooks/*.yaml", "an emergency playbook: typed params and steps"),
    "hotpatch": ("region state (state branch)", "one hot-patch: op, target, value, reason, expiry"),
    "metrics": (
        "metrics.source (CSV, JSON lines)",
        "one metrics row: region, bundle, variant, window, counters",
    ),
}


def text(name: str) -> str:
    if name not in SCHEMAS:
        raise UsageError(f"no schema named {name!r}; choose one of: {', '.join(SCHEMAS)}")
    return resources.files(__package__).joinpath(f"{name}.schema.json").read_text("utf-8")


@cache
def load(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(text(name))
    return schema


@cache
def validator(name: str) -> Any:
    """A compiled jsonschema-rs validator: about two orders of magnitude faster than the
    pure-Python `jsonschema` on large rule sets."""
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(load(name))


def fingerprint() -> str:
    """Changes whenever any schema changes; part of the parse cache key."""
    import hashlib

    digest = hashlib.blake2b(digest_size=8)
    for name in SCHEMAS:
        digest.update(text(name).encode())
    return digest.hexdigest()
