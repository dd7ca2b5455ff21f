"""A semantic diff of one bundle between two versions: rules, params, lists, regions. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modctl.errors import UnknownBundleError
from modctl.model import Bundle, ListDef, Origin, Rule

WORKING_TREE = "working tree"

SAMPLES = 5
RULE_FIELDS = ("action", "mode", "regions", "severity", "queue", "description", "when")


@dataclass
class RuleChange:
    id: str
    changes: dict[str, tuple[Any, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "changes": {k: {"before": a, "after": b} for k, (a, b) in self.changes.items()},
        }


@dataclass
class ListChange:
    name: str
    kind: str
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    kind_before: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "kind_before": self.kind_before,
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "added_sample": self.added[:SAMPLES],
            "removed_sample": self.removed[:SAMPLES],
            "changed_sample": {
                k: {"before": a, "after": b} for k, (a, b) in list(self.changed.items())[:SAMPLES]
            },
        }


@dataclass
class BundleDiff:
    bundle: str
    before: str
    after: str
    meta: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    rules_added: list[Rule] = field(default_factory=list)
    rules_removed: list[Rule] = field(default_factory=list)
    rules_changed: list[RuleChange] = field(default_factory=list)
    lists_added: list[ListDef] = field(default_factory=list)
    lists_removed: list[ListDef] = field(default_factory=list)
    lists_changed: list[ListChange] = field(default_factory=list)
    tests_added: list[str] = field(default_factory=list)
    tests_removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.meta
            or self.rules_added
            or self.rules_removed
            or self.rules_changed
            or self.lists_added
            or self.lists_removed
            or self.lists_changed
            or self.tests_added
            or self.tests_removed
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "before": self.before,
            "after": self.after,
            "bundle_changes": {k: {"before": a, "after": b} for k, (a, b) in self.meta.items()},
            "rules": {
                "added": [{"id": r.id, "action": r.action} for r in self.rules_added],
                "removed": [{"id": r.id, "action": r.action} for r in self.rules_removed],
                "changed": [c.to_dict() for c in self.rules_changed],
            },
            "lists": {
                "added": [
                    {"name": lst.name, "kind": lst.kind, "entries": _size(lst)}
                    for lst in self.lists_added
                ],
                "removed": [{"name": lst.name, "kind": lst.kind} for lst in self.lists_removed],
                "changed": [c.to_dict() for c in self.lists_changed],
            },
            "tests": {"added": self.tests_added, "removed": self.tests_removed},
        }


def empty_bundle(name: str) -> Bundle:
    return Bundle(name, Origin(f"strategies/{name}/bundle.yaml"))


def _size(lst: ListDef) -> int:
    return len(lst.entries) if lst.kind == "map" else len(lst.items)


def _rule_view(rule: Rule) -> dict[str, Any]:
    view = {name: getattr(rule, name) for name in RULE_FIELDS}
    view["regions"] = list(rule.regions) if rule.regions is not None else "all"
    for key, value in rule.params.items():
        view[f"params.{key}"] = value
    return view


def diff(before: Bundle, after: Bundle, before_label: str, after_label: str) -> BundleDiff:
    result = BundleDiff(after.name, before_label, after_label)
    for name in ("regions", "precedence", "owner", "description"):
        a, b = getattr(before, name), getattr(after, name)
        if isinstance(a, tuple):
            a, b = list(a), list(b)
        if a != b and before.rules:
            result.meta[name] = (a, b)
    old_rules = {r.id: r for r in before.rules}
    new_rules = {r.id: r for r in after.rules}
    result.rules_added = [r for r in after.rules if r.id not in old_rules]
    result.rules_removed = [r for r in before.rules if r.id not in new_rules]
    for rule in after.rules:
        old = old_rules.get(rule.id)
        if old is None:
            continue
        a, b = _rule_view(old), _rule_view(rule)
        changes = {
            k: (a.get(k), b.get(k))
            for k in [*a, *(k for k in b if k not in a)]
            if a.get(k) != b.get(k)
        }
        if changes:
            result.rules_changed.append(RuleChange(rule.id, changes))
    old_lists = {lst.name: lst for lst in before.lists}
    new_lists = {lst.name: lst for lst in after.lists}
    result.lists_added = [lst for lst in after.lists if lst.name not in old_lists]
    result.lists_removed = [lst for lst in before.lists if lst.name not in new_lists]
    for lst in after.lists:
        old_list = old_lists.get(lst.name)
        if old_list is not None:
            change = _list_change(old_list, lst)
            if change is not None:
                result.lists_changed.append(change)
    old_tests = {t.name for t in before.tests}
    new_tests = {t.name for t in after.tests}
    result.tests_added = [t.name for t in after.tests if t.name not in old_tests]
    result.tests_removed = [t.name for t in before.tests if t.name not in new_tests]
    return result


def _list_change(old: ListDef, new: ListDef) -> ListChange | None:
    change = ListChange(new.name, new.kind, kind_before=old.kind if old.kind != new.kind else None)
    if new.kind == "map" or old.kind == "map":
        change.added = [k for k in new.entries if k not in old.entries]
        change.removed = [k for k in old.entries if k not in new.entries]
        change.changed = {
            k: (old.entries[k], v)
            for k, v in new.entries.items()
            if k in old.entries and old.entries[k] != v
        }
    else:
        before = set(old.items)
        after = set(new.items)
        change.added = [i for i in new.items if i not in before]
        change.removed = [i for i in old.items if i not in after]
    if change.added or change.removed or change.changed or change.kind_before:
        return change
    return None


def between(root: Path, bundle: str, before: str, after: str | None) -> BundleDiff:
    """The diff of `bundle` from git revision `before` to `after` (None: the working tree); a
    side without the bundle counts as an empty bundle, both sides without it is an error."""
    from modctl.source.workspace import load

    def version(rev: str | None) -> Bundle | None:
        try:
            return load(root, [bundle], rev=rev).bundle(bundle)
        except UnknownBundleError:
            return None

    old, new = version(before), version(after)
    if old is None and new is None:
        raise UnknownBundleError(
            f"no bundle named {bundle!r} at {before} nor at {after or WORKING_TREE}"
        )
    return diff(
        old or empty_bundle(bundle), new or empty_bundle(bundle), before, after or WORKING_TREE
    )
