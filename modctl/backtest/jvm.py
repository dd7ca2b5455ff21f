"""What the JVM of Spark says. Its exceptions reach modctl through py4j, each with its cause
(`condition`, `first_line`). Its standard error is held while it starts: PySpark starts it with
this process's standard error, where a setting Spark refuses (`--conf spark.executor.memory=lots`,
`--master yarn` without HADOOP_CONF_DIR) becomes a Java stack trace. Held, a JVM that stops as
it starts becomes one line (`reason`); once Spark is up, everything it writes goes through, its
progress bar too, but for the line every start prints (`WARNING: Using incubator modules`).
"""

from __future__ import annotations

import os
import re
import sys
import threading

NOISE = b"WARNING: Using incubator modules: jdk.incubator.vector\n"
_THROWN = re.compile(r'Exception in thread "[^"]*" [\w.$]+: (?P<message>.+)')


class Held:
    """The standard error of the processes this one starts from now on (the JVM), held until
    `release`, then passed on; this process's own is its own again from `restore` on."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self._source, write = os.pipe()
        self._saved: int | None = os.dup(2)
        os.dup2(write, 2)
        os.close(write)
        self._held = bytearray()
        self._passing = False
        self._dropping = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, name="modctl-jvm-stderr", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while chunk := os.read(self._source, 65536):
            with self._lock:
                if self._passing:
                    _write(chunk.replace(NOISE, b""))
                elif not self._dropping:
                    self._held += chunk
        os.close(self._source)

    def restore(self) -> None:
        """This process's standard error back where it was."""
        if self._saved is not None:
            sys.stderr.flush()
            os.dup2(self._saved, 2)
            os.close(self._saved)
            self._saved = None

    def release(self) -> None:
        """Pass on what was held and everything after it."""
        self.restore()
        with self._lock:
            self._passing = True
            _write(bytes(self._held).replace(NOISE, b""))
            self._held.clear()

    def drop(self) -> None:
        """Pass on nothing more: what the JVM says as it is stopped in the middle of a job
        (Java stack traces of its thread pools) is no news to whoever stopped it."""
        with self._lock:
            self._passing, self._dropping = False, True

    def reason(self, timeout: float = 10.0) -> str | None:
        """Why a JVM that has stopped did not start, in its own words (the message of the
        exception it threw, or the first line it wrote), once it has written everything."""
        self.restore()
        self._thread.join(timeout)
        with self._lock:
            text = bytes(self._held).replace(NOISE, b"").decode("utf-8", "replace")
        for written in text.splitlines():
            line = written.strip()
            if not line or line.startswith("at "):
                continue
            thrown = _THROWN.match(line)
            return thrown["message"].strip() if thrown else line
        return None


def _write(data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(2, view)
        except OSError:
            return  # standard error went away: nothing left to tell
        view = view[written:]


def condition(exc: Exception) -> str | None:
    for name in ("getCondition", "getErrorClass"):
        method = getattr(exc, name, None)
        if method is not None:
            found = method()
            return None if found is None else str(found)
    return None


def first_line(exc: Exception) -> str:
    """What went wrong, in Spark's words: the first line of the innermost Java exception (the
    cause, such as a file that is not Parquet), else of the exception, without its SQLSTATE;
    but Spark's own account of a file it failed to read where it gives one (which file, which
    column of which type), without its error class."""
    said = messages(exc)
    text = said[-1] if said else ""
    if said and re.match(r"\[FAILED_READ_FILE\.(?!NO_HINT\])", said[0]):
        text = re.sub(r"^\[[\w.]+\]\s*", "", said[0])
    line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return re.sub(r"\s*SQLSTATE: \w+\.?$", "", line).strip()


def messages(exc: Exception) -> list[str]:
    """The messages of the exception and of each Java exception that caused it, outermost
    first."""
    found = [str(exc)]
    cause = getattr(exc, "java_exception", None)
    if cause is not None:
        found = []
    while cause is not None:
        message = cause.getMessage()
        if message:
            found.append(str(message))
        cause = cause.getCause()
    return found
