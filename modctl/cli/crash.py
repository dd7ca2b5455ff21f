"""Where an unexpected exception's traceback goes: a file, never the user's terminal."""

from __future__ import annotations

import logging
import os
import tempfile
import time
import traceback
from pathlib import Path

from modctl import __version__


def log_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "modctl" / "crashes"


def save_traceback(exc: BaseException) -> Path:
    text = "".join(traceback.format_exception(exc))
    logging.getLogger("modctl").debug("%s", text)
    name = f"crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    header = f"modctl {__version__}\n"
    for folder in (log_dir(), Path(tempfile.gettempdir()) / "modctl-crashes"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(header + text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path(os.devnull)
