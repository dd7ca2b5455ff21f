"""`modctl diff`: what changed in a bundle between two versions, rule by rule."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from modctl.cli._app import Output, app, context_of

WORKING_TREE = "working tree"


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
    output: Annotated[Output, typer.Option("--output", help="Report format.")] = Output.text,
) -> None:
    """Semantic diff of a bundle: rules added, removed and changed field by field, params,
    list entries, region scope. Not a text diff."""
    from modctl.errors import UsageError
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
    if output is Output.json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    from modctl.reports.diff import text

    typer.echo(text(result))
