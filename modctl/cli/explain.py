"""`modctl explain`: why a listing got its decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import Output, OutputOption

app = command_app()


@app.command("explain")
def explain_command(
    ctx: typer.Context,
    bundle: Annotated[str, typer.Argument(help="Bundle that decided.")],
    item: Annotated[
        str, typer.Option("--item", metavar="FILE|-", help="The listing as JSON; - reads stdin.")
    ],
    region: Annotated[
        str | None,
        typer.Option("--region", help="Region (default: the item's region, else every region)."),
    ] = None,
    rev: Annotated[
        str | None, typer.Option("--rev", metavar="REV", help="The bundle at this git revision.")
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Explain a decision: every matched rule with what fired (keyword, threshold, hash
    distance) and the rules that were one condition short."""
    from modctl.engine.explain import explain_regions
    from modctl.reports import explain as report
    from modctl.source.workspace import load

    listing = _read_item(item)
    workspace = load(context_of(ctx).root, [bundle], rev=rev)
    results = explain_regions(workspace.bundle(bundle), workspace.config, listing, region)
    echo(report.as_json(results) if output is Output.json else report.text(results))


def _read_item(source: str) -> dict[str, Any]:
    import sys

    from modctl.errors import UsageError

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not UTF-8 text") from None
    try:
        item = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{source} is not JSON: {exc}") from None
    if not isinstance(item, dict):
        raise UsageError(f"{source} must hold one JSON object, the listing")
    return item
