"""`modctl rollout ...`, `modctl rollback`, `modctl freeze|unfreeze`: canaries per region."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modctl.cli import completion
from modctl.cli._app import (
    command_app,
    context_of,
    echo,
    echo_painted,
    painter,
    reading_context,
    warn,
)
from modctl.cli.options import (
    Actor,
    Bundle,
    DryRun,
    Incident,
    OnlyBundle,
    Output,
    OutputOption,
    Reason,
    Region,
    Regions,
    WriteOptions,
    bundle_name,
)
from modctl.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from modctl.context import Context
    from modctl.state.operations import Journal, Outcome
    from modctl.state.rollout import Freeze, Situation
    from modctl.state.store import Snapshot

app = command_app(help="Stage releases as canaries, region by region.", no_args_is_help=True)
rollback_app = command_app()
status_app = command_app()  # `modctl status`, the same command as `modctl rollout status`
freeze_app = command_app()
unfreeze_app = command_app()
MetricsFile = Annotated[
    Path | None,
    typer.Option(
        "--metrics",
        metavar="FILE",
        help="Metrics rows, CSV or JSON lines (`modctl schema metrics`); default: "
        "metrics.source in modctl.yaml.",
    ),
]


def journal_of(context: Context, options: WriteOptions) -> Journal:
    from modctl.state.operations import Journal

    return Journal(context.actor(options.actor), options.reason, options.incident)


def report(outcome: Outcome, options: WriteOptions, undo: str | None) -> None:
    from modctl.reports import rollout as render

    for warning in outcome.warnings:
        warn(warning)
    if options.output is Output.json:
        echo(render.outcome_json(outcome, undo))
    else:
        echo(render.outcome_text(outcome, undo))


def _run(
    ctx: typer.Context,
    bundle: str,
    action: str,
    mutate: Callable[[Situation], str],
    options: WriteOptions,
    release: str | None = None,
    forced: str | None = None,
) -> None:
    from modctl.state.operations import change

    context = context_of(ctx)
    outcome = change(
        context,
        bundle,
        action,
        mutate,
        journal_of(context, options),
        release=release,
        forced=forced,
        dry_run=options.dry_run,
    )
    report(outcome, options, _undo(bundle, outcome))


def _undo(bundle: str, outcome: Outcome) -> str | None:
    """The commands that put every region the change touched back as it was."""
    from modctl.state.files import freeze_of, region_file, region_state
    from modctl.state.rollout import RegionState
    from modctl.state.undo import undo

    commands: list[str] = []
    for region in outcome.regions:
        path = region_file(region, bundle)
        written = outcome.files.get(path)
        if written is None:
            continue
        old = outcome.before.get(path)
        before = region_state(path, old) if old else RegionState(bundle, region)
        hold = freeze_of(outcome.before, region)
        found = undo(bundle, before, region_state(path, written), hold)
        if found is None:
            return (
                f"none: this is the first stable release of {bundle} in {region}; roll it back "
                "or forward to another release"
            )
        commands += found
    return "; ".join(commands) or None


@app.command("start")
def start_command(
    ctx: typer.Context,
    bundle: Bundle,
    version: Annotated[str, typer.Argument(help="Release to stage.")],
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            "-r",
            help="Regions (default: the next wave).",
            autocompletion=completion.regions,
        ),
    ] = None,
    at_step: Annotated[
        int,
        typer.Option(
            "--at-step", min=1, metavar="N", help="Start at the wave's Nth step (default: 1)."
        ),
    ] = 1,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Start a canary at the first step of its wave (or --at-step N, to restore an aborted one).

    Example: modctl rollout start ipr-counterfeit 1.4.0 --region SG
    """
    from modctl.state import rollout

    _run(
        ctx,
        bundle,
        "start",
        lambda s: rollout.start(s, version, region, at_step - 1),
        WriteOptions(actor, reason, incident, dry_run, output),
        release=version,
    )


