"""`modctl explain`: why a listing got its decision."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modctl import printable
from modctl.cli import completion
from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import Output, OutputOption, bundle_name

app = command_app()


@app.command("explain")
def explain_command(
    ctx: typer.Context,
    bundle: Annotated[
        str,
        typer.Argument(
            help="Bundle that decided.", callback=bundle_name, autocompletion=completion.bundles
        ),
    ],
    item: Annotated[
        str, typer.Option("--item", metavar="FILE|-", help="The listing as JSON; - reads stdin.")
    ],
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="Region (default: the item's region, else every region).",
            autocompletion=completion.regions,
        ),
    ] = None,
    rev: Annotated[
        str | None, typer.Option("--rev", metavar="REV", help="The bundle at this git revision.")
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Explain a decision: every matched rule with what fired (keyword, threshold, hash
    distance) and the rules that were one condition short.

    Example: modctl explain ipr-counterfeit --item listing.json --region SG
    """
    from modctl.engine.explain import explain_regions, parse_item
    from modctl.reports import explain as report
    from modctl.source.workspace import load

    listing = parse_item(_read_item(item), printable.cut(item))
    workspace = load(context_of(ctx).root, [bundle], rev=rev)
    results = explain_regions(workspace.bundle(bundle), workspace.config, listing, region)
    echo(report.as_json(results) if output is Output.json else report.text(results))


def _read_item(source: str) -> bytes:
    """The bytes of the listing file (or stdin for `-`), up to one byte past the limit."""
    import sys

    from modctl.engine.fields import MAX_LISTING_BYTES
    from modctl.errors import UsageError

    try:
        if source == "-":
            return sys.stdin.buffer.read(MAX_LISTING_BYTES + 1)
        with Path(source).open("rb") as handle:
            return handle.read(MAX_LISTING_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {printable.cut(source)}: {exc.strerror or exc}") from None
