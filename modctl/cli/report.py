"""`modctl report effectiveness|gaps`: which rules work in production, and what labelled
listings show the bundles miss; each finding with the command that would act on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modctl.cli import completion
from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import (
    Bundle,
    Regions,
    ReportOutput,
    ReportOutputOption,
    bundle_name,
    checked_path,
)

app = command_app(no_args_is_help=True)


@app.callback()
def report_group() -> None:
    """Reports that close the loop from production back to the rules: how each rule fares on
    appeal, and what labelled listings show the bundles miss."""


@app.command("effectiveness")
def effectiveness_command(
    ctx: typer.Context,
    bundle: Bundle,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Windows from this time (2026-11-01T00:00:00Z) or this long ago (7d, 24h).",
        ),
    ] = None,
    region: Regions = None,
    metrics: Annotated[
        Path | None,
        typer.Option(
            "--metrics",
            metavar="FILE",
            help="Metrics rows with a rule column, CSV or JSON lines (`modctl schema metrics`); "
            "default: metrics.source in modctl.yaml.",
            callback=checked_path,
        ),
    ] = None,
    gate: Annotated[
        str,
        typer.Option("--gate", help="The gate of modctl.yaml whose rate ranks the rules."),
    ] = "overturn-rate",
    output: ReportOutputOption = ReportOutput.text,
) -> None:
    """Per rule and region: volume, overturn rate with its interval, its trend across releases,
    and the rules significantly worse than the rest of the bundle first, each with the commands
    that would act on it.

    Example: modctl report effectiveness ipr-counterfeit --since 7d --region SG
    """
    from modctl.analytics.effectiveness import effectiveness, parse_since, rate_gate
    from modctl.reports import effectiveness as render
    from modctl.source import metrics as source
    from modctl.source.workspace import load

    context = context_of(ctx)
    workspace = load(context.root, [bundle])
    config = workspace.config
    chosen = rate_gate(config.gates, config.metrics, gate)
    now = context.now()
    start = parse_since(since, now) if since is not None else None
    read = source.read(config, context.root, now, [bundle], metrics)
    result = effectiveness(
        read.rows,
        workspace.bundle(bundle),
        chosen,
        origin=read.origin,
        metrics=config.metrics,
        since=start,
        regions=region or (),
        confidence=chosen.confidence,
    )
    echo(render.render(result, output.value))


@app.command("gaps")
def gaps_command(
    ctx: typer.Context,
    bundles: Annotated[
        list[str],
        typer.Argument(
            help="Bundles; a listing counts as caught when any flags it.",
            callback=bundle_name,
            autocompletion=completion.bundles,
        ),
    ],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Labelled listings: .jsonl, .csv or .parquet, as for backtest.",
            callback=checked_path,
        ),
    ],
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            metavar="FIELD",
            help="Group by these fields (repeat it; default: category, region and brand).",
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Groups shown of each kind, the largest first.")
    ] = 20,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Count and skip malformed rows instead of stopping.")
    ] = False,
    output: ReportOutputOption = ReportOutput.text,
) -> None:
    """Infringing listings no rule flagged and clean listings a rule flagged, grouped, each
    group with the rule that came closest and the condition that stopped it, with samples and
    the commands that would act on it.

    Example: modctl report gaps ipr-counterfeit --data labelled.jsonl -o html > gaps.html
    """
    from modctl.backtest import gaps
    from modctl.reports import gaps as render

    names = list(dict.fromkeys(bundles))
    found = gaps.run(
        context_of(ctx).root,
        names,
        data,
        by=tuple(by) if by else gaps.DEFAULT_BY,
        top=top,
        skip_bad=skip_bad,
    )
    echo(render.render(found, output.value))
