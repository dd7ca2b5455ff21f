"""Applying hot-patches to a release's config, as `render` does for deploy/. Pure: no I/O.

A hot-patch is a small, expiring override of a deployed release (see the `hotpatch` schema):
disable or enable a rule, change its action, mode or a param, add or remove list entries.
Patches apply in the order they were made; expired ones no longer apply.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from modctl.state.rollout import stamp


def expired(patch: dict[str, Any], now: datetime) -> bool:
    return str(patch["expires"]) <= stamp(now)


def active(patches: tuple[dict[str, Any], ...], now: datetime) -> list[dict[str, Any]]:
    return [p for p in patches if not expired(p, now)]


def apply(config: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of a release config with `patches` applied."""
    patched = copy.deepcopy(config)
    rules = {rule["id"]: rule for rule in patched["rules"]}
    disabled: set[str] = set()
    for patch in patches:
        op, target, value = patch["op"], patch["target"], patch.get("value")
        if op == "disable_rule":
            disabled.add(target)
        elif op == "enable_rule":
            disabled.discard(target)
        elif op in ("set_action", "set_mode") and target in rules:
            rules[target]["action" if op == "set_action" else "mode"] = value
        elif op == "set_param":
            rule_id, _, param = target.partition(".")
            if rule_id in rules:
                rules[rule_id]["params"] = {**rules[rule_id].get("params", {}), param: value}
        elif op in ("list_add", "list_remove") and target in patched["lists"]:
            entry = patched["lists"][target]
            items = entry.get("items", [])
            values = value if isinstance(value, list) else [value]
            if op == "list_add":
                entry["items"] = items + [v for v in values if v not in items]
            else:
                entry["items"] = [i for i in items if i not in values]
    patched["rules"] = [rule for rule in patched["rules"] if rule["id"] not in disabled]
    return patched
