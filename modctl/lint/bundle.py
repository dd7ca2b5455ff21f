"""Semantic checks of one bundle against modctl.yaml: names, types, regions, regexes, coverage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modctl.errors import suggest
from modctl.findings import Finding, Pointer
from modctl.lint import regex
from modctl.lint.catalogue import finding
from modctl.model import Bundle, Config, Rule

# Which field types each operator applies to.
OPERATOR_TYPES: dict[str, frozenset[str]] = {
    "eq": frozenset({"string", "number", "integer", "boolean", "phash"}),
    "ne": frozenset({"string", "number", "integer", "boolean", "phash"}),
    "lt": frozenset({"number", "integer"}),
    "lte": frozenset({"number", "integer"}),
    "gt": frozenset({"number", "integer"}),
    "gte": frozenset({"number", "integer"}),
    "in": frozenset({"string", "number", "integer"}),
    "not_in": frozenset({"string", "number", "integer"}),
    "contains_any": frozenset({"string", "string_list"}),
    "matches": frozenset({"string"}),
    "exists": frozenset({"string", "number", "integer", "boolean", "string_list", "phash"}),
    "within_distance": frozenset({"phash"}),
}
SET_OPERATORS = {"in", "not_in", "contains_any"}
ORDER_OPERATORS = {"lt", "lte", "gt", "gte"}


def leaves(condition: dict[str, Any], pointer: Pointer) -> Iterator[tuple[dict[str, Any], Pointer]]:
    """Every field test of a condition, with its pointer."""
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        for i, child in enumerate(condition[key]):
            yield from leaves(child, (*pointer, key, i))
    elif "not" in condition:
        yield from leaves(condition["not"], (*pointer, "not"))
    else:
        yield condition, pointer


def operator_of(leaf: dict[str, Any]) -> str:
    return next(key for key in leaf if key != "field")


def value_fits(value: Any, field_type: str) -> bool:
    """Whether a literal can be compared with a field of `field_type`."""
    if field_type in ("string", "string_list"):
        return isinstance(value, str)
    if field_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if field_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if field_type == "boolean":
        return isinstance(value, bool)
    if field_type == "phash":
        return (
            isinstance(value, str)
            and len(value) == 16
            and all(c in "0123456789abcdef" for c in value)
        )
    return False


class _BundleChecker:
    def __init__(self, bundle: Bundle, config: Config) -> None:
        self.bundle = bundle
        self.config = config
        self.found: list[Finding] = []
        self.lists = {lst.name: lst for lst in bundle.lists}
        self.used_lists: set[str] = set()
        self.map_checked: dict[str, str | None] = {}

    def add(self, code: str, path: str, message: str, pointer: Pointer = ()) -> None:
        self.found.append(finding(code, path, message, pointer))

    def run(self) -> list[Finding]:
        self.check_regions()
        self.check_lists()
        self.check_rules()
        self.check_tests()
        return self.found

    def check_regions(self) -> None:
        if not self.bundle.declares_regions:
            return
        declared = set(self.config.regions)
        for i, region in enumerate(self.bundle.regions):
            if region not in declared:
                self.add(
                    "B006",
                    self.bundle.origin.path,
                    f"region {region!r} is not declared in modctl.yaml{suggest(region, declared)}",
                    ("regions", i),
                )

    def check_lists(self) -> None:
        seen: dict[str, str] = {}
        for lst in self.bundle.lists:
            if lst.name in seen:
                self.add(
                    "B004",
                    lst.origin.path,
                    f"list {lst.name!r} is already defined in {seen[lst.name]}",
                    ("name",),
                )
            else:
                seen[lst.name] = lst.origin.path

    def check_rules(self) -> None:
        bundle = self.bundle
        if not bundle.rules:
            self.add(
                "B003",
                bundle.origin.path,
                f"bundle {bundle.name!r} has no rules; add rules under strategies/{bundle.name}/rules/",
            )
        seen: dict[str, Rule] = {}
        for rule in bundle.rules:
            path, base = rule.origin.path, rule.origin.pointer
            first = seen.get(rule.id)
            if first is not None:
                self.add(
                    "R001",
                    path,
                    f"rule id {rule.id!r} is already used in {first.origin.path}",
                    (*base, "id"),
                )
            else:
                seen[rule.id] = rule
            for i, region in enumerate(rule.regions or ()):
                if region not in bundle.regions:
                    self.add(
                        "B006",
                        path,
                        f"rule {rule.id!r} names region {region!r}, which bundle "
                        f"{bundle.name!r} does not serve{suggest(region, bundle.regions)}",
                        (*base, "regions", i),
                    )
            used_params: set[str] = set()
            for leaf, pointer in leaves(rule.when, (*base, "when")):
                self.check_leaf(rule, leaf, pointer, used_params)
            for name in rule.params:
                if name not in used_params:
                    self.add(
                        "R011",
                        path,
                        f"rule {rule.id!r} declares param {name!r} but no condition uses it",
                        (*base, "params", name),
                    )
        for lst in bundle.lists:
            if lst.name not in self.used_lists:
                self.add(
                    "B005", lst.origin.path, f"no rule references list {lst.name!r}", ("name",)
                )

    def check_leaf(
        self, rule: Rule, leaf: dict[str, Any], pointer: Pointer, used_params: set[str]
    ) -> None:
        path = rule.origin.path
        field = leaf["field"]
        op = operator_of(leaf)
        value = leaf[op]
        field_type = self.config.fields.get(field)
        if field_type is None:
            self.add(
                "R002",
                path,
                f"rule {rule.id!r} reads field {field!r}, which modctl.yaml does not declare"
                f"{suggest(field, self.config.fields)}",
                (*pointer, "field"),
            )
        elif field_type not in OPERATOR_TYPES[op]:
            allowed = ", ".join(sorted(OPERATOR_TYPES[op]))
            self.add(
                "R003",
                path,
                f"rule {rule.id!r}: `{op}` does not apply to {field!r} ({field_type}); "
                f"it needs {allowed}",
                (*pointer, op),
            )
            field_type = None
        where = (*pointer, op)
        if op == "matches":
            found = regex.problem(value)
            if found is not None:
                code, why = found
                self.add(code, path, f"rule {rule.id!r}: regex {value!r} {why}", where)
        elif op == "within_distance":
            self.check_value(
                rule, value["value"], "hashes", field_type, (*where, "value"), used_params
            )
            self.check_param(rule, value["max"], "integer", (*where, "max"), used_params)
        elif op in SET_OPERATORS:
            kinds = "keywords" if op == "contains_any" else "ids"
            if op == "contains_any" and field_type == "string_list":
                kinds = "keywords|ids"
            self.check_value(rule, value, kinds, field_type, where, used_params)
        elif op in ORDER_OPERATORS:
            numeric = "number" if field_type is not None else None
            self.check_value(rule, value, "map", numeric, where, used_params)
        elif op in ("eq", "ne"):
            self.check_value(rule, value, "", field_type, where, used_params)

    def check_value(
        self,
        rule: Rule,
        value: Any,
        list_kinds: str,
        field_type: str | None,
        where: Pointer,
        used_params: set[str],
    ) -> None:
        path = rule.origin.path
        if isinstance(value, dict) and "list" in value:
            self.check_list(rule, value["list"], list_kinds, (*where, "list"))
        elif isinstance(value, dict) and "param" in value:
            self.check_param(rule, value, field_type, where, used_params)
        elif isinstance(value, dict) and "lookup" in value:
            self.check_list(rule, value["lookup"], "map", (*where, "lookup"))
            key = value["key"]
            if key not in self.config.fields:
                self.add(
                    "R002",
                    path,
                    f"rule {rule.id!r}: lookup key {key!r} is not a field declared in modctl.yaml"
                    f"{suggest(key, self.config.fields)}",
                    (*where, "key"),
                )
            if "times" in value:
                self.check_param(rule, value["times"], "number", (*where, "times"), used_params)
            bad = self.non_numeric_entry(value["lookup"])
            if bad is not None:
                self.add(
                    "R009",
                    path,
                    f"rule {rule.id!r} compares with map {value['lookup']!r}, but its entry "
                    f"{bad!r} is not a number",
                    where,
                )
        elif field_type is not None:
            values = value if isinstance(value, list) else [value]
            element_type = "string" if field_type == "string_list" else field_type
            for i, item in enumerate(values):
                if not value_fits(item, element_type):
                    at = (*where, i) if isinstance(value, list) else where
                    self.add(
                        "R009",
                        path,
                        f"rule {rule.id!r}: {item!r} is not {_a(element_type)}, so it cannot "
                        f"be compared with this field",
                        at,
                    )
                    break

    def non_numeric_entry(self, name: str) -> str | None:
        if name not in self.map_checked:
            lst = self.lists.get(name)
            entries = lst.entries.items() if lst is not None and lst.kind == "map" else ()
            self.map_checked[name] = next(
                (k for k, v in entries if not value_fits(v, "number")), None
            )
        return self.map_checked[name]

    def check_list(self, rule: Rule, name: str, kinds: str, where: Pointer) -> None:
        self.used_lists.add(name)
        lst = self.lists.get(name)
        if lst is None:
            self.add(
                "R004",
                rule.origin.path,
                f"rule {rule.id!r} references list {name!r}, which bundle {self.bundle.name!r} "
                f"does not define{suggest(name, self.lists)}",
                where,
            )
        elif kinds and lst.kind not in kinds.split("|"):
            self.add(
                "R006",
                rule.origin.path,
                f"rule {rule.id!r} uses {lst.kind} list {name!r} where "
                f"{_a(kinds.replace('|', ' or '))} list is needed",
                where,
            )

    def check_param(
        self, rule: Rule, value: Any, field_type: str | None, where: Pointer, used: set[str]
    ) -> None:
        if not (isinstance(value, dict) and "param" in value):
            return
        name = value["param"]
        used.add(name)
        if name not in rule.params:
            self.add(
                "R005",
                rule.origin.path,
                f"rule {rule.id!r} references param {name!r}, which its `params` does not "
                f"declare{suggest(name, rule.params)}",
                (*where, "param"),
            )
        elif field_type is not None and not value_fits(rule.params[name], field_type):
            self.add(
                "R009",
                rule.origin.path,
                f"rule {rule.id!r}: param {name!r} = {rule.params[name]!r} is not {_a(field_type)}",
                (*where, "param"),
            )

    def check_item(self, name: str, item: dict[str, Any], path: str, where: Pointer) -> None:
        """A declared field with a value of the wrong type can never match: say so."""
        for field_name, field_type in self.config.fields.items():
            value: Any = item
            pointer = where
            for part in field_name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
                pointer = (*pointer, part)
            if value is None:
                continue
            if field_type == "string_list":
                fits = isinstance(value, list) and all(isinstance(v, str) for v in value)
            else:
                fits = value_fits(value, field_type)
            if not fits:
                self.add(
                    "T003",
                    path,
                    f"test {name!r}: {field_name} is {value!r}, not {_a(field_type)} as "
                    "modctl.yaml declares, so no rule can match it",
                    pointer,
                )

    def check_tests(self) -> None:
        bundle = self.bundle
        rule_ids = {rule.id for rule in bundle.rules}
        names: dict[str, str] = {}
        covered: set[str] = set()
        for case in bundle.tests:
            path, base = case.origin.path, case.origin.pointer
            self.check_item(case.name, case.item, path, (*base, "item"))
            if case.name in names:
                self.add(
                    "T002",
                    path,
                    f"test name {case.name!r} is already used in {names[case.name]}",
                    (*base, "name"),
                )
            names.setdefault(case.name, path)
            if case.region not in bundle.regions:
                self.add(
                    "B006",
                    path,
                    f"test {case.name!r} runs in region {case.region!r}, which bundle "
                    f"{bundle.name!r} does not serve{suggest(case.region, bundle.regions)}",
                    (*base, "region"),
                )
            for key, ids in (("rules", case.rules), ("not_rules", case.not_rules)):
                for i, rule_id in enumerate(ids):
                    if rule_id not in rule_ids:
                        self.add(
                            "T001",
                            path,
                            f"test {case.name!r} names unknown rule {rule_id!r}"
                            f"{suggest(rule_id, rule_ids)}",
                            (*base, "expect", key, i),
                        )
            covered.update(case.rules)
        for rule in bundle.rules:
            if rule.id not in covered:
                self.add(
                    "R010",
                    rule.origin.path,
                    f"rule {rule.id!r} is not named in any test case's expect.rules",
                    (*rule.origin.pointer, "id"),
                )


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def check(bundle: Bundle, config: Config) -> list[Finding]:
    return _BundleChecker(bundle, config).run()
