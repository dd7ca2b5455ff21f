"""Typed playbook parameters: what each type accepts, read from the command line (text) or
checked as a value (a default in the playbook, a value recorded by an earlier run). Pure.

A value is never evaluated: text is only ever compared, matched against a pattern or parsed as
a number, a boolean, a duration or region codes. A string must be one line of printable text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modctl import printable
from modctl.errors import UsageError, suggest
from modctl.state.journal import problem as text_problem
from modctl.state.rollout import DURATION

TYPES = (
    "string",
    "integer",
    "number",
    "boolean",
    "bundle",
    "region",
    "regions",
    "version",
    "duration",
    "rule",
)
BUILT_IN = {"incident": "--incident", "reason": "--reason"}  # `${incident}`, `${reason}`
ALL = "all"  # every region, as each step reads it
NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")  # bundle and rule ids, as their schemas say
VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
INTEGER = re.compile(r"[-+]?[0-9]+")
NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
MAX_NAME = 80
MAX_TEXT = 1000


@dataclass(frozen=True)
class Param:
    """A declared parameter: its type, whether the run must give it, its default (None: no
    default), and the pattern and choices its value must meet."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    default: Any = None
    pattern: str | None = None
    choices: tuple[Any, ...] = field(default_factory=tuple)

    @classmethod
    def from_data(cls, name: str, data: dict[str, Any]) -> Param:
        return cls(
            name=name,
            type=data["type"],
            description=data.get("description", ""),
            required=bool(data.get("required", False)),
            default=data.get("default"),
            pattern=data.get("pattern"),
            choices=tuple(data.get("choices") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"type": self.type, "required": self.required}
        if self.default is not None:
            found["default"] = self.default
        if self.pattern is not None:
            found["pattern"] = self.pattern
        if self.choices:
            found["choices"] = list(self.choices)
        found["description"] = self.description
        return found


def parse(param: Param, text: str, regions: Sequence[str] | None) -> Any:
    """The value of `param` given as `text` on the command line; UsageError saying what the
    type takes when it is not one."""
    where = f"-p {param.name}"
    if param.type in ("integer", "number", "boolean"):
        word = text.strip()
        if param.type == "boolean":
            if word.lower() not in ("true", "false"):
                raise UsageError(f"{where} takes true or false, not {printable.shown(text)}")
            return check(param, word.lower() == "true", regions)
        pattern = INTEGER if param.type == "integer" else NUMBER
        if not pattern.fullmatch(word):
            raise UsageError(f"{where} takes {_kind(param.type)}, not {printable.shown(text)}")
        value: Any = int(word) if INTEGER.fullmatch(word) else float(word)
        return check(param, value, regions)
    if param.type == "regions":
        return check(param, _region_list(text), regions)
    return check(param, text, regions)


def _region_list(text: str) -> Any:
    if text.strip() == ALL:
        return ALL
    return [part.strip() for part in text.split(",")]


def check(param: Param, value: Any, regions: Sequence[str] | None, where: str | None = None) -> Any:
    """`value` as `param` takes it (regions given as text become a list); UsageError starting
    with `where` (default: `-p NAME`) when it is not of the type, or misses the pattern or the
    choices. `regions`: the regions of `modctl.yaml` (None: not known, and not checked)."""
    where = where or f"-p {param.name}"
    value = typed(param.type, value, regions, where)
    if param.pattern is not None and isinstance(value, str):
        from modctl.engine import linear

        if not linear.compile(param.pattern).found(value):
            raise UsageError(
                f"{where} {printable.shown(value)} does not match its pattern {param.pattern}"
            )
    if param.choices and value not in param.choices:
        shown = ", ".join(str(choice) for choice in param.choices)
        close = suggest(value, [str(c) for c in param.choices]) if isinstance(value, str) else ""
        raise UsageError(f"{where} takes one of {shown}, not {printable.shown(str(value))}{close}")
    return value


def typed(kind: str, value: Any, regions: Sequence[str] | None, where: str) -> Any:
    """`value` as a value of type `kind`; UsageError starting with `where` (what holds it)
    when it is not one."""
    if kind == "boolean":
        if not isinstance(value, bool):
            raise UsageError(f"{where} takes true or false, not {_shown(value)}")
        return value
    if kind in ("integer", "number"):
        numeric = isinstance(value, int) or (kind == "number" and isinstance(value, float))
        if isinstance(value, bool) or not numeric or not math.isfinite(value):
            raise UsageError(f"{where} takes {_kind(kind)}, not {_shown(value)}")
        return value
    if kind == "regions":
        if isinstance(value, str):
            value = _region_list(value)
        if value == ALL:
            return ALL
        if not isinstance(value, list) or not value:
            raise UsageError(f"{where} takes region codes separated by commas, or all")
        found: list[str] = []
        for region in value:
            code = typed("region", region, regions, where)
            if code not in found:
                found.append(code)
        return found
    if not isinstance(value, str):
        raise UsageError(f"{where} takes {_kind(kind)}, not {_shown(value)}")
    said = text_problem(value)
    if said is not None:
        raise UsageError(f"{where} {said}; it takes one line of printable text")
    if len(value) > MAX_TEXT:
        raise UsageError(f"{where} is longer than {MAX_TEXT} characters")
    if kind == "region":
        if regions is not None and value not in regions:
            raise UsageError(
                f"{where}: unknown region {printable.shown(value)}{suggest(value, regions)}; "
                f"modctl.yaml declares {', '.join(regions)}"
            )
        if regions is None and not re.fullmatch(r"[A-Z][A-Z0-9-]{1,15}", value):
            raise UsageError(f"{where}: {printable.shown(value)} is not a region code")
        return value
    shapes = {"bundle": NAME, "rule": NAME, "version": VERSION, "duration": DURATION}
    shape = shapes.get(kind)
    if shape is not None and (not shape.fullmatch(value) or len(value) > MAX_NAME):
        raise UsageError(f"{where} takes {_kind(kind)}, not {printable.shown(value)}")
    if kind == "duration" and not any(int(n) for n in re.findall(r"[0-9]+", value)):
        raise UsageError(f"{where} takes {_kind(kind)}, not {printable.shown(value)}")
    return value


def _kind(kind: str) -> str:
    return {
        "string": "one line of text",
        "integer": "a whole number",
        "number": "a number",
        "bundle": "a bundle name (lowercase letters, digits, . _ -)",
        "rule": "a rule id (lowercase letters, digits, . _ -)",
        "version": "a version such as 1.4.0",
        "duration": "a duration such as 30m, 4h or 1d",
        "region": "a region code",
        "regions": "region codes separated by commas, or all",
    }.get(kind, kind)


def _shown(value: Any) -> str:
    return printable.shown(value) if isinstance(value, str) else printable.shown(repr(value))


def text(value: Any) -> str:
    """A value as text, for a `${name}` inside a longer string: regions as a comma list,
    booleans as true or false, nothing (an optional parameter not given) as nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def values(
    params: dict[str, Param], given: dict[str, Any], regions: Sequence[str] | None
) -> dict[str, Any]:
    """Every parameter's value: the given ones (already typed) checked, the others their
    default; UsageError for an unknown or a missing one."""
    for name in given:
        if name in BUILT_IN:
            raise UsageError(
                f"-p {name}: ${{{name}}} reads the run's {BUILT_IN[name]}; pass {BUILT_IN[name]}"
            )
        if name not in params:
            known = ", ".join(params) or "none"
            raise UsageError(
                f"-p {printable.shown(name)}: the playbook has no such parameter{suggest(name, params)} "
                f"(its parameters: {known})"
            )
    found: dict[str, Any] = {}
    for name, param in params.items():
        if name in given:
            found[name] = check(param, given[name], regions)
        elif param.default is not None:
            found[name] = check(param, param.default, regions)
        elif param.required:
            raise UsageError(f"the playbook needs -p {name}=VALUE ({_kind(param.type)})")
    return found
