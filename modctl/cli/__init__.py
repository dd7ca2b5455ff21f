"""Command-line interface: thin commands over the core operations."""

from __future__ import annotations

from modctl.cli import (  # noqa: F401  (registers the commands)
    backtest,
    diff,
    explain,
    init,
    schema,
    test,
    validate,
)
from modctl.cli._app import app


def main() -> None:
    app(prog_name="modctl")
