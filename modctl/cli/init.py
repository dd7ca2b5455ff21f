"""`modctl init`: create a ready strategy repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from modctl.cli._app import Output, app


@app.command("init")
def init_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder to create or fill (default: the current one).")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that already exist.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be written; write nothing.")
    ] = False,
    output: Annotated[Output, typer.Option("--output", help="Result format.")] = Output.text,
) -> None:
    """Create a strategy repository: modctl.yaml, reference bundles, playbooks, a pre-commit
    hook, and the first commit."""
    from modctl.source.scaffold import init

    result = init(directory, force=force, dry_run=dry_run)
    if output is Output.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    where = "a new git repository" if result.created_repo else "the existing git repository"
    if result.dry_run:
        typer.echo(
            f"Would write {len(result.written)} files in {result.root} and commit them to {where}:"
        )
        for rel in result.written:
            typer.echo(f"  {rel}{'  (overwrite)' if rel in result.overwritten else ''}")
        return
    committed = f"commit {result.commit[:12]}" if result.commit else "already committed as is"
    typer.echo(f"Wrote {len(result.written)} files in {result.root} ({where}, {committed}).")
    if result.overwritten:
        typer.echo(f"Overwrote {len(result.overwritten)} existing files (--force).")
    typer.echo(
        "\nNext steps:\n"
        f"  cd {result.root}\n"
        "  modctl validate                 # check every bundle, playbook and modctl.yaml\n"
        "  pre-commit install              # validate on every commit (pip install pre-commit)\n"
        "  modctl schema rules             # JSON Schema for your editor's YAML support"
    )
