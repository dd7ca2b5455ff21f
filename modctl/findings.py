"""Findings are data: what is wrong, where, how bad, under a stable code."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

Pointer = tuple[str | int, ...]


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem in one file. `pointer` is the path to the offending value inside the YAML
    document; `line`/`column` (1-based) are filled from it when the report is rendered."""

    code: str
    severity: Severity
    path: str
    message: str
    pointer: Pointer = ()
    at_key: bool = False
    line: int = 0
    column: int = 0

    def located(self, line: int, column: int) -> Finding:
        return replace(self, line=line, column=column)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity.value} {self.code} {self.message}"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """The inverse of to_dict, for a located finding."""
        return cls(
            code=data["code"],
            severity=Severity(data["severity"]),
            path=data["path"],
            message=data["message"],
            line=int(data["line"]),
            column=int(data["column"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class Check:
    code: str
    severity: Severity
    title: str
    explanation: str


@dataclass
class Report:
    """What a validation run found, over which files."""

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    def failed(self, *, strict: bool) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)
