"""A playbook as a typed object, read from its YAML text through the strict loader, its schema
and its lint. Pure: the caller reads the file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modctl import yamlio
from modctl.emergency import lint
from modctl.emergency.params import Param
from modctl.errors import UsageError
from modctl.findings import Finding, Severity


@dataclass(frozen=True)
class Playbook:
    name: str
    description: str
    params: dict[str, Param]
    steps: list[dict[str, Any]]  # each {kind: fields}, as written
    source: str  # the YAML text, as the run record keeps it
    path: str = ""
    findings: list[Finding] = field(default_factory=list)  # its warnings

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "path": self.path,
            "params": {name: param.to_dict() for name, param in self.params.items()},
            "steps": self.steps,
        }


def load(text: str, path: str, regions: Sequence[str] | None, data: Any = None) -> Playbook:
    """The playbook written as `text` in `path` (`data`: the same, already parsed and found
    schema-valid); UsageError naming the first error of the file and where it is. `regions`:
    the regions of `modctl.yaml`."""
    from modctl.lint import schema

    source = yamlio.SourceMap(text)
    if data is None:
        try:
            data = yamlio.loads(text)
        except yamlio.YamlError as exc:
            raise _refused(path, exc.line, exc.column, exc.code, exc.message) from None
        found = schema.check("playbook", path, data)
    else:
        found = []
    found = found or lint.check(data, path, regions)
    errors = [f for f in found if f.severity is Severity.ERROR]
    if errors:
        first = errors[0]
        line, column = source.position(first.pointer, key=first.at_key)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise _refused(path, line, column, first.code, first.message + more)
    return Playbook(
        name=data["name"],
        description=" ".join(str(data.get("description", "")).split()),
        params={
            name: Param.from_data(name, spec) for name, spec in (data.get("params") or {}).items()
        },
        steps=list(data["steps"]),
        source=text,
        path=path,
        findings=found,
    )


def _refused(path: str, line: int, column: int, code: str, message: str) -> UsageError:
    return UsageError(
        f"{path}:{line}:{column}: {code} {message}; `modctl validate {path}` lists every finding"
    )
