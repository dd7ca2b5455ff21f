"""The one door for running a program `modctl.yaml` names (a metrics command): without a shell,
with a time limit, its standard output read back as bytes."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time

from modctl.errors import ModctlError

_STDERR_KEPT = 64 * 1024  # only its last line is shown


class ProgramError(ModctlError):
    """The program could not be run, failed, or ran out of time."""


def run(argv: list[str], timeout: float, limit: int) -> bytes:
    """What `argv` prints on standard output; ProgramError when it cannot start, exits non-zero,
    outlasts `timeout` seconds or prints more than `limit` bytes (then it is stopped, with
    every process it started)."""
    try:
        # A session of its own: when it is stopped, the query a wrapper script started goes too.
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except FileNotFoundError:
        raise ProgramError(f"{argv[0]} is not installed or not on PATH") from None
    except PermissionError:
        raise ProgramError(f"{argv[0]} cannot be run (permission denied)") from None
    except OSError as exc:
        raise ProgramError(f"cannot run it: {exc.strerror}") from None
    late = ProgramError(f"it ran longer than its time limit of {timeout:g} s and was stopped")
    deadline = time.monotonic() + timeout
    with process:
        stdout, stderr = _read(process, deadline, limit)
        if stdout is None:
            _stop(process)
            raise ProgramError(f"it printed more than {limit:,} bytes, the limit, and was stopped")
        if stderr is None:
            _stop(process)
            raise late
        try:
            process.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            _stop(process)
            raise late from None
    if process.returncode != 0:
        said = stderr.decode(errors="replace").strip().splitlines()
        last = f": {said[-1]}" if said else ""
        raise ProgramError(f"it exited with status {process.returncode}{last}")
    return stdout


def _read(
    process: subprocess.Popen[bytes], deadline: float, limit: int
) -> tuple[bytes | None, bytes | None]:
    """Standard output and error as they come, until both end: stdout None past `limit`
    bytes, stderr None past the `deadline`."""
    assert process.stdout is not None
    assert process.stderr is not None
    out, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, out)
        selector.register(process.stderr, selectors.EVENT_READ, err)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(out), None
            for key, _events in selector.select(left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                key.data.extend(chunk)
                if len(out) > limit:
                    return None, bytes(err)
                del err[:-_STDERR_KEPT]
    return bytes(out), bytes(err)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the program and every process of its session, and collect it."""
    with contextlib.suppress(ProcessLookupError):  # it ended just now, and all it started
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
