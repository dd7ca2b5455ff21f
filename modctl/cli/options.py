"""Options that many commands share, declared once, and the one bundle they travel in."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, TypeVar

import typer

from modctl import printable
from modctl.cli import completion
from modctl.errors import UsageError

T = TypeVar("T")
MAX_BUNDLE_NAME = 80  # as the bundle schema says


def bundle_name(value: T) -> T:
    """The door for bundle names given on the command line (one, or a list): a name longer
    than any bundle's is refused in one line, before anything looks for it."""
    for name in _each(value):
        if len(str(name)) > MAX_BUNDLE_NAME:
            raise UsageError(
                f"bundle name {printable.shown(str(name))} is longer than {MAX_BUNDLE_NAME} "
                "characters, the most a bundle name has"
            )
    return value


def checked_path(param: typer.CallbackParam, value: T) -> T:
    """The door for paths given on the command line (one, or a list): a path the system will
    not even look up (a name too long, a folder it may not enter, a loop of links) is refused in
    one line. A path that does not exist passes: the command says what it expected there."""
    name = param.opts[0] if param.param_type_name == "option" else param.human_readable_name.upper()
    return check_path(name, value)


def check_path(name: str, value: T) -> T:
    """`value`, or UsageError naming the option `name` (see `checked_path`)."""
    for path in _each(value):
        try:
            os.stat(str(path))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise UsageError(f"{name} {printable.cut(str(path))}: {exc.strerror or exc}") from None
    return value


def _each(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class Output(str, Enum):
    text = "text"
    json = "json"


class ReportOutput(str, Enum):
    """The formats of the analytics reports: `md` for a pull request or a wiki, `html` one
    self-contained page with charts."""

    text = "text"
    md = "md"
    html = "html"
    json = "json"


def report_output(value: ReportOutput) -> str:
    """`--output html` needs matplotlib: said before the report is made, not after. Gives
    back the name, which Typer turns into the enum member again."""
    if value is ReportOutput.html:
        from modctl.reports import html

        html.require()
    return value.value


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="Result format.")]
ReportOutputOption = Annotated[
    ReportOutput,
    typer.Option(
        "--output",
        "-o",
        help="text, md (Markdown), html (one page with charts) or json.",
        callback=report_output,
    ),
]
Bundle = Annotated[
    str, typer.Argument(help="Bundle.", callback=bundle_name, autocompletion=completion.bundles)
]
OnlyBundle = Annotated[
    str | None,
    typer.Argument(
        help="Only this bundle.",
        show_default=False,
        callback=bundle_name,
        autocompletion=completion.bundles,
    ),
]
Region = Annotated[
    str, typer.Option("--region", "-r", help="Region.", autocompletion=completion.regions)
]
Regions = Annotated[
    list[str] | None,
    typer.Option("--region", "-r", help="Regions.", autocompletion=completion.regions),
]
Actor = Annotated[
    str | None,
    typer.Option("--actor", help="Who acts (default: MODCTL_ACTOR, then git user.email)."),
]
Reason = Annotated[str | None, typer.Option("--reason", help="Why, for the journal.")]
Incident = Annotated[str | None, typer.Option("--incident", help="Incident id, for the journal.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the change; write nothing.")]


@dataclass(frozen=True)
class WriteOptions:
    """What every command that writes state takes: who, why, for which incident, whether to
    write at all, and how to report."""

    actor: str | None = None
    reason: str | None = None
    incident: str | None = None
    dry_run: bool = False
    output: Output = Output.text
