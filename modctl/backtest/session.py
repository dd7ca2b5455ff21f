"""The Spark session of `backtest --engine spark`: where it runs (`Cluster`, from `--master` and
`--conf`), and the session itself, started with modctl's logging on the Python that runs modctl
(on a local master), in one line when it does not start, and stopped on Ctrl-C without a trace
of Java or py4j (exit 130). pyspark is imported here only when a command asks for Spark.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modctl.backtest import jvm
from modctl.backtest.data import BATCH_ROWS
from modctl.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL = "pip install 'modctl[spark]'"
DEFAULT_MASTER = "local[*]"
LOGGING = Path(__file__).with_name("spark-log4j2.properties")
MASTER_WAIT = 5.0  # seconds for a standalone master to take a connection
MASTER = re.compile(r"local(\[[^\]]+\])?|local-cluster\[[^\]]+\]|yarn|(spark|k8s)://\S+")


@dataclass(frozen=True)
class Cluster:
    """Where Spark runs: the master URL and settings (`--master`, `--conf KEY=VALUE`), and
    whether Spark draws its progress bar (on a terminal)."""

    master: str = DEFAULT_MASTER
    conf: dict[str, str] = field(default_factory=dict)
    progress: bool = False

    @property
    def local(self) -> bool:
        return self.master == "local" or self.master.startswith("local[")


def checked_master(master: str) -> str:
    """A master URL Spark takes, or UsageError saying which ones it takes (Spark's own refusal
    comes as a Java stack trace)."""
    if not MASTER.fullmatch(master):
        raise UsageError(
            f"--master {master!r}: Spark takes local, local[N], local[*], yarn, "
            "spark://HOST:PORT or k8s://URL"
        )
    return master


def parse_conf(pairs: Sequence[str]) -> dict[str, str]:
    """`--conf KEY=VALUE` pairs, or UsageError naming the one without a key."""
    conf = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"--conf {pair!r}: write KEY=VALUE, e.g. spark.executor.memory=4g")
        conf[key.strip()] = value
    return conf


@contextlib.contextmanager
def session(cluster: Cluster) -> Iterator[SparkSession]:
    """The Spark session: the one this process already runs, if any (it is left running), or
    a new one on the cluster's master, stopped at the end."""
    from pyspark.sql import SparkSession

    with warnings.catch_warnings():
        # PySpark warns on every Arrow call under pandas 3, which modctl does not use.
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        active = SparkSession.getActiveSession()
        if active is not None:
            yield active
            return
        _need_java()
        _need_master(cluster.master)
        builder = SparkSession.builder.master(cluster.master).appName("modctl backtest")
        for key, value in _conf(cluster).items():
            builder = builder.config(key, value)
        spark, stderr = _start(builder, cluster)
        with _quiet_root_logger(), _interruptible(spark, stderr) as interrupted:
            try:
                yield spark
                if interrupted.is_set():
                    raise KeyboardInterrupt
            except BaseException:
                if interrupted.is_set():
                    raise KeyboardInterrupt from None
                raise
            finally:
                spark.stop()


def _start(builder: SparkSession.Builder, cluster: Cluster) -> tuple[SparkSession, jvm.Held]:
    """A new session and its JVM's standard error, or UsageError saying in one line why Spark
    did not start (in the JVM's words when it stopped as it started, which it says as a Java
    stack trace)."""
    before = {name: os.environ.get(name) for name in ("PYSPARK_PYTHON", "SPARK_SUBMIT_OPTS")}
    python = worker_python(cluster)
    if python is not None:
        os.environ["PYSPARK_PYTHON"] = python  # read once, as the session starts
    # Spark's logging, given to the driver's JVM before any spark.driver.extraJavaOptions (of
    # --conf, or of spark-defaults.conf), which are kept and come after it.
    logging_option = f"-Dlog4j2.configurationFile={LOGGING.as_uri()}"
    given = before["SPARK_SUBMIT_OPTS"]
    os.environ["SPARK_SUBMIT_OPTS"] = f"{logging_option} {given}" if given else logging_option
    stderr = jvm.Held()
    started: list[SparkSession] = []
    failed: list[Exception] = []

    def start() -> None:
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # pyspark's own errors, or py4j's when the JVM dies
            failed.append(exc)
            return
        try:
            spark.conf.get("spark.app.name")  # SQL settings are checked on first use: now
        except Exception as exc:
            spark.stop()
            failed.append(exc)
            return
        started.append(spark)

    # Started beside this thread, which a Ctrl-C then leaves at once: PySpark interrupted while
    # it waits for the JVM leaves that JVM running for good, and in the main thread it takes
    # over Ctrl-C for a handler that prints tracebacks.
    starting = threading.Thread(target=start, name="modctl-spark-start", daemon=True)
    try:
        starting.start()
        starting.join()
        if failed:
            exc = failed[0]
            said = jvm.condition(exc) == "JAVA_GATEWAY_EXITED" and stderr.reason()
            raise UsageError(
                f"could not start Spark on --master {cluster.master}: {said or jvm.first_line(exc)}"
            )
    finally:
        stderr.restore()
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    stderr.release()
    return started[0], stderr


