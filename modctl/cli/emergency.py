"""`modctl emergency list|show|run`: playbooks that mitigate every region in one commit."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modctl.cli import completion
from modctl.cli._app import command_app, context_of, echo, warn
from modctl.cli.options import Actor, DryRun, Incident, Output, OutputOption, Reason, WriteOptions
from modctl.cli.rollout import journal_of
from modctl.errors import ModctlError, RefusedError, UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from modctl.context import Context
    from modctl.emergency.playbook import Playbook
    from modctl.state.emergency import Prepared
    from modctl.state.operations import Outcome

app = command_app(
    help="Run emergency playbooks: plan every step for every region, confirm, write one commit.",
    no_args_is_help=True,
)
Name = Annotated[
    str,
    typer.Argument(
        metavar="PLAYBOOK",
        help="Playbook name (playbooks/NAME.yaml).",
        autocompletion=completion.playbooks,
    ),
]


def _regions(context: Context) -> Sequence[str] | None:
    """The regions of the committed modctl.yaml, or None when it cannot be read (a playbook
    is then shown without checking its regions)."""
    try:
        return context.config.regions
    except ModctlError:
        return None


@app.command("list")
def list_command(ctx: typer.Context, output: OutputOption = Output.text) -> None:
    """The playbooks of the repository, each with its description and parameters.

    Example: modctl emergency list
    """
    from modctl.reports import emergency as render
    from modctl.source import playbooks
    from modctl.source.repo import playbook_names

    context = context_of(ctx)
    regions = _regions(context)
    rows: list[tuple[str, Playbook | str]] = []
    for name in playbook_names(context.root):
        try:
            rows.append((name, playbooks.read(context.root, name, regions)))
        except UsageError as exc:
            rows.append((name, exc.message))
    echo(render.listed_json(rows) if output is Output.json else render.listed_text(rows))


@app.command("show")
def show_command(ctx: typer.Context, name: Name, output: OutputOption = Output.text) -> None:
    """A playbook's parameters (types, defaults, checks) and steps.

    Example: modctl emergency show disable-rule
    """
    from modctl.reports import emergency as render
    from modctl.source import playbooks

    context = context_of(ctx)
    book = playbooks.read(context.root, name, _regions(context))
    echo(render.shown_json(book) if output is Output.json else render.shown_text(book))


@app.command("run")
def run_command(
    ctx: typer.Context,
    name: Name,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", metavar="NAME=VALUE", help="A parameter (repeat for several)."
        ),
    ] = None,
    actor: Actor = None,
    reason: Reason = None,
    incident: Incident = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Run without asking for confirmation.")
    ] = False,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Plan every step of a playbook for every region on the state branch, show the plan and
    the state change, verify, and on confirmation write it all in one state commit, or nothing.
    Without a terminal, --yes is needed. Exit 2 for a bad parameter, 4 for a refused step, 1
    for a failed verify, 3 when the state moved after the plan was made.

    Example: modctl emergency run disable-rule -p bundle=ipr-counterfeit -p
    rule=lux-unauthorized-cheap --incident INC-2041 --reason "overturns doubled" --yes
    """
    started = time.monotonic()
    from modctl.reports import emergency as render
    from modctl.source import playbooks
    from modctl.state.emergency import prepare, write
    from modctl.state.operations import Outcome

    if not reason:
        raise UsageError(
            "an emergency run needs --reason: it is recorded with every change it makes"
        )
    context = context_of(ctx)
    options = WriteOptions(actor, reason, incident, dry_run, output)
    journal = journal_of(context, options)
    regions = context.config.regions
    book = playbooks.read(context.root, name, regions)
    given = _given(book, param or [], regions)
    prepared = prepare(context, book, given, journal)
    made = prepared.plan
    preview = Outcome(made.entry.summary, None, made.files, dry_run=dry_run, before=made.before)
    shown = [*render.plan_lines(prepared)]
    if made.files:
        shown += ["The state would change:", *render.diff_lines(prepared, preview)]
    if not made.files or dry_run:
        if output is Output.json:
            echo(render.run_json(prepared, preview, seconds=None, undo=[]))
            return
        said = "Dry run: nothing written." if made.files else "Nothing to change: nothing written."
        echo("\n".join([*shown, said]))
        return
    waited = 0.0
    if not yes:
        waited = _confirm(shown, len(book.steps), output)
    elif output is Output.text:
        echo("\n".join(render.plan_lines(prepared)))
    outcome = write(context, prepared)
    _report(prepared, outcome, time.monotonic() - started - waited, waited, output)


def _confirm(shown: list[str], steps: int, output: Output) -> float:
    """Show the plan and ask to go on (RefusedError when there is no terminal to ask on, or
    the answer is no); the seconds spent at the prompt."""
    import sys

    if not sys.stdin.isatty():
        raise RefusedError(
            "no terminal to confirm the run on: pass --yes to run it, or --dry-run to see "
            "the plan; nothing was written"
        )
    echo("\n".join(shown), err=output is Output.json)
    asked = time.monotonic()
    confirmed = typer.confirm(
        f"Write these {steps} steps in one state commit?", default=False, err=True
    )
    if not confirmed:
        raise RefusedError("not confirmed; nothing was written")
    return time.monotonic() - asked


def _report(
    prepared: Prepared, outcome: Outcome, seconds: float, waited: float, output: Output
) -> None:
    """The commit, how long the run took from the command's start (not counting the time at
    the prompt), the run record and the undo."""
    from modctl.reports import emergency as render

    made = prepared.plan
    for warning in outcome.warnings:
        warn(warning)
    if output is Output.json:
        echo(render.run_json(prepared, outcome, seconds=seconds, undo=made.undo))
        return
    commit = (outcome.commit or "")[:12]
    took = f"{seconds:.2f} s" + (f", not counting {waited:.1f} s at the prompt" if waited else "")
    if made.mitigates:
        echo(f"Mitigated in {took}: state commit {commit} ({outcome.summary}).")
    else:
        echo(
            f"Written in {took}: state commit {commit} ({outcome.summary}); it changes no "
            "deployed config."
        )
    echo(f"Record: {made.path} on the state branch.")
    if made.undo:
        echo("Undo: " + "; ".join(made.undo))


def _given(book: Playbook, pairs: list[str], regions: Sequence[str]) -> dict[str, Any]:
    """The `-p NAME=VALUE` pairs, each value read as its parameter's type."""
    from modctl import printable
    from modctl.emergency import params as types

    given: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals:
            raise UsageError(f"-p {printable.shown(pair)}: write it as NAME=VALUE")
        if name in given:
            raise UsageError(f"-p {printable.shown(name)} is given twice")
        param = book.params.get(name)
        given[name] = text if param is None else types.parse(param, text, regions)
    return given
