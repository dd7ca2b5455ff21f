"""Engine-level checks: conditions that can never hold, and rules an allow rule always overrides.

Only what is cheap to prove is reported: tests on the same field inside one conjunction that
exclude each other, and allow rules whose conditions are a subset of another rule's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from modctl.findings import Finding, Pointer
from modctl.lint.bundle import operator_of
from modctl.lint.catalogue import finding
from modctl.model import Bundle, Rule


def conjunction(
    condition: dict[str, Any], pointer: Pointer
) -> Iterator[tuple[dict[str, Any], Pointer]]:
    """The field tests that must all hold for the condition to hold (nested `all` flattened)."""
    if "all" in condition:
        for i, child in enumerate(condition["all"]):
            yield from conjunction(child, (*pointer, "all", i))
    elif "field" in condition:
        yield condition, pointer


def _resolve(rule: Rule, value: Any) -> Any:
    if isinstance(value, dict) and "param" in value:
        return rule.params.get(value["param"])
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class _Field:
    """What one conjunction requires of one field."""

    def __init__(self) -> None:
        self.absent = False
        self.present = False
        self.equal: list[Any] = []
        self.unequal: set[Any] = set()
        self.allowed: set[Any] | None = None
        self.excluded: set[Any] = set()
        self.low = -math.inf
        self.low_strict = False
        self.high = math.inf
        self.high_strict = False

    def add(self, rule: Rule, bundle: Bundle, op: str, value: Any) -> None:
        if op == "exists":
            if value:
                self.present = True
            else:
                self.absent = True
            return
        self.present = True
        value = _resolve(rule, value)
        if op == "eq" and not isinstance(value, dict):
            self.equal.append(value)
        elif op == "ne" and not isinstance(value, dict):
            self.unequal.add(_key(value))
        elif op in ("in", "not_in"):
            values = _members(bundle, value)
            if values is None:
                return
            if op == "in":
                self.allowed = values if self.allowed is None else self.allowed & values
            else:
                self.excluded |= values
        elif op in ("lt", "lte", "gt", "gte"):
            bound = _number(value)
            if bound is None:
                return
            if op in ("gt", "gte") and (bound > self.low or (bound == self.low and op == "gt")):
                self.low, self.low_strict = bound, op == "gt"
            if op in ("lt", "lte") and (bound < self.high or (bound == self.high and op == "lt")):
                self.high, self.high_strict = bound, op == "lt"

    def contradiction(self) -> str | None:
        if self.absent and self.present:
            return "requires the field to be missing and to have a value"
        keys = {_key(v) for v in self.equal}
        if len(keys) > 1:
            return f"requires it to equal {' and '.join(sorted(map(str, keys)))} at once"
        for value in self.equal:
            key = _key(value)
            if key in self.unequal:
                return f"requires it to equal and not equal {value!r}"
            if self.allowed is not None and key not in self.allowed:
                return f"requires it to equal {value!r}, which its `in` values exclude"
            if key in self.excluded:
                return f"requires it to equal {value!r}, which its `not_in` values exclude"
            number = _number(value)
            if number is not None and not self._within(number):
                return f"requires it to equal {value!r} outside its bounds"
        if self.allowed is not None and not (self.allowed - self.excluded):
            return "leaves no value its `in` and `not_in` tests both allow"
        if self.low > self.high or (
            self.low == self.high and (self.low_strict or self.high_strict)
        ):
            return f"requires a value above {self.low:g} and below {self.high:g}"
        return None

    def _within(self, number: float) -> bool:
        above = number > self.low or (number == self.low and not self.low_strict)
        below = number < self.high or (number == self.high and not self.high_strict)
        return above and below


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _members(bundle: Bundle, value: Any) -> set[Any] | None:
    if isinstance(value, dict) and "list" in value:
        lst = bundle.list_named(value["list"])
        return None if lst is None else {_key(v) for v in lst.items}
    if isinstance(value, list):
        return {_key(v) for v in value}
    return None


def _canonical(rule: Rule, leaf: dict[str, Any]) -> str:
    resolved = {k: _resolve(rule, v) for k, v in leaf.items()}
    return _key(resolved)


def check(bundle: Bundle) -> list[Finding]:
    found: list[Finding] = []
    for rule in bundle.rules:
        fields: dict[str, _Field] = {}
        for leaf, _pointer in conjunction(rule.when, (*rule.origin.pointer, "when")):
            op = operator_of(leaf)
            fields.setdefault(leaf["field"], _Field()).add(rule, bundle, op, leaf[op])
        for name, constraint in fields.items():
            why = constraint.contradiction()
            if why:
                found.append(
                    finding(
                        "R012",
                        rule.origin.path,
                        f"rule {rule.id!r} can never match: its condition on {name!r} {why}",
                        (*rule.origin.pointer, "when"),
                    )
                )
                break
    found += _shadowed(bundle)
    return found


def _shadowed(bundle: Bundle) -> list[Finding]:
    found = []
    allow_rank = bundle.precedence.index("allow")
    allows = [r for r in bundle.rules if r.action == "allow" and r.mode == "enforce"]
    needs: dict[str, set[str]] = {
        r.id: {_canonical(r, leaf) for leaf, _ in conjunction(r.when, ())} for r in bundle.rules
    }
    for rule in bundle.rules:
        if rule.action == "allow" or rule.mode == "shadow":
            continue
        if bundle.precedence.index(rule.action) < allow_rank:
            continue
        for allow in allows:
            covers = allow.regions is None or set(rule.regions or bundle.regions) <= set(
                allow.regions
            )
            if covers and needs[allow.id] and needs[allow.id] <= needs[rule.id]:
                found.append(
                    finding(
                        "R013",
                        rule.origin.path,
                        f"rule {rule.id!r} can never decide: allow rule {allow.id!r} matches "
                        "whenever it does, and allow wins",
                        (*rule.origin.pointer, "id"),
                    )
                )
                break
    return found
