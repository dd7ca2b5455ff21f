"""`modctl hotpatch apply|list|revert`: small, expiring, audited overrides of deployed releases."""

from __future__ import annotations

import shlex
from typing import Annotated, Any

import typer

from modctl.cli._app import command_app, context_of, echo, reading_context, warn
from modctl.cli.options import (
    Actor,
    Bundle,
    DryRun,
    Incident,
    OnlyBundle,
    Output,
    OutputOption,
    Reason,
    Regions,
    WriteOptions,
)
from modctl.cli.rollout import journal_of, known_bundle
from modctl.errors import UsageError

app = command_app(
    help="Hot-patch deployed releases: disable a rule, change its action, mode or a param, edit a "
    "list; every patch expires.",
    no_args_is_help=True,
)


@app.command("apply")
def apply_command(
    ctx: typer.Context,
    bundle: Bundle,
    op: Annotated[
        str,
        typer.Argument(
            help="disable_rule, enable_rule, set_action, set_mode, set_param, list_add or "
            "list_remove."
        ),
    ],
    target: Annotated[
        str, typer.Argument(help="The rule id, RULE.PARAM for set_param, or the list name.")
    ],
    value: Annotated[
        list[str] | None,
        typer.Argument(
            help="The action, mode or param value; for list_add and list_remove, the entries.",
            show_default=False,
        ),
    ] = None,
    region: Regions = None,
    expires_in: Annotated[
        str,
        typer.Option(
            "--expires-in", metavar="DURATION", help="How long it lives, at most hotpatch.max_ttl."
        ),
    ] = "4h",
    queue: Annotated[
        str | None, typer.Option("--queue", help="The review queue, for set_action review.")
    ] = None,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Hot-patch BUNDLE in the given regions, after checking that the patched configs pass lint
    and the tests that still apply; one state commit, or nothing. A value that starts with `-`
    (a negative number) goes after `--`, with the options before it.

    Example: modctl hotpatch apply ipr-counterfeit --region SG --region MY disable_rule
    lux-unauthorized-cheap --expires-in 4h --incident INC-2041 --reason "overturns doubled"
    """
    from modctl.reports import to_json
    from modctl.state.operations import hotpatch_apply

    if not region:
        raise UsageError("name the regions to patch with --region (repeat it for several)")
    context = context_of(ctx)
    options = WriteOptions(actor, reason, incident, dry_run, output)
    request = {
        "op": op,
        "target": target,
        "value": _value(op, value or []),
        "queue": queue,
        "expires_in": expires_in,
    }
    regions = [r for each in region for r in each.split(",") if r]
    done = hotpatch_apply(
        context, bundle, regions, request, journal_of(context, options), dry_run=dry_run
    )
    for warning in done.outcome.warnings:
        warn(warning)
    ident = done.record["id"]
    undo = None if dry_run else f"modctl hotpatch revert {ident}"
    if output is Output.json:
        echo(
            to_json(
                {
                    **done.outcome.to_dict(),
                    "hotpatch": done.record,
                    "verified": done.checked,
                    "undo": undo,
                }
            )
        )
        return
    if dry_run:
        echo(f"Would {done.outcome.summary}; the state would change:")
        echo("\n".join(done.outcome.diff()))
    else:
        echo(f"Done: {done.outcome.summary} (state commit {(done.outcome.commit or '')[:12]}).")
    for line in done.checked:
        echo(f"Verified {line}.")
    if undo:
        echo(f"Undo: {undo}")


def _value(op: str, values: list[str]) -> Any:
    """The value as the op takes it: list entries as a list, anything else as one word (a
    set_param value is read as its param's type when the patch is checked)."""
    if op in ("list_add", "list_remove"):
        return values or None
    if len(values) > 1:
        raise UsageError(f"{op} takes one value, not {len(values)}: {' '.join(values)}")
    return values[0] if values else None


@app.command("revert")
def revert_command(
    ctx: typer.Context,
    ident: Annotated[str, typer.Argument(metavar="ID", help="The hot-patch id (hp-...).")],
    region: Regions = None,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Take a hot-patch off every region that has it (or only the given regions), expired or
    not, in one state commit.

    Example: modctl hotpatch revert hp-20261129t120300-3f9a1c --incident INC-2041
    """
    from modctl.reports import rollout as render
    from modctl.state.operations import hotpatch_revert

    context = context_of(ctx)
    options = WriteOptions(actor, reason, incident, dry_run, output)
    regions = [r for each in region or [] for r in each.split(",") if r] or None
    outcome = hotpatch_revert(
        context, ident, regions, journal_of(context, options), dry_run=dry_run
    )
    for warning in outcome.warnings:
        warn(warning)
    undo = None
    if not dry_run:
        undo = "re-apply it with `modctl hotpatch apply` (a new id): " + _reapply(outcome, ident)
    if output is Output.json:
        echo(render.outcome_json(outcome, undo))
    else:
        echo(render.outcome_text(outcome, undo))


def _reapply(outcome: Any, ident: str) -> str:
    from modctl.state.files import region_state

    for path, old in sorted(outcome.before.items()):
        if path in outcome.files and path.startswith("regions/"):
            state = region_state(path, old)
            for patch in state.hotpatches:
                if patch["id"] == ident:
                    return _command(state.bundle, outcome.regions, patch)
    return ""


def _command(bundle: str, regions: list[str], patch: dict[str, Any]) -> str:
    value = patch.get("value")
    values = value if isinstance(value, list) else ([] if value is None else [value])
    words = ["modctl", "hotpatch", "apply", bundle]
    words += [w for region in regions for w in ("--region", region)]
    patched = [str(patch["op"]), str(patch["target"]), *map(str, values)]
    options = ["--queue", patch["queue"]] if patch.get("queue") else []
    options += ["--reason", patch["reason"]]
    if patch.get("incident"):
        options += ["--incident", patch["incident"]]
    if any(word.startswith("-") for word in patched):  # after `--`, not read as options
        words += [*options, "--", *patched]
    else:
        words += [*patched, *options]
    return " ".join(shlex.quote(str(w)) for w in words)


@app.command("list")
def list_command(
    ctx: typer.Context,
    bundle: OnlyBundle = None,
    every: Annotated[
        bool, typer.Option("--all", help="Expired hot-patches too (they no longer apply).")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """The hot-patches on the state branch: id, bundle, regions, what each does, until when,
    why and by whom; live and pending ones (made by a clock that ran ahead) unless --all.

    Example: modctl hotpatch list ipr-counterfeit --all
    """
    from modctl.reports import to_json
    from modctl.reports.hotpatch import listed_text
    from modctl.state.hotpatch import listed

    context = reading_context(ctx)
    snapshot = context.store.read()
    if bundle is not None:
        known_bundle(context, bundle, snapshot)
    rows = listed(snapshot, context.config, context.now(), bundle, every=every)
    if output is Output.json:
        echo(to_json({"hotpatches": rows}))
    else:
        echo(listed_text(rows, every))


@app.command("fold")
def fold_command(
    ctx: typer.Context,
    patch_id: Annotated[str, typer.Argument(metavar="ID", help="Hot-patch id (hp-...).")],
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Write a hot-patch into its bundle's source in the working tree, comments and layout
    kept, so that the next release carries it; then say what to do next.

    Exit 0 when written or already folded, 4 when the patch cannot be folded as it is.

    Example: modctl hotpatch fold hp-20261129t120300-3f9a1c
    """
    from modctl.reports import fold as report
    from modctl.source.fold import fold
    from modctl.state.operations import recorded_hotpatch

    context = reading_context(ctx)
    found, gone = recorded_hotpatch(context.store, patch_id)
    result = fold(
        context.root,
        found.patch,
        found.bundle,
        found.regions,
        dry_run=dry_run,
        gone=None if gone is None else str(gone),
    )
    echo(report.as_json(result) if output is Output.json else report.text(result))


@app.command("expire")
def expire_command(
    ctx: typer.Context,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Take every lapsed hot-patch off the state in one commit, so that deploy/ no longer
    carries it; run it from the same scheduler as `rollout advance`.

    Example: modctl hotpatch expire
    """
    from modctl.reports import rollout as render
    from modctl.state.operations import hotpatch_expire

    context = context_of(ctx)
    options = WriteOptions(actor, reason, incident, dry_run, output)
    outcome = hotpatch_expire(context, journal_of(context, options), dry_run=dry_run)
    for warning in outcome.warnings:
        warn(warning)
    if output is Output.json:
        echo(render.outcome_json(outcome, None))
    elif outcome.commit is None and not dry_run:
        echo("No hot-patch has lapsed; nothing written.")
    else:
        echo(render.outcome_text(outcome, None))
