"""`modctl demo`: the whole loop, told and run for real in a throw-away strategy repository."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modctl.cli._app import command_app, echo, echo_painted, painter
from modctl.cli.options import Output, OutputOption, checked_path

if TYPE_CHECKING:
    from modctl.demo.run import Invoke, Played, Ran
    from modctl.demo.story import Act, Action, Command

app = command_app()


@app.command("demo")
def demo_command(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            metavar="DIR",
            help="Run in this folder (empty, or new) instead of a temporary one.",
            callback=checked_path,
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the repository afterwards, to explore it.")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """The whole loop, run for real in a throw-away strategy repository.

    In a new repository made from the reference bundles, with a local bare repository as its
    remote, the real commands run one act at a time, each printed before its output: validate,
    test, backtest a rule change, release and roll out 1.0.0 everywhere, cut 1.1.0 and canary it,
    its gate fails on seeded metrics and aborts it, an emergency playbook disables the rule in
    every region, then status, the journal, the postmortem draft and the audit. Nothing is left
    behind unless --keep. With --output json, the acts and their commands in one document.

    Example: modctl demo --keep --dir /tmp/modctl-demo
    """
    from modctl.demo.run import play
    from modctl.reports import demo as report

    text = output is Output.text
    listener = _Narrator() if text else _Silent()
    demo = play(directory, keep, _invoker(capture=not text), listener)
    echo(report.summary(demo) if text else report.as_json(demo))


def _invoker(*, capture: bool) -> Invoke:
    """`modctl ARGS` through this same application, in this process: the exit status, and with
    `capture` what it printed on stdout and stderr."""
    import typer.main

    from modctl.cli._app import app as modctl

    command = typer.main.get_command(modctl)

    def main(args: Sequence[str]) -> int:
        # As the console script runs it: usage errors and aborts shown and turned into exit
        # statuses by Typer itself, whose exceptions are its own (it vendors click).
        try:
            command.main(list(args), prog_name="modctl")
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        return 0

    def invoke(args: Sequence[str]) -> tuple[int, str | None]:
        if not capture:
            return main(args), None
        said = io.StringIO()
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            code = main(args)
        return code, said.getvalue()

    return invoke


class _Narrator:
    """Tells the story on the terminal, each command before what it prints."""

    def __init__(self) -> None:
        self.paint = painter()

    def act(self, number: int, total: int, act: Act) -> None:
        from modctl.reports import demo as report

        echo(report.act(number, total, act))

    def action(self, action: Action) -> None:
        from modctl.reports import demo as report

        echo(report.action(action))

    def command(self, command: Command) -> None:
        from modctl.reports import demo as report

        echo_painted(report.command(command, self.paint))

    def ran(self, ran: Ran) -> None:
        """The command printed its own output."""

    def played(self, played: Played) -> None:
        from modctl.reports import demo as report

        echo(report.played(played))


class _Silent:
    """Keeps quiet: `--output json` prints the acts at the end."""

    def act(self, number: int, total: int, act: Act) -> None:
        """Nothing to show."""

    def action(self, action: Action) -> None:
        """Nothing to show."""

    def command(self, command: Command) -> None:
        """Nothing to show."""

    def ran(self, ran: Ran) -> None:
        """Nothing to show."""

    def played(self, played: Played) -> None:
        """Nothing to show."""
