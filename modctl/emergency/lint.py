"""Semantic checks of a schema-valid playbook (P002 to P006; P001, an unknown step, comes from
the schema check, which sees it first). Pure: findings carry pointers, located by the caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from modctl import printable
from modctl.emergency import fields
from modctl.emergency import params as types
from modctl.errors import UsageError, suggest
from modctl.findings import Finding, Pointer
from modctl.lint.catalogue import finding
from modctl.lint.regex import problem as regex_problem


def check(data: dict[str, Any], rel: str, regions: Sequence[str] | None) -> list[Finding]:
    """Every finding of the playbook `data` read from `rel`; `regions`: the regions of
    `modctl.yaml` (None when it cannot be read: regions are then not checked)."""
    found: list[Finding] = []
    stem = PurePosixPath(rel).name.rsplit(".", 1)[0]
    if data["name"] != stem:
        found.append(
            finding(
                "P005",
                rel,
                f"name {data['name']!r} differs from the file name {stem!r}; "
                f"`modctl emergency run` finds a playbook by its file name",
                ("name",),
            )
        )
    declared = {
        name: types.Param.from_data(name, spec) for name, spec in (data.get("params") or {}).items()
    }
    for param in declared.values():
        found += _param(param, rel, regions)
    used: set[str] = set()
    for index, step in enumerate(data["steps"]):
        kind, body = next(iter(step.items()))
        found += _step(kind, body, ("steps", index, kind), rel, declared, regions, used)
    for name in declared:
        if name not in used and name not in types.BUILT_IN:
            found.append(
                finding(
                    "P006",
                    rel,
                    f"parameter {name!r} is used by no step",
                    ("params", name),
                    at_key=True,
                )
            )
    return found


def _param(param: types.Param, rel: str, regions: Sequence[str] | None) -> list[Finding]:
    at: Pointer = ("params", param.name)
    if param.name in types.BUILT_IN:
        return [
            finding(
                "P004",
                rel,
                f"parameter {param.name!r} is built in: ${{{param.name}}} reads the run's "
                f"{types.BUILT_IN[param.name]}; remove it from params",
                at,
                at_key=True,
            )
        ]
    found = []
    if param.pattern is not None:
        if param.type != "string":
            found.append(
                finding("P004", rel, f"pattern goes with type string, not {param.type}", at)
            )
        said = regex_problem(param.pattern)
        if said is not None:
            found.append(finding("P004", rel, f"pattern {said[1]}", (*at, "pattern")))
            return found
    unchosen = replace(param, choices=())
    for index, choice in enumerate(param.choices):
        try:
            types.check(unchosen, choice, regions, f"choice {index + 1} of {param.name}")
        except UsageError as exc:
            found.append(finding("P004", rel, exc.message, (*at, "choices", index)))
    if param.default is not None:
        try:
            types.check(param, param.default, regions, f"the default of {param.name}")
        except UsageError as exc:
            found.append(finding("P004", rel, exc.message, (*at, "default")))
    return found


def _step(
    kind: str,
    body: Any,
    at: Pointer,
    rel: str,
    declared: dict[str, types.Param],
    regions: Sequence[str] | None,
    used: set[str],
) -> list[Finding]:
    if kind == "note":
        return _field("text", body, at, rel, declared, regions, used, "note")
    found: list[Finding] = []
    op = body.get("op") if kind in ("hotpatch", "revert_hotpatch") else None
    for name, value in body.items():
        field_kind = fields.STEPS[kind].get(name)
        if field_kind is None:
            continue  # the schema refuses it
        found += _field(field_kind, value, (*at, name), rel, declared, regions, used, name, op)
    return found + _together(kind, body, at, rel)


def _field(
    kind: str,
    value: Any,
    at: Pointer,
    rel: str,
    declared: dict[str, types.Param],
    regions: Sequence[str] | None,
    used: set[str],
    name: str,
    op: Any = None,
) -> list[Finding]:
    names = fields.references(value)
    unknown = [ref for ref in names if ref not in declared and ref not in types.BUILT_IN]
    used.update(names)
    if unknown:
        known = [*declared, *types.BUILT_IN]
        ref = unknown[0]
        return [
            finding(
                "P002",
                rel,
                f"${{{printable.shown(ref)[1:-1]}}} names no parameter{suggest(ref, known)} "
                f"(declared: {', '.join(declared) or 'none'}; built in: incident, reason)",
                at,
            )
        ]
    if fields.whole(op) is not None:
        op = None  # the op is a parameter: its value can be anything until the run
    if isinstance(value, list) and names:  # list entries: each as the field takes one
        return [
            found
            for index, item in enumerate(value)
            for found in _field(kind, item, (*at, index), rel, declared, regions, used, name, op)
        ]
    whole = fields.whole(value)
    if whole is not None:
        param_type = declared[whole].type if whole in declared else "string"
        allowed = fields.fits(kind, op)
        if param_type in allowed:
            return []
        return [
            finding(
                "P003",
                rel,
                f"{name} takes {' or '.join(allowed)} parameters; ${{{whole}}} is {param_type}",
                at,
            )
        ]
    if names:
        if kind in fields.TEXTUAL:
            return []
        return [
            finding(
                "P003",
                rel,
                f"{name}: a ${{name}} inside a longer string makes text, and {name} does not "
                f"take text; write the whole value as one ${{name}}",
                at,
            )
        ]
    if kind == "value" and op is None:
        return []
    try:
        fields.parse(kind, value, regions, name, op)
    except UsageError as exc:
        return [finding("P003", rel, exc.message, at)]
    return []


def _together(kind: str, body: dict[str, Any], at: Pointer, rel: str) -> list[Finding]:
    """Fields that go together, or do not."""
    problems = []
    if kind == "require" and "bundle" not in body:
        problems += [
            f"{key} needs a bundle to check" for key in ("has_stable", "has_canary") if key in body
        ]
    if kind == "revert_hotpatch" and "id" not in body and not {"op", "target"} <= set(body):
        problems.append("revert_hotpatch takes id, or op and target")
    op = body.get("op")
    if kind == "hotpatch" and fields.whole(op) is None:
        from modctl.state import hotpatch

        if op in hotpatch.WITH_VALUE and "value" not in body:
            problems.append(f"{op} needs a value")
        if op not in hotpatch.WITH_VALUE and "value" in body:
            problems.append(f"{op} takes no value")
        review = op == "set_action" and body.get("value") == "review"
        if review and "queue" not in body:
            problems.append("set_action review needs a queue (the review queue its matches go to)")
        if "queue" in body and not review and fields.whole(body.get("value")) is None:
            problems.append("queue goes with set_action review only")
    return [finding("P003", rel, problem, at) for problem in problems]
