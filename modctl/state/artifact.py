"""The compiled artifact of a release: the bundle as canonical JSON, and its sha256 digest.

Canonical means one byte sequence per content: keys sorted, no insignificant whitespace, list
entries in their written order (order matters to people reading diffs, not to the engine, but a
reordering is still a change worth a new digest). What the platform loads is exactly these bytes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from modctl.model import Bundle, Config, ListDef, Origin, Rule, TestCase

FORMAT = 1


def build(bundle: Bundle, config: Config, version: str, commit: str) -> dict[str, Any]:
    used = sorted({leaf_field for rule in bundle.rules for leaf_field in _fields(rule.when)})
    return {
        "format": FORMAT,
        "bundle": bundle.name,
        "version": version,
        "source_commit": commit,
        "regions": list(bundle.regions),
        "precedence": list(bundle.precedence),
        "fields": {name: config.fields[name] for name in used if name in config.fields},
        "rules": [
            {
                "id": rule.id,
                "action": rule.action,
                "mode": rule.mode,
                "regions": list(rule.regions) if rule.regions is not None else None,
                "severity": rule.severity,
                "queue": rule.queue,
                "params": rule.params,
                "when": rule.when,
            }
            for rule in bundle.rules
        ],
        "lists": {
            lst.name: {"kind": lst.kind, "entries": lst.entries}
            if lst.kind == "map"
            else {"kind": lst.kind, "items": list(lst.items)}
            for lst in bundle.lists
        },
    }


def canonical(artifact: dict[str, Any]) -> bytes:
    return json.dumps(artifact, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _fields(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["field"]] if isinstance(node.get("field"), str) else []
        if "lookup" in node and isinstance(node.get("key"), str):
            found.append(node["key"])
        return found + [f for value in node.values() for f in _fields(value)]
    if isinstance(node, list):
        return [f for value in node for f in _fields(value)]
    return []


def to_bundle(data: dict[str, Any], path: str, tests: tuple[TestCase, ...] = ()) -> Bundle:
    """The bundle a release config (an artifact, perhaps rendered and hot-patched) describes, for
    lint and the test cases; `path` names where it came from in their messages."""
    origin = Origin(path)
    bundle = Bundle(
        name=data["bundle"],
        origin=origin,
        regions=tuple(data["regions"]),
        declares_regions=True,
        precedence=tuple(data["precedence"]),
        tests=list(tests),
    )
    bundle.rules = [
        Rule.from_data({k: v for k, v in rule.items() if v is not None}, Origin(path, ("rules", i)))
        for i, rule in enumerate(data["rules"])
    ]
    bundle.lists = [
        ListDef.from_data({"name": name, **entry}, Origin(path, ("lists", name)))
        for name, entry in data["lists"].items()
    ]
    return bundle
