"""JSON Schema findings for one document, with messages a strategy author can act on."""

from __future__ import annotations

import difflib
import json
from typing import Any

from modctl import printable, schemas
from modctl.errors import suggest
from modctl.findings import Finding
from modctl.lint.catalogue import finding

MAX_PER_FILE = 50
KIND_SCHEMA = {
    "config": "config",
    "bundle": "bundle",
    "rules": "rules",
    "list": "list",
    "tests": "tests",
    "playbook": "playbook",
}


def check(kind: str, rel: str, data: Any) -> list[Finding]:
    name = KIND_SCHEMA[kind]
    validator = schemas.validator(name)
    found: list[Finding] = []
    for error in validator.iter_errors(data):
        found.append(_finding(name, rel, error))
        if len(found) == MAX_PER_FILE:
            break
    return found


def _finding(name: str, rel: str, error: Any) -> Finding:
    pointer = tuple(error.instance_path)
    schema_path = list(error.schema_path)
    keyword = schema_path[-1] if schema_path else ""
    where = _where(pointer)
    if keyword == "additionalProperties":
        unexpected = list(getattr(error.kind, "unexpected", []) or [])
        allowed = _allowed(name, schema_path[:-1])
        if unexpected and schema_path[-2:] == ["step", "additionalProperties"]:
            key = str(unexpected[0])
            message = (
                f"unknown step {printable.shown(key)}{where}; the steps are "
                f"{', '.join(allowed)}{suggest(key, allowed)}"
            )
            return finding("P001", rel, message, (*pointer, key), at_key=True)
        if unexpected:
            key = str(unexpected[0])
            hint = difflib.get_close_matches(key, allowed, n=1)
            message = f"unknown key {key!r}{where}"
            if hint:
                message += f"; did you mean {hint[0]!r}?"
            elif allowed:
                message += f"; allowed: {', '.join(allowed)}"
            return finding("S001", rel, message, (*pointer, key), at_key=True)
    if schema_path[-2:] in (["leaf", "maxProperties"], ["leaf", "minProperties"]):
        return finding(
            "S001", rel, f"a field test takes `field` and exactly one operator{where}", pointer
        )
    if schema_path[-2:] in (["step", "maxProperties"], ["step", "minProperties"]):
        return finding("S001", rel, f"a step has exactly one kind{where}", pointer)
    if keyword == "enum":
        return finding("S001", rel, _not_one_of(error.instance, error.kind.options, where), pointer)
    return finding("S001", rel, f"{error.message}{where}", pointer)


def _not_one_of(value: Any, options: list[Any], where: str) -> str:
    """An enum error with every allowed value, and the closest one when the value is text."""
    allowed = [option if isinstance(option, str) else json.dumps(option) for option in options]
    close = suggest(value, allowed) if isinstance(value, str) else ""
    shown = printable.shown(value) if isinstance(value, str) else json.dumps(value)[:60]
    return f"{shown} is not one of {', '.join(allowed)}{where}{close}"


def _where(pointer: tuple[str | int, ...]) -> str:
    if not pointer:
        return ""
    return " at " + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in pointer).lstrip(
        "."
    )


def _allowed(name: str, schema_path: list[str | int]) -> list[str]:
    node: Any = schemas.load(name)
    for step in schema_path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return []
    properties = node.get("properties", {}) if isinstance(node, dict) else {}
    return sorted(properties)
