"""Every command's --help ends with an example, and the example is a command line the command
accepts."""

from __future__ import annotations

import re
import shlex

import click
import pytest
from typer.testing import CliRunner

from modctl.cli import app
from tests.test_output import COMMANDS


def example(name: str) -> str:
    """The command line after `Example:` in the command's help, on one line."""
    found = re.search(r"Example:\s+(.+?)\s*(?:\n\s*\n|$)", COMMANDS[name].help or "", re.DOTALL)
    assert found, f"`modctl {name} --help` has no `Example:` line"
    return " ".join(found.group(1).split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_has_an_example_it_accepts(name: str) -> None:
    words = shlex.split(example(name).partition(" > ")[0])
    assert words[0] == "modctl", words
    # The command the example runs: this one, or a shortcut to it (`status`, `rollout status`).
    size = max(n for n in (1, 2) if " ".join(words[1 : 1 + n]) in COMMANDS)
    command = COMMANDS[" ".join(words[1 : 1 + size])]
    runs = getattr(command.callback, "__wrapped__", None)
    assert runs is getattr(COMMANDS[name].callback, "__wrapped__", 0), f"{name}: {words[:3]}"
    try:
        command.make_context(name, words[1 + size :], resilient_parsing=False)
    except click.UsageError as exc:  # an option or argument the command does not take
        pytest.fail(f"the example of `modctl {name}` does not parse: {exc}")


def test_help_prints_the_example(runner: CliRunner) -> None:
    result = runner.invoke(app, ["rollout", "pause", "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: modctl rollout pause ipr-counterfeit --region SG" in result.output