@contextlib.contextmanager
def _interruptible(spark: SparkSession, stderr: jvm.Held) -> Iterator[threading.Event]:
    """Ctrl-C during a run: the event set and Spark stopped from another thread, which fails
    the job under way and any the run would start next, so that the run ends as an interrupted
    command (exit 130). Python's own handler raises inside whatever py4j call is under way,
    which breaks py4j's connection to the JVM: the run then ended with a network error (exit
    70). A second Ctrl-C raises at once."""
    interrupted = threading.Event()

    def handle(signum: int, frame: Any) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        # Nothing more to say: the JVM prints stack traces as its jobs stop mid-way, and
        # PySpark's threads print tracebacks as the session stops under them.
        stderr.drop()
        sys.stderr.flush()
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 2)
        os.close(quiet)
        threading.Thread(target=spark.stop, name="modctl-spark-stop", daemon=True).start()

    before = signal.signal(signal.SIGINT, handle)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, before)


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """py4j logs a Ctrl-C that lands in one of its calls, with a traceback, on the root logger,
    which prints it when nothing else set logging up (as --verbose does)."""
    root = logging.getLogger()
    if root.handlers:
        yield
        return
    quiet = logging.NullHandler()
    root.addHandler(quiet)
    try:
        yield
    finally:
        root.removeHandler(quiet)


def _conf(cluster: Cluster) -> dict[str, str]:
    """Spark's settings: modctl's defaults, then --conf. A local master draws no web UI (a
    command is not a service; --conf spark.ui.enabled=true draws it)."""
    conf = {
        "spark.ui.showConsoleProgress": "true" if cluster.progress else "false",
        # Batches as large as the local engine's: the evaluator's work per batch is shared.
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(BATCH_ROWS),
    }
    if cluster.local:
        conf["spark.ui.enabled"] = "false"
    return {**conf, **cluster.conf}


def worker_python(cluster: Cluster) -> str | None:
    """The Python that Spark's workers run, or None for PySpark's choice (PYSPARK_PYTHON, else
    `python3` on PATH). PySpark names it to the executors from PYSPARK_PYTHON only, as the
    driver starts: `spark.pyspark.python` works only through spark-submit, which modctl does
    not run, so that setting is taken here; on a local master, the Python running modctl,
    whose workers then import this modctl wherever it is installed (a virtual environment that
    is not on PATH, pipx)."""
    chosen = cluster.conf.get("spark.pyspark.python")
    if chosen:
        return chosen
    if cluster.local and "PYSPARK_PYTHON" not in os.environ:
        return sys.executable
    return None


def need_pyspark() -> None:
    try:
        import pyspark.sql  # noqa: F401
    except ImportError:
        raise UsageError(
            f"--engine spark needs PySpark, which is not installed: {INSTALL}"
        ) from None


def _need_java() -> None:
    home = os.environ.get("JAVA_HOME")
    if (home and (Path(home) / "bin" / "java").exists()) or shutil.which("java"):
        return
    raise UsageError(
        "--engine spark runs Spark, which needs Java 17 or later, and none was found: install "
        "one (Debian: apt-get install default-jre-headless) or set JAVA_HOME"
    )


def _need_master(master: str) -> None:
    """A standalone master (`spark://HOST:PORT`, or several for high availability) that takes
    a connection, at least one of them, or UsageError saying none does: Spark itself retries
    for over a minute and then says only that its context stopped."""
    if not master.startswith("spark://"):
        return
    why = ""
    for place in master.removeprefix("spark://").split(","):
        host, _, port = place.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=MASTER_WAIT):
                return
        except (OSError, ValueError, OverflowError) as exc:
            why = str(exc) if isinstance(exc, OSError) else f"no port in {place!r}"
    raise UsageError(
        f"--master {master}: no Spark master answers there ({why}): check the host and port, "
        "and that the master runs"
    )
