"""`modctl backtest`: a bundle's decisions over labelled listings, and what a change does."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import ReportOutput, ReportOutputOption, bundle_name, checked_path
from modctl.errors import UsageError

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
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            "--sweep",
            metavar="RULE.PARAM=START:STOP:STEP",
            help="Decide the data at each value of a rule's param (or V1,V2,...); twice for a "
            "grid of two params.",
        ),
    ] = None,
    output: ReportOutputOption = ReportOutput.text,
) -> None:
    """Decide every listing in a data file: decisions per region and action, hits per rule,
    precision and recall against the labels, and with --baseline what changed; with --sweep,
    precision, recall, F1 and flagged volume at each value of a param.

    Example: modctl backtest ipr-counterfeit --data listings.jsonl --baseline origin/main
    """
    from modctl.backtest import run as backtest
    from modctl.reports import backtest as report

    if changes is not None and baseline is None:
        raise typer.BadParameter("--changes needs --baseline", param_hint="--changes")
    if sweep and baseline is not None:
        raise UsageError("--sweep and --baseline answer different questions; run them apart")
    if not sweep and output in (ReportOutput.md, ReportOutput.html):
        raise UsageError(
            f"--output {output.value} reports a sweep; add --sweep RULE.PARAM=START:STOP:STEP, "
            "or take --output text or json"
        )
    root = context_of(ctx).root
    show = output is ReportOutput.text and sys.stderr.isatty()
    started = time.perf_counter()

    def progress(rows: int, fraction: float | None) -> None:
        line = report.progress(rows, fraction, time.perf_counter() - started)
        typer.echo(line, nl=False, err=True)

    if sweep:
        from modctl.backtest import sweep as sweeping
        from modctl.reports import sweep as render

        swept, alone = sweeping.run(
            root,
            bundle,
            data,
            sweep,
            skip_bad=skip_bad,
            jobs=jobs,
            progress=progress if show else None,
        )
        if show:
            typer.echo("\r\033[K", nl=False, err=True)
        if alone:
            echo(f"modctl: {alone}", err=True)
        echo(render.render(swept, output.value))
        return
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
    echo(report.as_json(result) if output is ReportOutput.json else report.text(result))
