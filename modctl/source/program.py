"""The one door for running a program `modctl.yaml` names (a metrics command): without a shell,
with a time limit, its standard output read back as bytes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

from modctl.errors import ModctlError


class ProgramError(ModctlError):
    """The program could not be run, failed, or ran out of time."""


def run(argv: list[str], timeout: float, limit: int) -> bytes:
    """What `argv` prints on standard output; ProgramError when it cannot start, exits non-zero,
    outlasts `timeout` seconds (it is killed, with every process it started) or prints more
    than `limit` bytes."""
    try:
        # A session of its own: when time is up, the query a wrapper script started goes too.
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except FileNotFoundError:
        raise ProgramError(f"{argv[0]} is not installed or not on PATH") from None
    except PermissionError:
        raise ProgramError(f"{argv[0]} cannot be run (permission denied)") from None
    except OSError as exc:
        raise ProgramError(f"cannot run it: {exc.strerror}") from None
    with process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # it ended as time ran out
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise ProgramError(
                f"it ran longer than its time limit of {timeout:g} s and was stopped"
            ) from None
    if process.returncode != 0:
        said = stderr.decode(errors="replace").strip().splitlines()
        last = f": {said[-1]}" if said else ""
        raise ProgramError(f"it exited with status {process.returncode}{last}")
    if len(stdout) > limit:
        raise ProgramError(f"it printed {len(stdout):,} bytes; the limit is {limit:,}")
    return stdout
