"""`modctl fmt`: the YAML people write, in one canonical layout, with its data and comments kept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import Output, OutputOption, checked_path

app = command_app()


@app.command("fmt")
def fmt_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files, or folders whose YAML files to format (default: modctl.yaml, every "
            "bundle and every playbook of the repository).",
            show_default=False,
            callback=checked_path,
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 naming each file that would change."),
    ] = False,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="Write nothing; show each change as a diff (exit 0)."),
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Lay out YAML files in the canonical style, keeping their data and every comment: two
    spaces per level, the items of a top-level list at column 0 with a blank line between them,
    quotes and flow or block styles as written. A file is written only when, read again, it
    holds the same data and comments.

    Exit 0 when done, 1 with --check when a file would change, 2 when a file is not YAML that
    modctl reads, 4 when formatting would lose something (the file is left as it is).

    Example: modctl fmt --check --diff strategies/ipr-counterfeit
    """
    from modctl.reports import fmt as report
    from modctl.source.fmt import fmt, targets

    root = None if paths else context_of(ctx).root
    result = fmt(targets(root, paths or []), check=check, write=not diff)
    echo(report.as_json(result) if output is Output.json else report.text(result, diff=diff))
    if result.exit_code:
        raise typer.Exit(int(result.exit_code))
