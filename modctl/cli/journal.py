"""`modctl render`, `log`, `sync` and `audit verify`: what the platform loads, what happened."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from modctl import printable
from modctl.cli import completion
from modctl.cli._app import command_app, context_of, echo, reading_context, warn
from modctl.cli.options import Bundle, Output, OutputOption, Region
from modctl.errors import ExitCode, UsageError, suggest
from modctl.reports import to_json


class Keep(str, Enum):
    remote = "remote"
    local = "local"


render_app = command_app()
sync_app = command_app()
log_app = command_app()
audit_app = command_app(no_args_is_help=True)


@audit_app.callback()
def audit_group() -> None:
    """Check the state branch."""


@render_app.command("render")
def render_command(
    ctx: typer.Context,
    bundle: Bundle,
    region: Region,
    output: OutputOption = Output.text,
) -> None:
    """Print the effective config the platform loads for a bundle in a region: indented
    JSON for people, or with --output json the exact bytes written to deploy/.

    Example: modctl render ipr-counterfeit --region SG
    """
    from modctl.state.files import deploy_file

    context = reading_context(ctx)
    config = context.config
    if region not in config.regions:
        raise UsageError(
            f"unknown region {region!r}; modctl.yaml declares {', '.join(config.regions)}"
        )
    rendered = context.store.read().files.get(deploy_file(region, bundle))
    if rendered is None:
        raise UsageError(
            f"nothing deployed for {bundle} in {region}; `modctl rollout start {bundle} VERSION` first"
        )
    if output is Output.json:
        typer.echo(rendered.decode(), nl=False)
    else:
        echo(to_json(json.loads(rendered)))


@sync_app.command("sync")
def sync_command(
    ctx: typer.Context,
    keep: Annotated[
        Keep | None,
        typer.Option(
            "--keep",
            help="When local changes no longer apply on the remote's state: take the remote's "
            "state and drop them all (remote), or replay only if every one still applies (local).",
        ),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Reconcile the state branch with the remote named in modctl.yaml: fetch (with release
    tags), fast-forward, push, or run local changes made while the remote was unreachable again
    on its newer state. A local change that no longer applies there is dropped (exit 3) and kept
    on a BRANCH-rejected/... branch.

    Example: modctl sync --keep local
    """
    from modctl.state.sync import sync

    context = context_of(ctx)
    done = sync(context.store, context.config, keep.value if keep else None)
    if output is Output.json:
        echo(to_json(done.to_dict()))
    else:
        echo(done.result[0].upper() + done.result[1:] + ".")
        if done.dropped:
            echo(
                f"Dropped {len(done.dropped)} local change(s); the local branch as it was is "
                f"kept on {done.kept_at} (`git log {done.kept_at}`):",
                err=True,
            )
            for dropped in done.dropped:
                echo(f"  {dropped.commit[:12]} {dropped.summary}: {dropped.why}", err=True)
    for warning in context.store.warnings:
        warn(warning)
    if done.dropped and keep is not Keep.remote:
        raise typer.Exit(int(ExitCode.CONFLICT))


@audit_app.command("verify")
def audit_verify_command(ctx: typer.Context, output: OutputOption = Output.text) -> None:
    """Replay the state branch: trailers on every commit, immutable releases, digests and tags,
    legal region transitions, deploy/ matching the region states. Exit 1 at the first offence.

    Example: modctl audit verify
    """
    from modctl.state.audit import verify

    result = verify(reading_context(ctx))
    if output is Output.json:
        echo(to_json(result.to_dict()))
    elif result.violation is not None:
        echo(f"audit failed at commit {result.violation}", err=True)
    else:
        echo(f"{result.commits} state commits verified.")
    if result.violation is not None:
        raise typer.Exit(int(ExitCode.CHECKS_FAILED))


@log_app.command("log")
def log_command(
    ctx: typer.Context,
    bundle: Annotated[
        str | None,
        typer.Option("--bundle", help="Only this bundle.", autocompletion=completion.bundles),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Only this region.", autocompletion=completion.regions),
    ] = None,
    incident: Annotated[str | None, typer.Option("--incident", help="Only this incident.")] = None,
    action: Annotated[
        str | None,
        typer.Option(
            "--action", help="Only this action.", autocompletion=completion.journal_actions
        ),
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor.")] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only entries from then on: a date or time (2026-11-25, 2026-11-25T14:30, UTC "
            "unless it says) or a duration back from now (30m, 2h, 3d).",
        ),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """The journal of the state branch, newest first: what each state commit did, to what, who
    did it, why, and what was forced.

    Example: modctl log --bundle ipr-counterfeit --region SG --since 2d
    """
    from modctl.reports.journal import log_json, log_text
    from modctl.state import journal

    if action is not None:
        from modctl.state.replay import ACTIONS

        if action not in ACTIONS:
            raise UsageError(
                f"unknown action {printable.shown(action)}; the journal's actions are "
                f"{', '.join(ACTIONS)}{suggest(action, ACTIONS)}"
            )
    context = reading_context(ctx)
    after = journal.since(since, context.now()) if since is not None else None
    wanted = journal.Filter(bundle, region, incident, action, actor)
    entries = [e for e in context.store.journal(since=after) if wanted(e)]
    echo(log_json(entries) if output is Output.json else log_text(entries))
