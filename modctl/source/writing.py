"""Writing a file people keep in the working tree: all at once, in its mode, or not at all."""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from pathlib import Path

from modctl.errors import RefusedError, UsageError


def check_writable(path: Path, shown: str, again: str) -> None:
    """Refuse a file its mode makes read-only, even to a user (root) who could write it; the
    message ends in what to do after making it writable (`again`: "fold again")."""
    if not path.stat().st_mode & 0o222 or not os.access(path, os.W_OK):
        raise RefusedError(
            f"{shown} is read-only; make it writable and {again} (nothing was written)"
        )


def replace(path: Path, data: bytes, shown: str) -> None:
    """Replace the file at once (a killed run leaves the old file or the new one), keeping its
    mode; a new file gets the mode new files get."""
    tmp: str | None = None
    try:
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {exc.strerror or exc}; nothing written") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def diff(path: str, before: str, after: str, *, created: bool = False) -> list[str]:
    """The unified diff of a file people keep, from `before` to `after`, one line each."""
    return [
        line.rstrip("\r\n")
        for line in difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            "/dev/null" if created else f"a/{path}",
            f"b/{path}",
        )
    ]
