"""`modctl backtest`: a bundle's decisions over labelled listings, and what a change does."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import Output, OutputOption, bundle_name, checked_path

app = command_app()


@app.command("backtest")
def backtest_command(
    ctx: typer.Context,
    bundle: Annotated[str, typer.Argument(help="Bundle to evaluate.", callback=bundle_name)],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Listings: .jsonl, .csv or .parquet (with modctl[parquet]).",
            callback=checked_path,
        ),
    ],
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", metavar="REV", help="Compare with the bundle at this git revision."
        ),
    ] = None,
    changes: Annotated[
        Path | None,
        typer.Option(
            "--changes",
            metavar="OUT.csv",
            help="Write every changed decision to a CSV file.",
            callback=checked_path,
        ),
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Count and skip malformed rows instead of stopping.")
    ] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Worker processes (JSON lines only).")
    ] = 1,
    output: OutputOption = Output.text,
) -> None:
    """Decide every listing in a data file: decisions per region and action, hits per rule,
    precision and recall against the labels, and with --baseline what changed."""
    from modctl.backtest import run as backtest
    from modctl.reports import backtest as report

    if changes is not None and baseline is None:
        raise typer.BadParameter("--changes needs --baseline", param_hint="--changes")
    root = context_of(ctx).root
    show = output is Output.text and sys.stderr.isatty()
    started = time.perf_counter()

    def progress(rows: int, fraction: float | None) -> None:
        line = report.progress(rows, fraction, time.perf_counter() - started)
        typer.echo(line, nl=False, err=True)

    result = backtest.run(
        root,
        bundle,
        data,
        baseline=baseline,
        changes=changes,
        skip_bad=skip_bad,
        jobs=jobs,
        progress=progress if show else None,
    )
    if show:
        typer.echo("\r\033[K", nl=False, err=True)
    if result.one_job:
        echo(f"modctl: {result.one_job}", err=True)
    echo(report.as_json(result) if output is Output.json else report.text(result))
