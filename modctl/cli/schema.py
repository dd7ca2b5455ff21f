"""`modctl schema`: the JSON Schemas, for editors and other tools."""

from __future__ import annotations

from typing import Annotated

import typer

from modctl.cli._app import command_app, echo
from modctl.cli.options import Output, OutputOption

app = command_app()


@app.command("schema")
def schema_command(
    name: Annotated[
        str | None, typer.Argument(help="Schema to print; omit to list them.", show_default=False)
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Print one JSON Schema (Draft 2020-12), or list them.

    Example: modctl schema rules > .schemas/rules.json
    """
    from modctl import schemas

    if name is not None:
        echo(schemas.text(name), nl=False)
        return
    from modctl.reports import schema as report

    listing = schemas.SCHEMAS
    echo(report.as_json(listing) if output is Output.json else report.text(listing))
