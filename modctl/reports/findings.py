"""One renderer per output format of a validation report: text, JSON, GitHub annotations, JUnit."""

from __future__ import annotations

from collections.abc import Callable

from modctl.findings import Check, Finding, Report, Severity
from modctl.reports import to_json
from modctl.reports.junit import Case, Failure, Suite, document


def text(report: Report, *, strict: bool) -> str:
    lines = [str(f) for f in report.findings]
    files = len(report.files)
    if report.findings:
        lines.append(
            f"{_plural(report.errors, 'error')}, {_plural(report.warnings, 'warning')} "
            f"in {_plural(files, 'file')}" + (" (--strict: warnings fail)" if strict else "")
        )
    else:
        lines.append(f"{_plural(files, 'file')} checked, no problems")
    return "\n".join(lines)


def as_json(report: Report, *, strict: bool) -> str:
    return to_json(
        {
            "ok": not report.failed(strict=strict),
            "files": len(report.files),
            "errors": report.errors,
            "warnings": report.warnings,
            "findings": [f.to_dict() for f in report.findings],
        }
    )


def github(report: Report, *, strict: bool) -> str:
    """GitHub Actions workflow commands: one annotation per finding."""
    lines = []
    for f in report.findings:
        level = "error" if f.severity is Severity.ERROR or strict else "warning"
        props = ",".join(
            [
                f"file={_escape_property(f.path)}",
                f"line={f.line}",
                f"col={f.column}",
                f"title={_escape_property(f'modctl {f.code}')}",
            ]
        )
        lines.append(f"::{level} {props}::{_escape_data(f.message)}")
    return "\n".join(lines)


def junit(report: Report, *, strict: bool) -> str:
    """JUnit XML: one test case per file checked, failing when the file has findings that fail."""
    by_file: dict[str, list[Finding]] = {path: [] for path in report.files}
    for f in report.findings:
        by_file.setdefault(f.path, []).append(f)
    cases = []
    for path, items in by_file.items():
        body = "\n".join(
            f"{f.line}:{f.column}: {f.severity.value} {f.code} {f.message}" for f in items
        )
        first = next((f for f in items if f.severity is Severity.ERROR or strict), None)
        if first is not None:
            failure = Failure(f"{first.code} {first.message}", first.code, body)
            cases.append(Case(path, "modctl.validate", failure=failure))
        else:
            cases.append(Case(path, "modctl.validate", output=body or None))
    return document("modctl validate", [Suite("modctl validate", cases)])


def explanation(check: Check) -> str:
    """What `validate --explain CODE` prints."""
    return f"{check.code} ({check.severity.value}): {check.title}\n\n{check.explanation}"


def catalogue(checks: list[Check]) -> str:
    """What `validate --explain` prints without a code: every code, its severity and title."""
    rows = [f"{c.code}  {c.severity.value:<7}  {c.title}" for c in checks]
    return "\n".join([*rows, "", "`modctl validate --explain CODE` explains one."])


FORMATS: dict[str, Callable[..., str]] = {
    "text": text,
    "json": as_json,
    "github": github,
    "junit": junit,
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")
