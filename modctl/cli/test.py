"""`modctl test`: run every bundle's test cases through the engine."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from modctl.cli import completion
from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import bundle_name
from modctl.errors import ExitCode


class Format(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"


app = command_app()


@app.command("test")
def run_tests(
    ctx: typer.Context,
    bundles: Annotated[
        list[str] | None,
        typer.Argument(
            help="Bundles to test (default: all).",
            show_default=False,
            callback=bundle_name,
            autocompletion=completion.bundles,
        ),
    ] = None,
    output: Annotated[
        Format,
        typer.Option("--output", "-o", "--format", "-f", help="Report format (--format: alias)."),
    ] = Format.text,
    min_coverage: Annotated[
        float,
        typer.Option(
            "--min-coverage",
            min=0,
            max=100,
            help="Fail when fewer than this percentage of a bundle's rules match in some test.",
        ),
    ] = 0.0,
) -> None:
    """Run the bundles' test cases: expected action and rules against the engine's decision.

    Exit 0 when every case passes, 1 on a failure or coverage below --min-coverage.

    Example: modctl test ipr-counterfeit --min-coverage 90 --format junit > report.xml
    """

    from modctl.engine.cases import run_cases
    from modctl.reports import tests as report
    from modctl.source.files import lines
    from modctl.source.workspace import load

    root = context_of(ctx).root
    workspace = load(root, bundles or None)
    results = [run_cases(b, workspace.config) for b in workspace.bundles.values()]
    if output is Format.json:
        echo(report.as_json(results))
    elif output is Format.junit:
        echo(report.junit(results))
    else:
        failed = [case.origin for result in results for case in result.failed]
        echo(report.text(results, lines(root, failed), min_coverage))
    if any(r.failed or r.coverage < min_coverage for r in results):
        raise typer.Exit(int(ExitCode.CHECKS_FAILED))
