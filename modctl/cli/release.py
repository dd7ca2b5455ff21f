"""`modctl release cut|list|show`: immutable, tested snapshots of a bundle."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from modctl.cli import completion
from modctl.cli._app import command_app, context_of, echo, reading_context, warn
from modctl.cli.options import (
    Actor,
    Bundle,
    Incident,
    OnlyBundle,
    Output,
    OutputOption,
    Reason,
    bundle_name,
)

app = command_app(help="Cut, list and show releases.", no_args_is_help=True)


class Bump(str, Enum):
    major = "major"
    minor = "minor"
    patch = "patch"


@app.command("cut")
def cut_command(
    ctx: typer.Context,
    bundle: Annotated[
        str,
        typer.Argument(
            help="Bundle to release.", callback=bundle_name, autocompletion=completion.bundles
        ),
    ],
    version: Annotated[
        str | None, typer.Option("--version", metavar="X.Y.Z", help="Version to cut.")
    ] = None,
    bump: Annotated[
        Bump, typer.Option("--bump", help="Next version after the latest release.")
    ] = Bump.patch,
    notes: Annotated[str, typer.Option("--notes", help="Release notes.")] = "",
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and show the release; write nothing.")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Cut a release from the committed bundle: validated, tested, tagged, recorded.

    Example: modctl release cut ipr-counterfeit --bump minor --notes "stricter SG price rule"
    """
    from modctl import yamlio
    from modctl.reports import to_json
    from modctl.state import release

    context = context_of(ctx)
    result = release.cut(
        context,
        bundle,
        actor=context.actor(actor),
        version=version,
        bump=bump.value,
        notes=notes,
        reason=reason,
        incident=incident,
        dry_run=dry_run,
    )
    for warning in result.warnings:
        warn(warning)
    undo = (
        f"none: releases are immutable; {result.version} reaches no region until "
        f"`modctl rollout start {bundle} {result.version}`"
    )
    if output is Output.json:
        echo(to_json({**result.to_dict(), "undo": None if dry_run else undo}))
        return
    if dry_run:
        echo(f"Would release {bundle} {result.version} from commit {result.source_commit[:12]}:")
        echo(yamlio.dump(result.manifest).rstrip())
        return
    echo(
        f"Released {bundle} {result.version} ({result.digest[:19]}...) from commit "
        f"{result.source_commit[:12]}; tagged {result.tag}; recorded as state commit "
        f"{(result.state_commit or '')[:12]}."
    )
    echo(f"Undo: {undo}")


@app.command("list")
def list_command(
    ctx: typer.Context,
    bundle: OnlyBundle = None,
    output: OutputOption = Output.text,
) -> None:
    """List releases, oldest first per bundle.

    Example: modctl release list ipr-counterfeit
    """
    from modctl.reports import to_json
    from modctl.reports.journal import releases_text
    from modctl.state.files import manifests

    found = manifests(reading_context(ctx).store.read(), bundle)
    echo(to_json(found) if output is Output.json else releases_text(found))


@app.command("show")
def show_command(
    ctx: typer.Context,
    bundle: Bundle,
    version: Annotated[str, typer.Argument(help="Version.")],
    output: OutputOption = Output.text,
) -> None:
    """Show one release: manifest, notes, test summary.

    Example: modctl release show ipr-counterfeit 1.3.0
    """
    from modctl import yamlio
    from modctl.errors import UsageError
    from modctl.reports import to_json
    from modctl.state.files import manifests
    from modctl.state.status import deployments, verdicts

    context = reading_context(ctx)
    snapshot = context.store.read()
    found = manifests(snapshot, bundle)
    manifest = next((m for m in found if m["version"] == version), None)
    if manifest is None:
        known = ", ".join(m["version"] for m in found) or "none"
        raise UsageError(f"no release {version} of {bundle} (releases: {known})")
    deployed = deployments(snapshot, context.config, bundle, version)
    judged = verdicts(snapshot, bundle, version)
    if output is Output.json:
        echo(to_json({**manifest, "deployed": deployed, "verdicts": judged}))
        return
    echo(yamlio.dump(manifest).rstrip())
    where = [f"{region} {role}" for region, role in deployed.items()]
    echo(f"deployed: {', '.join(where) if where else 'nowhere yet'}")
    if judged:
        echo("gate verdicts:")
        for v in judged:
            step = int(v["step"]) + 1
            echo(f"  {v['at']} {v['region']} step {step} look {v['look']}: {v['verdict']}")
