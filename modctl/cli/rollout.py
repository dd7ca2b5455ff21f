"""`modctl rollout ...`, `modctl rollback`, `modctl freeze|unfreeze`: canaries per region."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modctl.cli._app import Output, context_of

if TYPE_CHECKING:
    from modctl.state.operations import Journal, Outcome
    from modctl.state.rollout import Situation
    from modctl.state.store import Snapshot

app = typer.Typer(help="Stage releases as canaries, region by region.", no_args_is_help=True)

Region = Annotated[str, typer.Option("--region", "-r", help="Region.")]
Actor = Annotated[
    str | None,
    typer.Option("--actor", help="Who acts (default: MODCTL_ACTOR, then git user.email)."),
]
Reason = Annotated[str | None, typer.Option("--reason", help="Why, for the journal.")]
Incident = Annotated[str | None, typer.Option("--incident", help="Incident id, for the journal.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the change; write nothing.")]
Format = Annotated[Output, typer.Option("--output", help="Result format.")]


def _root(ctx: typer.Context) -> Path:
    return context_of(ctx).root


def _journal(root: Path, actor: str | None, reason: str | None, incident: str | None) -> Journal:
    from modctl.state.operations import Journal
    from modctl.state.store import actor as who

    return Journal(who(actor, root), reason, incident)


def _regions(outcome: Outcome) -> list[str]:
    return sorted({path.split("/")[1] for path in outcome.files if path.startswith("deploy/")})


def _report(outcome: Outcome, output: Output, undo: str | None) -> None:
    for warning in outcome.warnings:
        typer.secho(f"modctl: warning: {warning}", err=True, fg="yellow", bold=True)
    if output is Output.json:
        typer.echo(json.dumps({**outcome.to_dict(), "undo": undo}, indent=2))
        return
    if outcome.dry_run:
        typer.echo(f"Would {outcome.summary}; the state would change:")
        for line in outcome.diff():
            typer.echo(line)
        return
    typer.echo(f"Done: {outcome.summary} (state commit {(outcome.commit or '')[:12]}).")
    if undo:
        typer.echo(f"Undo: {undo}")


def _run(
    ctx: typer.Context,
    bundle: str,
    action: str,
    mutate: Callable[[Situation], str],
    opts: tuple[str | None, str | None, str | None, bool, Output],
    undo: Callable[[list[str]], str] | None,
    release: str | None = None,
) -> None:
    from modctl.state.operations import change

    actor, reason, incident, dry_run, output = opts
    root = _root(ctx)
    outcome = change(
        root,
        bundle,
        action,
        mutate,
        _journal(root, actor, reason, incident),
        release=release,
        dry_run=dry_run,
    )
    _report(outcome, output, undo(_regions(outcome)) if undo else None)


@app.command("start")
def start_command(
    ctx: typer.Context,
    bundle: Annotated[str, typer.Argument(help="Bundle.")],
    version: Annotated[str, typer.Argument(help="Release to stage.")],
    region: Annotated[
        list[str] | None,
        typer.Option("--region", "-r", help="Regions (default: the next wave)."),
    ] = None,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: Format = Output.text,
) -> None:
    """Start a canary at the first step of its wave."""
    from modctl.state import rollout

    _run(
        ctx,
        bundle,
        "start",
        lambda s: rollout.start(s, version, region),
        (actor, reason, incident, dry_run, output),
        lambda regions: "; ".join(f"modctl rollout abort {bundle} --region {r}" for r in regions),
        release=version,
    )


@app.command("promote")
def promote_command(
    ctx: typer.Context,
    bundle: Annotated[str, typer.Argument(help="Bundle.")],
    region: Region,
    full: Annotated[bool, typer.Option("--full", help="Straight to 100%: make it stable.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Skip the min_bake wait (recorded in the journal).")
    ] = False,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: Format = Output.text,
) -> None:
    """Move the canary to the next step of its wave; at 100% it becomes stable."""
    from modctl.state import rollout

    why = f"{reason or ''} (forced past min_bake)".strip() if force else reason
    _run(
        ctx,
        bundle,
        "promote",
        lambda s: rollout.promote(s, region, full=full, force=force),
        (actor, why, incident, dry_run, output),
        lambda _: (
            f"modctl rollout abort {bundle} --region {region}, or once stable: "
            f"modctl rollback {bundle} --region {region}"
        ),
    )


def _pausing(paused: bool) -> Callable[..., None]:
    verb, opposite = ("pause", "resume") if paused else ("resume", "pause")

    def command(
        ctx: typer.Context,
        bundle: Annotated[str, typer.Argument(help="Bundle.")],
        region: Region,
        actor: Actor = None,
        reason: Reason = None,
        incident: Incident = None,
        dry_run: DryRun = False,
        output: Format = Output.text,
    ) -> None:
        from modctl.state import rollout

        _run(
            ctx,
            bundle,
            verb,
            lambda s: rollout.pause(s, region, paused=paused),
            (actor, reason, incident, dry_run, output),
            lambda _: f"modctl rollout {opposite} {bundle} --region {region}",
        )

    command.__doc__ = (
        "Hold the canary at its step." if paused else "Let a paused canary be promoted again."
    )
    return command


app.command("pause")(_pausing(True))
app.command("resume")(_pausing(False))


@app.command("abort")
def abort_command(
    ctx: typer.Context,
    bundle: Annotated[str, typer.Argument(help="Bundle.")],
    region: Region,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: Format = Output.text,
) -> None:
    """Take the canary off; the stable release keeps all traffic."""
    from modctl.state import rollout

    _run(
        ctx,
        bundle,
        "abort",
        lambda s: rollout.abort(s, region),
        (actor, reason, incident, dry_run, output),
        None,
    )


@app.command("status")
def status_command(
    ctx: typer.Context,
    bundle: Annotated[
        str | None, typer.Argument(help="Only this bundle.", show_default=False)
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Render again whenever the state changes.")
    ] = False,
    output: Format = Output.text,
) -> None:
    """Region x bundle: stable, canary at weight and step, time at the step, paused, frozen."""
    import time

    from modctl.source.config import config_at
    from modctl.state.store import Store

    root = _root(ctx)
    config = config_at(root)
    store = Store(root, config.state_branch, config.remote)
    shown: str | None = None
    try:
        while True:
            tip = store.tip()
            if tip != shown:
                shown = tip
                if watch and output is Output.text:
                    typer.echo("\033[2J\033[H", nl=False)
                typer.echo(_status(store.read(tip) if tip else None, bundle, output))
            if not watch:
                return
            time.sleep(1.0)
    except KeyboardInterrupt:
        return


def _status(snapshot: Snapshot | None, bundle: str | None, output: Output) -> str:
    from datetime import datetime, timezone

    from tabulate import tabulate

    from modctl.state.operations import status_rows

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = status_rows(snapshot, bundle, now) if snapshot else []
    if output is Output.json:
        return json.dumps(rows, indent=2)
    if not rows:
        return "Nothing staged yet; `modctl rollout start BUNDLE VERSION` stages a release."
    table = [
        [
            r["region"],
            r["bundle"],
            r["stable"] or "-",
            f"{r['canary']}@{r['weight']}% (step {r['step']})" if r["canary"] else "-",
            f"{r['minutes_at_step']}m" if r["canary"] else "-",
            "paused" if r["paused"] else "",
            "frozen" if r["frozen"] else "",
            (
                f"{r['hotpatches']}"
                + (f" ({r['expired_hotpatches']} expired)" if r["expired_hotpatches"] else "")
            )
            if r["hotpatches"] or r["expired_hotpatches"]
            else "-",
            r["gate"] or "-",
        ]
        for r in rows
    ]
    headers = ["REGION", "BUNDLE", "STABLE", "CANARY", "AT STEP", "", "", "HOT-PATCHES", "GATE"]
    return str(tabulate(table, headers=headers, tablefmt="plain"))


def register(root_app: typer.Typer) -> None:
    """Top-level `rollback`, `freeze` and `unfreeze`, beside the `rollout` group."""

    @root_app.command("rollback")
    def rollback_command(
        ctx: typer.Context,
        bundle: Annotated[str, typer.Argument(help="Bundle.")],
        region: Region,
        to: Annotated[
            str | None,
            typer.Option("--to", metavar="VERSION", help="Release (default: the previous stable)."),
        ] = None,
        actor: Actor = None,
        reason: Reason = None,
        incident: Incident = None,
        dry_run: DryRun = False,
        output: Format = Output.text,
    ) -> None:
        """Put a region's stable release back to the previous one (or --to VERSION); allowed while frozen."""
        from modctl.state import rollout
        from modctl.state.operations import change

        root = _root(ctx)
        before: list[str | None] = []

        def mutate(s: Situation) -> str:
            before[:] = [s.state(region).stable]
            return rollout.rollback(s, region, to)

        outcome = change(
            root,
            bundle,
            "rollback",
            mutate,
            _journal(root, actor, reason, incident),
            release=to,
            dry_run=dry_run,
        )
        undo = (
            f"modctl rollback {bundle} --region {region} --to {before[0]}"
            if before and before[0]
            else None
        )
        _report(outcome, output, undo)

    @root_app.command("freeze")
    def freeze_command(
        ctx: typer.Context,
        region: Annotated[list[str] | None, typer.Option("--region", "-r", help="Regions.")] = None,
        every: Annotated[bool, typer.Option("--all", help="Every region.")] = False,
        actor: Actor = None,
        reason: Reason = None,
        incident: Incident = None,
        dry_run: DryRun = False,
        output: Format = Output.text,
    ) -> None:
        """Stop starting and promoting canaries in regions (rollback stays allowed)."""
        _freeze(ctx, region, every, True, (actor, reason, incident, dry_run, output))

    @root_app.command("unfreeze")
    def unfreeze_command(
        ctx: typer.Context,
        region: Annotated[list[str] | None, typer.Option("--region", "-r", help="Regions.")] = None,
        every: Annotated[bool, typer.Option("--all", help="Every region.")] = False,
        actor: Actor = None,
        reason: Reason = None,
        incident: Incident = None,
        dry_run: DryRun = False,
        output: Format = Output.text,
    ) -> None:
        """Let canaries start and move again."""
        _freeze(ctx, region, every, False, (actor, reason, incident, dry_run, output))


def _freeze(
    ctx: typer.Context,
    regions: list[str] | None,
    every: bool,
    frozen: bool,
    opts: tuple[str | None, str | None, str | None, bool, Output],
) -> None:
    from modctl.errors import UsageError
    from modctl.state.operations import set_freeze

    if not regions and not every:
        raise UsageError("name regions with --region, or pass --all")
    actor, reason, incident, dry_run, output = opts
    root = _root(ctx)
    outcome = set_freeze(
        root,
        None if every else regions,
        frozen,
        _journal(root, actor, reason, incident),
        dry_run=dry_run,
    )
    where = "--all" if every else " ".join(f"--region {r}" for r in regions or [])
    _report(outcome, output, f"modctl {'unfreeze' if frozen else 'freeze'} {where}")
