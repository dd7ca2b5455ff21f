"""`modctl diff`: what changed in a bundle between two versions, rule by rule."""

from __future__ import annotations

from typing import Annotated

import typer

from modctl.cli import completion
from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import Output, OutputOption, bundle_name

app = command_app()


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    bundle: Annotated[
        str,
        typer.Argument(
            help="Bundle to compare.", callback=bundle_name, autocompletion=completion.bundles
        ),
    ],
    before: Annotated[str, typer.Argument(help="Git revision to compare from.")] = "HEAD",
    after: Annotated[
        str | None,
        typer.Argument(
            help="Git revision to compare to (default: the working tree).", show_default=False
        ),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Semantic diff of a bundle: rules added, removed and changed field by field, params,
    list entries, region scope. Not a text diff.

    Example: modctl diff ipr-counterfeit modctl/ipr-counterfeit/1.3.0 HEAD
    """
    from modctl.reports import diff as report
    from modctl.source.diff import between

    result = between(context_of(ctx).root, bundle, before, after)
    echo(report.as_json(result) if output is Output.json else report.text(result))
