"""The Typer application with every command registered."""

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
from modctl.cli.journal import register as register_journal
from modctl.cli.release import app as release_app
from modctl.cli.rollout import app as rollout_app
from modctl.cli.rollout import register

app.add_typer(release_app, name="release")
app.add_typer(rollout_app, name="rollout")
register(app)
register_journal(app)

__all__ = ["app"]
