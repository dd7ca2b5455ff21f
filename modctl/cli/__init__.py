"""Command-line interface: thin commands over the core operations.

Only this package imports Typer. `modctl --version` answers before Typer or any command is
imported; everything else goes through the Typer application assembled in `modctl.cli.main`.
"""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from modctl import __version__

        print(f"modctl {__version__}")
        return
    from modctl.cli.main import app

    app(prog_name="modctl")


def __getattr__(name: str) -> Any:
    if name == "app":  # `from modctl.cli import app`, for tests and embedding
        from modctl.cli.main import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
