"""The Typer application, its global options and the one error boundary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from modctl import __version__, printable
from modctl.cli.options import Output, check_path
from modctl.errors import ExitCode, ModctlError, UsageError

if TYPE_CHECKING:
    from modctl.context import Context

__all__ = ["Output", "app", "context_of", "echo", "echo_painted", "painter", "warn"]


@dataclass
class Globals:
    repo: Path | None = None
    verbose: bool = False
    context: Context | None = None


# Every command, in the order `--help` lists them: the module that defines it and the Typer app
# there that holds it. A command's module is imported only when that command runs (or when
# `--help` lists them all), so an emergency rollback never pays for `backtest`'s imports.
COMMANDS = {
    "init": ("modctl.cli.init", "app"),
    "new": ("modctl.cli.new", "app"),
    "fmt": ("modctl.cli.fmt", "app"),
    "validate": ("modctl.cli.validate", "app"),
    "test": ("modctl.cli.test", "app"),
    "backtest": ("modctl.cli.backtest", "app"),
    "explain": ("modctl.cli.explain", "app"),
    "diff": ("modctl.cli.diff", "app"),
    "schema": ("modctl.cli.schema", "app"),
    "release": ("modctl.cli.release", "app"),
    "rollout": ("modctl.cli.rollout", "app"),
    "status": ("modctl.cli.rollout", "status_app"),
    "rollback": ("modctl.cli.rollout", "rollback_app"),
    "freeze": ("modctl.cli.rollout", "freeze_app"),
    "unfreeze": ("modctl.cli.rollout", "unfreeze_app"),
    "hotpatch": ("modctl.cli.hotpatch", "app"),
    "emergency": ("modctl.cli.emergency", "app"),
    "render": ("modctl.cli.journal", "render_app"),
    "log": ("modctl.cli.journal", "log_app"),
    "sync": ("modctl.cli.journal", "sync_app"),
    "audit": ("modctl.cli.journal", "audit_app"),
    "incident": ("modctl.cli.incident", "app"),
    "report": ("modctl.cli.report", "app"),
    "demo": ("modctl.cli.demo", "app"),
}


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Print a report or a message: every character that could steer a terminal (escape
    sequences, other controls, bidirectional overrides) is shown escaped, line breaks kept.
    Values from outside (arguments, files, the state branch) reach the terminal only here."""
    typer.echo(printable.lines(text), err=err, nl=nl)


def _colour_allowed() -> bool:
    """False when NO_COLOR is set to anything (no-color.org)."""
    import os

    return not os.environ.get("NO_COLOR")


def painter() -> Callable[[str, str], str]:
    """How a report colours text: not at all when NO_COLOR is set to anything (no-color.org).
    When stdout is not a terminal, `echo_painted` leaves the colour out."""
    if not _colour_allowed():
        return lambda text, _colour: text
    return lambda text, colour: typer.style(text, fg=colour)


def echo_painted(text: str, *, nl: bool = True) -> None:
    """Print a report whose renderer escaped every value from outside itself (`reports.cell`)
    and coloured it with `painter()`: colour and cursor codes reach a terminal only, click drops
    them when stdout is anything else."""
    typer.echo(text, nl=nl)


def warn(message: str) -> None:
    """One line on stderr, in bold yellow on a terminal unless NO_COLOR is set."""
    text = f"modctl: warning: {printable.lines(message)}"
    if _colour_allowed():
        typer.secho(text, err=True, fg="yellow", bold=True)
    else:
        typer.echo(text, err=True)


def command_app(**settings: Any) -> typer.Typer:
    """A Typer app for one command or one group of commands, rendered like the root app (which
    alone adds the shell-completion options)."""
    defaults: dict[str, Any] = {
        "add_completion": False,
        "pretty_exceptions_enable": False,
        "rich_markup_mode": None,
    }
    return typer.Typer(**{**defaults, **settings})


class _Boundary(TyperGroup):
    """Loads each command when it is asked for, and maps every exception to one line and an exit
    code (as the README's table lists them)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        import importlib

        module, attribute = COMMANDS[cmd_name]
        command = typer.main.get_command(getattr(importlib.import_module(module), attribute))
        command.name = cmd_name
        return command

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except BrokenPipeError:
            # The reader went away (`modctl log | head`): stop quietly, as git does.
            import os
            import sys

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except ModctlError as exc:
            if _globals(ctx).verbose:
                import logging

                logging.getLogger("modctl").debug("modctl error", exc_info=True)
            echo(f"modctl: error: {exc.message}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None
        except Exception as exc:
            from modctl.cli.crash import save_traceback

            saved = save_traceback(exc)
            # The first line: py4j's errors hold a whole Java stack trace, which is in the file.
            said = next(iter(str(exc).strip().splitlines()), "")
            echo(
                f"modctl: internal error: {type(exc).__name__}: {said}; "
                f"the full traceback is in {saved}; please report it",
                err=True,
            )
            raise typer.Exit(int(ExitCode.INTERNAL)) from None
        finally:
            context = _globals(ctx).context
            if context is not None:
                context.close()


app = command_app(
    cls=_Boundary,
    add_completion=True,
    name="modctl",
    help="Carry content-moderation strategies from YAML to production, with git as the source "
    "of truth.",
    no_args_is_help=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"modctl {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo",
            help="Strategy repository (default: the folder holding modctl.yaml at or above the "
            "current one).",
            file_okay=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log details and tracebacks to stderr.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    if verbose:
        # Imported only here: logging costs an emergency command's start-up 7 ms otherwise.
        import logging

        logging.basicConfig(level=logging.DEBUG, format="modctl: %(name)s: %(message)s")
    # Checked here, not by an option callback: the error boundary holds from here on.
    ctx.obj = Globals(repo=check_path("--repo", repo), verbose=verbose)


def _globals(ctx: Any) -> Globals:
    found = ctx.find_object(Globals)
    if found is None:  # a command invoked without the root app (tests of single commands)
        found = ctx.ensure_object(Globals)
    return found  # type: ignore[no-any-return]


def context_of(ctx: typer.Context, start: Path | None = None) -> Context:
    """The invocation's one context, built on first use: the repository is `--repo`, else the
    one at or above `start` (default: the current folder)."""
    from modctl.context import Context

    options = _globals(ctx)
    if options.context is None:
        if options.repo is not None and not options.repo.exists():
            raise UsageError(
                f"--repo {printable.cut(str(options.repo), 300)}: the folder does not exist"
            )
        options.context = Context.discover(options.repo or start, warn=warn)
    return options.context


def reading_context(ctx: typer.Context) -> Context:
    """The context of a command that reads the state branch: it warns, in one line, when the
    local branch is missing or behind what git last fetched of the remote's."""
    context = context_of(ctx)
    remote = context.store.remote
    stale = remote.stale() if remote is not None else None
    if stale:
        warn(stale)
    return context
