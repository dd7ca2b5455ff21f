"""`modctl init`: create a ready strategy repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modctl.cli._app import command_app, echo
from modctl.cli.options import Output, OutputOption, checked_path

app = command_app()


@app.command("init")
def init_command(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Folder to create or fill (default: the current one).", callback=checked_path
        ),
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that already exist.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be written; write nothing.")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Create a strategy repository: modctl.yaml, reference bundles, playbooks, a pre-commit
    hook, and the first commit.

    Example: modctl init my-strategies
    """
    from modctl.reports import init as report
    from modctl.source.scaffold import init

    result = init(directory, force=force, dry_run=dry_run)
    echo(report.as_json(result) if output is Output.json else report.text(result))
