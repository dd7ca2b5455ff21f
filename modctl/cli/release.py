"""`modctl release cut|list|show`: immutable, tested snapshots of a bundle."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from modctl.cli._app import Output, context_of

app = typer.Typer(help="Cut, list and show releases.", no_args_is_help=True)


class Bump(str, Enum):
    major = "major"
    minor = "minor"
    patch = "patch"


@app.command("cut")
def cut_command(
    ctx: typer.Context,
    bundle: Annotated[str, typer.Argument(help="Bundle to release.")],
    version: Annotated[
        str | None, typer.Option("--version", metavar="X.Y.Z", help="Version to cut.")
    ] = None,
    bump: Annotated[
        Bump, typer.Option("--bump", help="Next version after the latest release.")
    ] = Bump.patch,
    notes: Annotated[str, typer.Option("--notes", help="Release notes.")] = "",
    actor: Annotated[
        str | None,
        typer.Option("--actor", help="Who releases (default: MODCTL_ACTOR, then git user.email)."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the journal.")] = None,
    incident: Annotated[
        str | None, typer.Option("--incident", help="Incident id, for the journal.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and show the release; write nothing.")
    ] = False,
    output: Annotated[Output, typer.Option("--output", help="Result format.")] = Output.text,
) -> None:
    """Cut a release from the committed bundle: validated, tested, tagged, recorded."""
    from modctl import yamlio
    from modctl.state import release, store

    root = context_of(ctx).root
    result = release.cut(
        root,
        bundle,
        actor=store.actor(actor, root),
        version=version,
        bump=bump.value,
        notes=notes,
        reason=reason,
        incident=incident,
        dry_run=dry_run,
    )
    for warning in result.warnings:
        typer.secho(f"modctl: warning: {warning}", err=True, fg="yellow", bold=True)
    if output is Output.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    if dry_run:
        typer.echo(
            f"Would release {bundle} {result.version} from commit {result.source_commit[:12]}:"
        )
        typer.echo(yamlio.dump(result.manifest).rstrip())
        return
    typer.echo(
        f"Released {bundle} {result.version} ({result.digest[:19]}...) from commit "
        f"{result.source_commit[:12]}; tagged {result.tag}; recorded as state commit "
        f"{(result.state_commit or '')[:12]}."
    )


@app.command("list")
def list_command(
    ctx: typer.Context,
    bundle: Annotated[
        str | None, typer.Argument(help="Only this bundle.", show_default=False)
    ] = None,
    output: Annotated[Output, typer.Option("--output", help="Result format.")] = Output.text,
) -> None:
    """List releases, oldest first per bundle."""
    from tabulate import tabulate

    from modctl.source.config import config_at
    from modctl.state.files import manifests
    from modctl.state.store import Store

    root = context_of(ctx).root
    config = config_at(root)
    found = manifests(Store(root, config.state_branch, config.remote).read(), bundle)
    if output is Output.json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        typer.echo("No releases yet; `modctl release cut BUNDLE` makes one.")
        return
    rows = [
        [
            m["bundle"],
            m["version"],
            m["created"],
            m["author"],
            m["source_commit"][:12],
            m["digest"][:19],
        ]
        for m in found
    ]
    typer.echo(
        tabulate(
            rows,
            headers=["BUNDLE", "VERSION", "CREATED", "AUTHOR", "COMMIT", "DIGEST"],
            tablefmt="plain",
        )
    )


@app.command("show")
def show_command(
    ctx: typer.Context,
    bundle: Annotated[str, typer.Argument(help="Bundle.")],
    version: Annotated[str, typer.Argument(help="Version.")],
    output: Annotated[Output, typer.Option("--output", help="Result format.")] = Output.text,
) -> None:
    """Show one release: manifest, notes, test summary."""
    from modctl import yamlio
    from modctl.errors import UsageError
    from modctl.source.config import config_at
    from modctl.state.files import manifests
    from modctl.state.operations import deployments
    from modctl.state.store import Store

    root = context_of(ctx).root
    config = config_at(root)
    snapshot = Store(root, config.state_branch, config.remote).read()
    found = manifests(snapshot, bundle)
    manifest = next((m for m in found if m["version"] == version), None)
    if manifest is None:
        known = ", ".join(m["version"] for m in found) or "none"
        raise UsageError(f"no release {version} of {bundle} (releases: {known})")
    deployed = deployments(snapshot, config, bundle, version)
    if output is Output.json:
        typer.echo(json.dumps({**manifest, "deployed": deployed}, indent=2, ensure_ascii=False))
        return
    typer.echo(yamlio.dump(manifest).rstrip())
    where = [f"{region} {role}" for region, role in deployed.items()]
    typer.echo(f"deployed: {', '.join(where) if where else 'nowhere yet'}")
