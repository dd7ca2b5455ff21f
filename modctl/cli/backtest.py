"""`modctl backtest`: a bundle's decisions over labelled listings, and what a change does."""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from modctl.cli import completion
from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import ReportOutput, ReportOutputOption, bundle_name, checked_path
from modctl.errors import UsageError

app = command_app()


class Engine(str, Enum):
    local = "local"
    spark = "spark"


@app.command("backtest")
def backtest_command(
    ctx: typer.Context,
    bundle: Annotated[
        str,
        typer.Argument(
            help="Bundle to evaluate.", callback=bundle_name, autocompletion=completion.bundles
        ),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="PATH",
            help="Listings: .jsonl, .csv or .parquet; with --engine spark, Parquet: a file, a "
            "folder or a URI Spark reads (hdfs://, s3a://).",
            callback=checked_path,
        ),
    ] = None,
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
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine", help="Decide here, or on Apache Spark (with modctl[spark] installed)."
        ),
    ] = Engine.local,
    table: Annotated[
        str | None,
        typer.Option(
            "--table", metavar="NAME", help="With --engine spark: a table of the Spark catalog."
        ),
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(
            "--master",
            metavar="URL",
            help="With --engine spark: where Spark runs (default local[*]; yarn, "
            "spark://HOST:PORT).",
        ),
    ] = None,
    conf: Annotated[
        list[str] | None,
        typer.Option(
            "--conf", metavar="KEY=VALUE", help="With --engine spark: a Spark setting; repeatable."
        ),
    ] = None,
    output: ReportOutputOption = ReportOutput.text,
) -> None:
    """Decide every listing in a data file: decisions per region and action, hits per rule,
    precision and recall against the labels, and with --baseline what changed; with --sweep,
    precision, recall, F1 and flagged volume at each value of a param. --engine spark decides
    a Parquet file or folder, or a table, on Apache Spark with the same evaluator.

    Example: modctl backtest ipr-counterfeit --data listings.jsonl --baseline origin/main

    On Spark: modctl backtest ipr-counterfeit --engine spark --data listings.parquet --master
    local[4] --baseline origin/main
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
    _check_engine(engine, data, table, master, conf, jobs)
    root = context_of(ctx).root
    show = output is ReportOutput.text and sys.stderr.isatty()
    if engine is Engine.spark:
        _on_spark(
            root,
            bundle,
            output,
            data=data,
            table=table,
            master=master,
            conf=conf,
            sweep=sweep,
            baseline=baseline,
            changes=changes,
            skip_bad=skip_bad,
            show=show,
        )
        return
    assert data is not None
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
            Path(data),
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
        Path(data),
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


def _on_spark(
    root: Path,
    bundle: str,
    output: ReportOutput,
    *,
    data: str | None,
    table: str | None,
    master: str | None,
    conf: list[str] | None,
    sweep: list[str] | None,
    baseline: str | None,
    changes: Path | None,
    skip_bad: bool,
    show: bool,
) -> None:
    """`backtest --engine spark`, with a line on a terminal while Spark starts."""
    from modctl.backtest import session, spark
    from modctl.reports import backtest as report
    from modctl.reports import sweep as render

    source = spark.Source(data, table)
    cluster = session.Cluster(
        session.checked_master(master or session.DEFAULT_MASTER),
        session.parse_conf(conf or []),
        progress=show,
    )
    if show:
        # Seconds pass before Spark draws its progress bar over this line.
        typer.echo(f"\r  starting Spark on {cluster.master} ...", nl=False, err=True)
    try:
        if sweep:
            swept = spark.sweep(root, bundle, source, cluster, sweep, skip_bad=skip_bad)
        else:
            result = spark.run(
                root, bundle, source, cluster, baseline=baseline, changes=changes, skip_bad=skip_bad
            )
    finally:
        if show:
            typer.echo("\r\033[K", nl=False, err=True)
    if sweep:
        echo(render.render(swept, output.value))
    else:
        echo(report.as_json(result) if output is ReportOutput.json else report.text(result))


def _check_engine(
    engine: Engine,
    data: str | None,
    table: str | None,
    master: str | None,
    conf: list[str] | None,
    jobs: int,
) -> None:
    """The options of each engine, in one line when they do not go together."""
    if engine is Engine.local:
        for given, option in ((table, "--table"), (master, "--master"), (conf, "--conf")):
            if given:
                raise UsageError(f"{option} goes with --engine spark")
        if data is None:
            raise UsageError(
                "--data is required: the listings to decide (a .jsonl, .csv or .parquet file)"
            )
        return
    if data is not None and table is not None:
        raise UsageError("--data and --table both name the listings; give one")
    if data is None and table is None:
        raise UsageError("--engine spark reads --data PATH (Parquet) or --table NAME; give one")
    if jobs > 1:
        raise UsageError(
            "--jobs sets local worker processes; on Spark, --master sets the parallelism "
            "(local[4], or the cluster's executors)"
        )
