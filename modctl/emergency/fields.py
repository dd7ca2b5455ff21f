"""The fields of each playbook step, what each takes, and `${name}` substitution. Pure.

Substitution puts values into step fields and nowhere else: a field whose whole value is
`${name}` takes the parameter's typed value (a number stays a number); a `${name}` inside a
longer string becomes text. Substituted text is never read again for references, and nothing is
evaluated: a value such as `$(rm -rf ~)` or `{{7*7}}` stays those characters.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from typing import Any

from modctl import printable
from modctl.emergency import params as types
from modctl.errors import UsageError
from modctl.state import hotpatch

# Each step's fields and the kind of value each takes; a `note` is text itself.
STEPS: dict[str, dict[str, str]] = {
    "require": {
        "bundle": "bundle",
        "regions": "regions",
        "has_stable": "boolean",
        "has_canary": "boolean",
        "frozen": "boolean",
        "incident": "boolean",
    },
    "freeze": {"regions": "regions"},
    "unfreeze": {"regions": "regions"},
    "abort_canary": {"bundle": "bundle", "regions": "regions"},
    "rollback": {"bundle": "bundle", "regions": "regions", "to": "version"},
    "hotpatch": {
        "bundle": "bundle",
        "regions": "regions",
        "op": "op",
        "target": "target",
        "value": "value",
        "queue": "queue",
        "expires_in": "duration",
        "reason": "text",
    },
    "revert_hotpatch": {
        "bundle": "bundle",
        "regions": "regions",
        "id": "hotpatch",
        "op": "op",
        "target": "target",
    },
    "verify": {"bundle": "bundle", "regions": "regions"},
    "note": {"": "text"},
}
# The fields a step cannot do without (as the schema says), which an optional parameter that
# was not given can leave empty.
REQUIRED: dict[str, tuple[str, ...]] = {
    "freeze": ("regions",),
    "unfreeze": ("regions",),
    "abort_canary": ("bundle",),
    "rollback": ("bundle",),
    "hotpatch": ("bundle", "op", "target", "expires_in"),
    "revert_hotpatch": ("bundle",),
    "verify": ("bundle",),
}
# The parameter types a field takes as a whole `${name}` (value: see `fits`).
FITS: dict[str, tuple[str, ...]] = {
    "bundle": ("bundle",),
    "regions": ("regions", "region"),
    "boolean": ("boolean",),
    "version": ("version",),
    "duration": ("duration",),
    "op": ("string",),
    "target": ("rule", "string"),
    "queue": ("string",),
    "hotpatch": ("string",),
    "text": ("string", "bundle", "region", "version", "duration", "rule"),
}
# Kinds that take text, so that a `${name}` may sit inside a longer string.
TEXTUAL = ("op", "target", "queue", "hotpatch", "text", "value")
VALUE_FITS: dict[str, tuple[str, ...]] = {
    "set_action": ("string",),
    "set_mode": ("string",),
    "set_param": ("integer", "number", "boolean", "string"),
    "list_add": ("string",),
    "list_remove": ("string",),
}
REFERENCE = re.compile(r"\$\{([^{}]*)\}")
PARAM_NAME = re.compile(r"[a-z_][a-z0-9_]*")
HOTPATCH_ID = re.compile(r"hp-[a-z0-9-]+")


def references(value: Any) -> list[str]:
    """Every `${name}` in `value` (a field's value, strings inside lists too), in order."""
    if isinstance(value, str):
        return REFERENCE.findall(value)
    if isinstance(value, list):
        return [name for item in value for name in references(item)]
    return []


def whole(value: Any) -> str | None:
    """The name when `value` is exactly one `${name}`, else None."""
    found = REFERENCE.fullmatch(value) if isinstance(value, str) else None
    return found.group(1) if found else None


def substitute(value: Any, values: dict[str, Any]) -> Any:
    """`value` with every `${name}` replaced by its value from `values` (see the module's
    doc); UsageError for a name `values` lacks."""
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    if not isinstance(value, str):
        return value
    name = whole(value)
    if name is not None:
        return copy.deepcopy(_value(name, values))
    return REFERENCE.sub(lambda found: types.text(_value(found.group(1), values)), value)


def _value(name: str, values: dict[str, Any]) -> Any:
    if name not in values:
        raise UsageError(f"${{{printable.shown(name)[1:-1]}}} names no parameter")
    return values[name]


def parse(kind: str, value: Any, regions: Sequence[str] | None, where: str, op: Any = None) -> Any:
    """A field's value (after substitution) as the step takes it; UsageError starting with
    `where` (the field) saying what it takes when it is not that. `op`: the hot-patch op, for
    its value."""
    if kind in ("bundle", "regions", "boolean", "version", "duration"):
        return types.typed(kind, value, regions, where)
    if kind == "op":
        if value not in hotpatch.OPS:
            raise UsageError(
                f"{where} {_shown(value)} is no hot-patch op; the ops are {', '.join(hotpatch.OPS)}"
            )
        return value
    if kind == "value":
        return _op_value(op, value, where)
    value = types.typed("string", value, None, where)
    checker = _CHECKS.get(kind)
    if checker is not None:
        checker(value, where)
    return value


def _op_value(op: Any, value: Any, where: str) -> Any:
    if op in ("list_add", "list_remove"):
        entries = value if isinstance(value, list) else [value]
        if not entries:
            raise UsageError(f"{where}: {op} takes one or more entries")
        return [types.typed("string", entry, None, where) for entry in entries]
    if op == "set_param":
        kind = (
            "string"
            if isinstance(value, str)
            else "boolean"
            if isinstance(value, bool)
            else "number"
        )
        return types.typed(kind, value, None, where)
    choices = {"set_action": hotpatch.ACTIONS, "set_mode": hotpatch.MODES}.get(str(op))
    if choices is not None and value not in choices:
        raise UsageError(f"{where}: {op} takes one of {', '.join(choices)}, not {_shown(value)}")
    return value


def _queue(value: str, where: str) -> None:
    if not types.NAME.fullmatch(value):
        raise UsageError(
            f"{where} {_shown(value)} is not a queue name (lowercase letters, digits, . _ -)"
        )


def _hotpatch_id(value: str, where: str) -> None:
    if not HOTPATCH_ID.fullmatch(value):
        raise UsageError(f"{where} {_shown(value)} is not a hot-patch id (hp-...)")


_CHECKS: dict[str, Callable[[str, str], None]] = {"queue": _queue, "hotpatch": _hotpatch_id}


def _shown(value: Any) -> str:
    return printable.shown(value) if isinstance(value, str) else printable.shown(repr(value))


def fits(kind: str, op: Any = None) -> tuple[str, ...]:
    """The parameter types that suit a field of `kind` as a whole `${name}`; `op` is the
    hot-patch op, for its value (any type when the op is itself a parameter)."""
    if kind == "value":
        return VALUE_FITS.get(str(op), types.TYPES)
    return FITS[kind]
