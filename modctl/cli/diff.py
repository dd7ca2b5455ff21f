"""`modctl diff`: what changed in a bundle between two versions, rule by rule."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from modctl.cli._app import command_app, context_of
from modctl.cli.options import Output, OutputOption

WORKING_TREE = "working tree"


app = command_app()


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    bundle: Annotated[str, typer.Argument(help="Bundle to compare.")],
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
    list entries, region scope. Not a text diff."""
    from modctl.errors import UsageError
    from modctl.reports import diff as report
    from modctl.source.diff import diff, empty_bundle
    from modctl.source.workspace import load

    root = context_of(ctx).root

    def version(rev: str | None) -> Any:
        try:
            return load(root, [bundle], rev=rev).bundle(bundle)
        except UsageError as exc:
            if exc.message.startswith("no bundle named"):
                return None
            raise

    old, new = version(before), version(after)
    if old is None and new is None:
        raise UsageError(f"no bundle named {bundle!r} at {before} nor at {after or WORKING_TREE}")
    result = diff(
        old or empty_bundle(bundle), new or empty_bundle(bundle), before, after or WORKING_TREE
    )
    typer.echo(report.as_json(result) if output is Output.json else report.text(result))
