"""`modctl schema`: the JSON Schemas, for editors and other tools."""

from __future__ import annotations

from typing import Annotated

import typer

from modctl.cli._app import Output, app


@app.command("schema")
def schema_command(
    name: Annotated[
        str | None, typer.Argument(help="Schema to print; omit to list them.", show_default=False)
    ] = None,
    output: Annotated[Output, typer.Option("--output", help="List format.")] = Output.text,
) -> None:
    """Print one JSON Schema (Draft 2020-12), or list them."""
    from modctl import schemas

    if name is not None:
        typer.echo(schemas.text(name), nl=False)
        return
    if output is Output.json:
        import json

        listing = [
            {"name": key, "describes": describes, "summary": summary}
            for key, (describes, summary) in schemas.SCHEMAS.items()
        ]
        typer.echo(json.dumps(listing, indent=2))
        return
    from tabulate import tabulate

    rows = [(key, describes, summary) for key, (describes, summary) in schemas.SCHEMAS.items()]
    typer.echo(tabulate(rows, headers=["NAME", "DESCRIBES", "SUMMARY"], tablefmt="plain"))
