"""Command-line interface: thin commands over the core operations. Owns the Typer application
(`_app.py` lists every command, loaded when asked for), the options many commands share (`options.py`), the global
options, the invocation's context and the one error boundary (`_app.py`), and crash reports. It
may import every other package of modctl; it is the only package that imports Typer, prints or
exits. `modctl --version` answers here before Typer or any command is imported.
"""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from modctl import __version__

        print(f"modctl {__version__}")
        return
    from modctl.cli._app import app

    app(prog_name="modctl")


def __getattr__(name: str) -> Any:
    if name == "app":  # `from modctl.cli import app`, for tests and embedding
        from modctl.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
