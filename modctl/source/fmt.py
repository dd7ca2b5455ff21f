"""`modctl fmt`: YAML files laid out in the canonical style (`yamledit.formatted`), each checked
before it is written: read again by the strict loader it holds the same data, in the same
order, with the same comments, and formatting it again changes nothing. A file that fails
any of these is left as it is."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modctl import yamledit, yamlio
from modctl.errors import ExitCode, ModctlError, UsageError
from modctl.source import writing
from modctl.source.repo import YAML_SUFFIXES, select

BOM = "\ufeff".encode()


@dataclass
class FileResult:
    """One file: `unchanged`, `changed` (written unless checking), `unreadable` (not one strict
    YAML document) or `refused` (formatting would not keep it as it is); `problem` says which
    file, where and why, in one line."""

    path: str
    status: str
    before: str = ""
    after: str = ""
    problem: str = ""

    def diff(self) -> list[str]:
        if self.status != "changed":
            return []
        return writing.diff(self.path, self.before, self.after)

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"path": self.path, "status": self.status}
        if self.problem:
            found["problem"] = self.problem
        if self.status == "changed":
            found["diff"] = "\n".join(self.diff())
        return found


@dataclass
class Result:
    """What formatting found and did: with `check`, a file to change fails the run; with
    `write` off (`--check`, `--diff`), nothing was written."""

    check: bool
    files: list[FileResult] = field(default_factory=list)
    write: bool = True

    def having(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def exit_code(self) -> ExitCode:
        """2 when a file is not YAML modctl reads, else 4 when one could not be formatted, else
        1 when --check found files to change, else 0."""
        if self.having("unreadable"):
            return ExitCode.USAGE
        if self.having("refused"):
            return ExitCode.REFUSED
        if self.check and self.having("changed"):
            return ExitCode.CHECKS_FAILED
        return ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "changed": len(self.having("changed")),
            "written": len(self.having("changed")) if self.write else 0,
            "unchanged": len(self.having("unchanged")),
            "problems": len(self.having("unreadable")) + len(self.having("refused")),
            "files": [f.to_dict() for f in self.files],
        }


def targets(root: Path | None, paths: list[Path]) -> list[tuple[Path, str]]:
    """The files to format, each with the name to show: those named, the YAML files under the
    folders named, or (no paths) every file modctl reads in the repository at `root`."""
    if not paths:
        if root is None:
            raise UsageError("name files or folders to format, or run inside a repository")
        return [(root / source.rel, source.rel) for source in select(root, []).files]
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found += [
                (file, file.as_posix())
                for file in sorted(path.rglob("*"))
                if file.suffix in YAML_SUFFIXES
                and file.is_file()
                and not any(part.startswith(".") for part in file.relative_to(path).parts)
            ]
        elif path.is_file():
            found.append((path, path.as_posix()))
        else:
            raise UsageError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def fmt(files: list[tuple[Path, str]], *, check: bool, write: bool = True) -> Result:
    """Format `files` (see `targets`); with `check` or without `write`, write nothing."""
    result = Result(check, write=write and not check)
    for path, shown in files:
        done = format_file(path, shown)
        if done.status == "changed" and result.write:
            try:
                writing.check_writable(path, shown, "run modctl fmt again")
                writing.replace(path, _encoded(done.after, path.read_bytes()), shown)
            except ModctlError as exc:
                done = FileResult(shown, "refused", done.before, problem=exc.message)
        result.files.append(done)
    return result


def format_file(path: Path, shown: str) -> FileResult:
    """What formatting the file at `path` gives, written nowhere."""
    try:
        size = path.stat().st_size
        if size > yamlio.MAX_FILE_BYTES:
            raise yamlio.YamlError("Y004", yamlio.too_big(size))
        raw = path.read_bytes()
        text = yamlio.decode(raw)
        data = yamlio.loads(text.replace("\r\n", "\n"))
    except OSError as exc:
        why = f"{shown}: error Y011 cannot read file: {exc.strerror or exc}"
        return FileResult(shown, "unreadable", problem=why)
    except yamlio.YamlError as exc:
        why = f"{shown}:{exc.line}:{exc.column}: error {exc.code} {exc.message}"
        return FileResult(shown, "unreadable", problem=why)
    return formatted(shown, text, data)


def formatted(shown: str, text: str, data: Any) -> FileResult:
    """The file whose text is `text` and whose strictly loaded data is `data`, formatted."""
    newline = "\r\n" if "\r\n" in text else "\n"
    source = text.replace("\r\n", "\n")
    try:
        after = yamledit.formatted(source)
        again = yamledit.formatted(after)
    except yamledit.EditError as exc:
        return FileResult(shown, "refused", text, problem=f"{shown}: {exc.message}; left as is")
    problem = _kept(source, data, after, again)
    if problem:
        return FileResult(shown, "refused", text, problem=f"{shown}: {problem}; left as is")
    after = after.replace("\n", newline)
    return FileResult(shown, "unchanged" if after == text else "changed", text, after)


def _kept(source: str, data: Any, after: str, again: str) -> str | None:
    """Why the formatted text `after` cannot replace `source`, or None."""
    try:
        reread = yamlio.loads(after)
    except yamlio.YamlError as exc:
        reread = exc
    if _canonical(reread) != _canonical(data):
        return "formatting would change its data (please report it)"
    kept, had = yamlio.comments(after), yamlio.comments(source)
    if kept != had:
        lost = next((c for c in had if had.count(c) > kept.count(c)), None)
        what = f"the comment {lost!r}" if lost else "the order of its comments"
        return (
            f"formatting would lose {what} (comments inside [...] or {{...}}, and some beside "
            "items written that way, cannot be laid out: move it, or lay out the file by hand)"
        )
    if again != after:
        return "formatting does not settle on one layout (please report it)"
    return None


def _canonical(data: Any) -> str:
    """The data as JSON, keys in their order: 1, 1.0 and true differ, and so does a reordering."""
    if isinstance(data, Exception):
        return repr(data)
    return json.dumps(data, ensure_ascii=False)


def _encoded(text: str, raw: bytes) -> bytes:
    """`text` as the file's bytes, with the byte order mark the file had."""
    return (BOM if raw.startswith(BOM) else b"") + text.encode()
