"""The Typer application, its global options and the one error boundary."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from modctl import __version__
from modctl.cli.options import Output
from modctl.errors import ExitCode, ModctlError

if TYPE_CHECKING:
    from modctl.context import Context

__all__ = ["Output", "app", "context_of"]

log = logging.getLogger("modctl")


@dataclass
class Globals:
    repo: Path | None = None
    verbose: bool = False
    context: Context | None = None


class _Boundary(TyperGroup):
    """Maps every exception to one line and an exit code (as the README's table lists them)."""

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
            log.debug("modctl error", exc_info=True)
            typer.echo(f"modctl: error: {exc.message}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None
        except Exception as exc:
            from modctl.cli.crash import save_traceback

            saved = save_traceback(exc)
            typer.echo(
                f"modctl: internal error: {type(exc).__name__}: {exc}; "
                f"the full traceback is in {saved}; please report it",
                err=True,
            )
            raise typer.Exit(int(ExitCode.INTERNAL)) from None
        finally:
            found = ctx.find_object(Globals)
            if found is not None and found.context is not None:
                found.context.close()


app = typer.Typer(
    cls=_Boundary,
    name="modctl",
    help="Carry content-moderation strategies from YAML to production, with git as the source "
    "of truth.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
        logging.basicConfig(level=logging.DEBUG, format="modctl: %(name)s: %(message)s")
    ctx.obj = Globals(repo=repo, verbose=verbose)


def context_of(ctx: typer.Context, start: Path | None = None) -> Context:
    """The invocation's one context, built on first use: the repository is `--repo`, else the
    one at or above `start` (default: the current folder)."""
    from modctl.context import Context

    found = ctx.find_object(Globals)
    options = found if found is not None else Globals()
    if options.context is None:
        options.context = Context.discover(options.repo or start)
    return options.context