@app.command("promote")
def promote_command(
    ctx: typer.Context,
    bundle: Bundle,
    region: Region,
    full: Annotated[bool, typer.Option("--full", help="Straight to 100%: make it stable.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Skip the min_bake wait (recorded in the journal).")
    ] = False,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Move the canary to the next step of its wave; at 100% it becomes stable.

    Example: modctl rollout promote ipr-counterfeit --region SG
    """
    from modctl.state import rollout

    _run(
        ctx,
        bundle,
        "promote",
        lambda s: rollout.promote(s, region, full=full, force=force),
        WriteOptions(actor, reason, incident, dry_run, output),
        forced="min_bake" if force else None,
    )


@app.command("demote")
def demote_command(
    ctx: typer.Context,
    bundle: Bundle,
    region: Region,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Move the canary back one step of its wave; allowed while frozen.

    Example: modctl rollout demote ipr-counterfeit --region SG --incident INC-2041
    """
    from modctl.state import rollout

    _run(
        ctx,
        bundle,
        "demote",
        lambda s: rollout.demote(s, region),
        WriteOptions(actor, reason, incident, dry_run, output),
    )


def _pausing(paused: bool) -> Callable[..., None]:
    verb = "pause" if paused else "resume"

    def command(
        ctx: typer.Context,
        bundle: Bundle,
        region: Region,
        actor: Actor = None,
        reason: Reason = None,
        incident: Incident = None,
        dry_run: DryRun = False,
        output: OutputOption = Output.text,
    ) -> None:
        from modctl.state import rollout

        _run(
            ctx,
            bundle,
            verb,
            lambda s: rollout.pause(s, region, paused=paused),
            WriteOptions(actor, reason, incident, dry_run, output),
        )

    said = "Hold the canary at its step." if paused else "Let a paused canary be promoted again."
    command.__doc__ = f"{said}\n\nExample: modctl rollout {verb} ipr-counterfeit --region SG"
    return command


app.command("pause")(_pausing(True))
app.command("resume")(_pausing(False))


@app.command("abort")
def abort_command(
    ctx: typer.Context,
    bundle: Bundle,
    region: Region,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Take the canary off; the stable release keeps all traffic.

    Example: modctl rollout abort ipr-counterfeit --region SG --incident INC-2041
    """
    from modctl.state import rollout

    _run(
        ctx,
        bundle,
        "abort",
        lambda s: rollout.abort(s, region),
        WriteOptions(actor, reason, incident, dry_run, output),
    )


def known_bundle(context: Context, bundle: str, snapshot: Snapshot | None = None) -> None:
    """A usage error, with the closest name, for a bundle neither in strategies/ nor on the
    state branch."""
    from modctl.source.repo import bundle_names
    from modctl.state.status import check_bundle

    check_bundle(snapshot or context.store.read(), bundle, bundle_names(context.root))


@app.command("analyze")
def analyze_command(
    ctx: typer.Context,
    bundle: Bundle,
    region: Regions = None,
    metrics: MetricsFile = None,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Judge every canary of a bundle in flight on its gates, and record the verdicts under
    analyses/ (exit 1 when a gate fails).

    Example: modctl rollout analyze ipr-counterfeit --region SG --dry-run --metrics m.csv
    """
    from modctl.reports import rollout as render
    from modctl.source import metrics as source
    from modctl.state.operations import record_analyses

    context = context_of(ctx)
    known_bundle(context, bundle)
    rows = source.read(context.config, context.root, context.now(), [bundle], metrics)
    options = WriteOptions(actor, reason, incident, dry_run, output)
    found, outcome = record_analyses(
        context, bundle, region, rows, journal_of(context, options), dry_run=dry_run
    )
    for warning in outcome.warnings:
        warn(warning)
    if output is Output.json:
        echo(render.analyses_json(found, outcome))
    else:
        echo(render.analyses_text(found, outcome))
    if any(a.verdict == "fail" for a in found):
        raise typer.Exit(int(ExitCode.CHECKS_FAILED))


@app.command("advance")
def advance_command(
    ctx: typer.Context,
    bundle: Annotated[
        str | None,
        typer.Argument(
            help="Only this bundle (default: every bundle with a canary).",
            show_default=False,
            callback=bundle_name,
            autocompletion=completion.bundles,
        ),
    ] = None,
    metrics: MetricsFile = None,
    auto_rollback: Annotated[
        bool, typer.Option("--auto-rollback", help="Abort a canary whose gate fails.")
    ] = False,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Move every canary in flight by its gates: promote one step when min_bake has passed and
    every gate passes, hold while baking or inconclusive, abort on a failed gate with
    --auto-rollback. Exit 1 when a gate failed, 4 when a freeze held back a promotion. A
    scheduler runs it every few minutes.

    Example: modctl rollout advance --auto-rollback
    """
    from modctl.reports import rollout as render
    from modctl.source import metrics as source
    from modctl.state.analysis import flying
    from modctl.state.operations import Outcome, advance

    context = context_of(ctx)
    snapshot = context.store.read()
    if bundle:
        known_bundle(context, bundle, snapshot)
    in_flight = flying(snapshot)
    bundles = [name for name in in_flight if name == bundle] if bundle else in_flight
    if not bundles:
        # Nothing to judge: the metrics source is not even read.
        nothing = Outcome("nothing to do", None, {}, dry_run=dry_run)
        said = f"No canary of {bundle} in flight." if bundle else "No canary in flight."
        echo(render.advance_json([], nothing) if output is Output.json else said)
        return
    rows = source.read(context.config, context.root, context.now(), bundles, metrics)
    options = WriteOptions(actor, reason, incident, dry_run, output)
    plans, outcome = advance(
        context,
        bundles,
        rows,
        journal_of(context, options),
        auto_rollback=auto_rollback,
        dry_run=dry_run,
    )
    for warning in outcome.warnings:
        warn(warning)
    if output is Output.json:
        echo(render.advance_json(plans, outcome))
    else:
        for plan in plans:
            for line in plan.lines:
                echo(line)
        if outcome.dry_run:
            echo("Dry run: nothing recorded.")
        elif outcome.commit:
            echo(f"Recorded in state commit {outcome.commit[:12]}.")
    if any(plan.failed for plan in plans):
        raise typer.Exit(int(ExitCode.CHECKS_FAILED))
    if any(plan.frozen for plan in plans):
        raise typer.Exit(int(ExitCode.REFUSED))


@app.command("status")
@status_app.command("status")
def status_command(
    ctx: typer.Context,
    bundle: OnlyBundle = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", "-w", help="Keep it on screen, drawn again every second (Ctrl-C stops)."
        ),
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """What runs where, and what holds it: frozen regions (who, when, why, incident), then
    region x bundle in wave order with stable, canary, step, time at the step, bake time left
    and whether promote is allowed now.

    Example: modctl status ipr-counterfeit --watch
    """
    import time

    from modctl.reports import rollout as render
    from modctl.source.repo import bundle_names
    from modctl.state.status import status
    from modctl.state.store import Snapshot

    context = reading_context(ctx)
    store = context.store
    known = bundle_names(context.root)
    paint = painter()
    snapshot = Snapshot(None)
    read: str | None = ""  # no commit is "": the first look reads the branch
    try:
        while True:
            tip = store.tip()
            moved = tip != read
            if moved:
                snapshot, read = store.read(tip), tip
            # A watched table is drawn again every second: its times move on by themselves.
            if moved or (watch and output is Output.text):
                state = status(snapshot, context.config, bundle, context.now(), known)
                if output is Output.json:
                    echo(render.status_json(state))
                elif watch:
                    echo_painted(render.watched(render.status_text(state, paint), state), nl=False)
                else:
                    echo_painted(render.status_text(state, paint))
            if not watch:
                return
            time.sleep(1.0)
    except KeyboardInterrupt:
        return


@rollback_app.command("rollback")
def rollback_command(
    ctx: typer.Context,
    bundle: Bundle,
    region: Region,
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="VERSION", help="Release (default: the previous stable)."),
    ] = None,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Put a region's stable release back to the previous one (or --to VERSION); allowed while
    frozen.

    Example: modctl rollback ipr-counterfeit --region SG --to 1.3.0 --incident INC-2041 --reason
    "overturns doubled"
    """
    from modctl.state import rollout

    options = WriteOptions(actor, reason, incident, dry_run, output)
    _run(ctx, bundle, "rollback", lambda s: rollout.rollback(s, region, to), options, release=to)


Every = Annotated[bool, typer.Option("--all", help="Every region.")]


@freeze_app.command("freeze")
def freeze_command(
    ctx: typer.Context,
    region: Regions = None,
    every: Every = False,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Stop starting and promoting canaries in regions (rollback stays allowed). A region
    already frozen keeps its freeze.

    Example: modctl freeze --all --incident INC-2041 --reason "overturns doubled"
    """
    options = WriteOptions(actor, reason, incident, dry_run, output)
    _freeze(ctx, region, every, True, options, force=False)


@unfreeze_app.command("unfreeze")
def unfreeze_command(
    ctx: typer.Context,
    region: Regions = None,
    every: Every = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Also lift freezes made under another incident (recorded)."),
    ] = False,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Let canaries start and move again. A freeze made under another incident than --incident
    is lifted only with --force.

    Example: modctl unfreeze --all --incident INC-2041
    """
    options = WriteOptions(actor, reason, incident, dry_run, output)
    _freeze(ctx, region, every, False, options, force=force)


def _freeze(
    ctx: typer.Context,
    regions: list[str] | None,
    every: bool,
    frozen: bool,
    options: WriteOptions,
    *,
    force: bool,
) -> None:
    import shlex

    from modctl.state.files import freeze_of
    from modctl.state.operations import set_freeze
    from modctl.state.undo import refreeze

    if not regions and not every:
        raise UsageError("name regions with --region, or pass --all")
    context = context_of(ctx)
    outcome = set_freeze(
        context,
        None if every else regions,
        frozen,
        journal_of(context, options),
        force=force,
        dry_run=options.dry_run,
    )
    changed = sorted({path.split("/")[1] for path in outcome.files})
    if frozen:
        # Lift just these freezes, under the incident they were made for.
        where = " ".join(f"--region {r}" for r in changed)
        match = f" --incident {shlex.quote(options.incident)}" if options.incident else ""
        undo = f"modctl unfreeze {where}{match}" if changed else None
    else:
        lifted: dict[Freeze, list[str]] = {}
        for region in changed:
            lifted.setdefault(freeze_of(outcome.before, region), []).append(region)
        undo = "; ".join(refreeze(regions, hold) for hold, regions in lifted.items()) or None
    report(outcome, options, undo)
