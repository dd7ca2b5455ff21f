"""`modctl init`: create a ready strategy repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modctl.cli._app import app


@app.command("init")
def init_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder to create or fill (default: the current one).")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that already exist.")
    ] = False,
) -> None:
    """Create a strategy repository: modctl.yaml, reference bundles, playbooks, a pre-commit
    hook, and the first commit."""
    from modctl.scaffold import init

    result = init(directory, force=force)
    where = "new git repository" if result.created_repo else "existing git repository"
    committed = f"commit {result.commit[:12]}" if result.commit else "already committed as is"
    typer.echo(f"Wrote {len(result.written)} files in {result.root} ({where}, {committed}).")
    typer.echo(
        "\nNext steps:\n"
        f"  cd {result.root}\n"
        "  modctl validate                 # check every bundle, playbook and modctl.yaml\n"
        "  pre-commit install              # validate on every commit (pip install pre-commit)\n"
        "  modctl schema rules             # JSON Schema for your editor's YAML support"
    )
