"""The one door for running a program `modctl.yaml` names (a metrics command): without a shell,
with a time limit, its standard output read back as bytes."""

from __future__ import annotations

import subprocess

from modctl.errors import ModctlError


class ProgramError(ModctlError):
    """The program could not be run, failed, or ran out of time."""


def run(argv: list[str], timeout: float, limit: int) -> bytes:
    """What `argv` prints on standard output; ProgramError when it cannot start, exits non-zero,
    outlasts `timeout` seconds (it is killed) or prints more than `limit` bytes."""
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ProgramError(f"{argv[0]} is not installed or not on PATH") from None
    except PermissionError:
        raise ProgramError(f"{argv[0]} cannot be run (permission denied)") from None
    except subprocess.TimeoutExpired:
        raise ProgramError(
            f"it ran longer than its time limit of {timeout:g} s and was stopped"
        ) from None
    except OSError as exc:
        raise ProgramError(f"cannot run it: {exc.strerror}") from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        last = f": {said[-1]}" if said else ""
        raise ProgramError(f"it exited with status {done.returncode}{last}")
    if len(done.stdout) > limit:
        raise ProgramError(f"it printed {len(done.stdout):,} bytes; the limit is {limit:,}")
    return done.stdout
