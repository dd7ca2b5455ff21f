"""Whether a command line a report suggests is one modctl accepts: parsed by modctl's own
command (every option, argument and callback checked) without running it."""

from __future__ import annotations

import shlex

import click
import typer.main

from modctl.cli import app


def parses(command: str) -> click.Context:
    """The parsed context of `command` (a modctl command line without global options); click's
    UsageError (or modctl's) when it does not parse."""
    words = shlex.split(command)
    assert words[0] == "modctl", command
    found: click.Command = typer.main.get_command(app)
    context = found.make_context("modctl", [], resilient_parsing=True)
    rest = words[1:]
    while isinstance(found, click.Group):
        name, *rest = rest
        sub = found.get_command(context, name)
        assert sub is not None, f"{command}: no command {name}"
        found = sub
        if isinstance(found, click.Group):
            context = found.make_context(name, [], parent=context, resilient_parsing=True)
        else:
            context = found.make_context(name, rest, parent=context)
    assert not context.args, f"{command}: left over {context.args}"
    return context
