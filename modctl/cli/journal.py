"""`modctl render` and `modctl log`: what the platform loads, and what happened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from modctl.cli._app import Output, context_of


def _root(ctx: typer.Context) -> Path:
    return context_of(ctx).root


def register(root_app: typer.Typer) -> None:
    @root_app.command("render")
    def render_command(
        ctx: typer.Context,
        bundle: Annotated[str, typer.Argument(help="Bundle.")],
        region: Annotated[str, typer.Option("--region", "-r", help="Region.")],
    ) -> None:
        """Print the effective config the platform loads for a bundle in a region (JSON)."""
        from modctl.errors import UsageError
        from modctl.source.config import config_at
        from modctl.state.store import Store

        root = _root(ctx)
        config = config_at(root)
        if region not in config.regions:
            raise UsageError(
                f"unknown region {region!r}; modctl.yaml declares {', '.join(config.regions)}"
            )
        rendered = (
            Store(root, config.state_branch, config.remote)
            .read()
            .files.get(f"deploy/{region}/{bundle}.json")
        )
        if rendered is None:
            raise UsageError(
                f"nothing deployed for {bundle} in {region}; `modctl rollout start {bundle} VERSION` first"
            )
        typer.echo(json.dumps(json.loads(rendered), indent=2, ensure_ascii=False))

    @root_app.command("sync")
    def sync_command(ctx: typer.Context) -> None:
        """Reconcile the state branch with the remote named in modctl.yaml: fetch, fast-forward,
        push, or replay local changes made while the remote was unreachable."""
        from modctl.source.config import config_at
        from modctl.state.store import Store

        root = _root(ctx)
        config = config_at(root)
        typer.echo(Store(root, config.state_branch, config.remote).sync().capitalize() + ".")

    audit_app = typer.Typer(help="Check the state branch.", no_args_is_help=True)
    root_app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def audit_verify_command(ctx: typer.Context) -> None:
        """Replay the state branch: trailers on every commit, immutable releases, digests and tags,
        legal region transitions, deploy/ matching the region states. Exit 1 at the first offence."""
        from modctl.errors import ExitCode
        from modctl.source.config import config_at
        from modctl.state.audit import verify

        root = _root(ctx)
        result = verify(root, config_at(root))
        if result.violation is not None:
            typer.echo(f"audit failed at commit {result.violation}", err=True)
            raise typer.Exit(int(ExitCode.CHECKS_FAILED))
        typer.echo(f"{result.commits} state commits verified.")

    @root_app.command("log")
    def log_command(
        ctx: typer.Context,
        bundle: Annotated[str | None, typer.Option("--bundle", help="Only this bundle.")] = None,
        region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
        incident: Annotated[
            str | None, typer.Option("--incident", help="Only this incident.")
        ] = None,
        action: Annotated[str | None, typer.Option("--action", help="Only this action.")] = None,
        actor: Annotated[str | None, typer.Option("--actor", help="Only this actor.")] = None,
        since: Annotated[
            str | None,
            typer.Option(
                "--since",
                help="Only entries after this time (git date: 2026-11-25, '2 hours ago').",
            ),
        ] = None,
        output: Annotated[Output, typer.Option("--output", help="Result format.")] = Output.text,
    ) -> None:
        """The journal of the state branch, newest first."""
        from tabulate import tabulate

        from modctl.source.config import config_at
        from modctl.state.store import Store

        root = _root(ctx)
        config = config_at(root)
        entries = [
            e
            for e in Store(root, config.state_branch, config.remote).journal(since=since)
            if (bundle is None or e.bundle == bundle)
            and (region is None or region in (e.region or "").split(","))
            and (incident is None or e.incident == incident)
            and (action is None or e.action == action)
            and (actor is None or e.actor == actor)
        ]
        if output is Output.json:
            typer.echo(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
            return
        if not entries:
            typer.echo("No journal entries match.")
            return
        rows = [
            [
                e.time,
                e.action,
                e.bundle or "",
                e.region or "",
                e.release or "",
                e.actor,
                e.incident or "",
                e.summary,
            ]
            for e in entries
        ]
        typer.echo(
            tabulate(
                rows,
                headers=[
                    "TIME",
                    "ACTION",
                    "BUNDLE",
                    "REGION",
                    "RELEASE",
                    "ACTOR",
                    "INCIDENT",
                    "SUMMARY",
                ],
                tablefmt="plain",
            )
        )
