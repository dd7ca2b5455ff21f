"""`modctl incident show|report ID`: an incident's timeline and postmortem from the journal."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from modctl.cli._app import command_app, echo, reading_context
from modctl.cli.options import Output, OutputOption
from modctl.errors import UsageError

app = command_app(
    help="Timelines and postmortem reports of incidents, from the journal.", no_args_is_help=True
)
Ident = Annotated[
    str, typer.Argument(help="Incident id, as state commands recorded it with --incident.")
]


class Format(str, Enum):
    md = "md"
    json = "json"


@app.command("show")
def show_command(ctx: typer.Context, incident: Ident, output: OutputOption = Output.text) -> None:
    """Every journal entry of an incident, oldest first, times in UTC: who did what, where,
    which releases and hot-patches it touched, the gate verdicts recorded meanwhile, and which
    commit first changed what production serves.

    Example: modctl incident show INC-2041
    """
    from modctl.reports.incident import show_json, show_text
    from modctl.state.incident import read

    context = reading_context(ctx)
    found = read(context.store, context.config, incident, context.now())
    echo(show_json(found) if output is Output.json else show_text(found))


@app.command("report")
def report_command(
    ctx: typer.Context,
    incident: Ident,
    format: Annotated[
        Format | None,
        typer.Option(
            "--format", "-f", help="Markdown (default), or JSON as --output json gives it."
        ),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """A postmortem skeleton: summary, time to mitigate, the timeline in UTC with a Mermaid
    diagram, the hot-patches still open as follow-ups, the commands that were run, and headings
    for what people add (impact, root cause, what went well).

    Example: modctl incident report INC-2041 > postmortem-INC-2041.md
    """
    from modctl.reports.incident import report_json, report_markdown
    from modctl.state.incident import read

    if format is Format.md and output is Output.json:
        raise UsageError("--format md and --output json ask for two formats; give one")
    context = reading_context(ctx)
    found = read(context.store, context.config, incident, context.now())
    as_json = format is Format.json or output is Output.json
    echo(report_json(found) if as_json else report_markdown(found))
