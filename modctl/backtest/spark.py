"""`modctl backtest --engine spark`: the listings of a Parquet file or folder, or of a table of
the Spark catalog, decided on Apache Spark by the same batch evaluator as the local engine.

The driver (this module) checks the source's columns against modctl.yaml, broadcasts the bundle
once (`partition.Plan`), and has every partition decided inside `mapInArrow` on the executors
(`partition.decide`); only each partition's counts come back, and with `--changes` the changed
listings, sorted by their place in the data on the cluster. The report is the local engine's,
listing for listing. The session is `session.py`'s; pyspark is imported only when a command
asks for Spark.
"""

from __future__ import annotations

import heapq
import pickle
import re
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial as bind
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from modctl.analytics import sweep as analysis
from modctl.analytics.sweep import SweepResult, SweepTally
from modctl.backtest import jvm, partition, records, schema, session
from modctl.backtest.data import DataError
from modctl.backtest.impact import EXAMPLES, Tally
from modctl.backtest.partition import Partial, Plan
from modctl.backtest.records import Place
from modctl.backtest.run import CHANGE_COLUMNS, Result, _ChangesWriter, bundles
from modctl.engine.sweep import SweepEvaluator
from modctl.errors import UsageError
from modctl.model import Config
from modctl.source import workspace

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType

# A worker's Python that the executor could not start, in Java's words.
CANNOT_RUN = re.compile(r'Cannot run program "(?P<program>[^"]+)": error=\d+, (?P<why>[^\n]+)')
ROW_BITS = 33  # monotonically_increasing_id(): the partition above these bits, the row below


@dataclass(frozen=True)
class Source:
    """Where the listings are: a Parquet file or folder (a path, or a URI such as hdfs://...
    or s3a://... that Spark reads), or a table of the Spark catalog."""

    data: str | None = None
    table: str | None = None

    @property
    def local(self) -> Path | None:
        """The data as a path of this machine, when it names no other file system."""
        if self.data is None or "://" in self.data or self.data.startswith("file:"):
            return None
        return Path(self.data)

    @property
    def shown(self) -> str:
        if self.table is not None:
            return f"table {self.table}"
        assert self.data is not None
        local = self.local
        return str(local) if local is not None else self.data


def run(
    root: Path,
    bundle_name: str,
    source: Source,
    cluster: session.Cluster,
    *,
    baseline: str | None = None,
    changes: Path | None = None,
    skip_bad: bool = False,
) -> Result:
    """The backtest of the local engine (`backtest.run`), decided on Spark."""
    started = time.perf_counter()
    config, bundle, base = bundles(root, bundle_name, baseline)
    with _ChangesWriter(changes) as out:
        plan = Plan(config, bundle, [], baseline=base, changes=changes is not None)
        partials, master = _decided(plan, source, cluster, skip_bad, out)
    tally = Tally()
    for found in partials:
        assert isinstance(found.tally, Tally)
        tally.merge(found.tally)
    _in_order(tally, partials)
    skipped, first_skip, outside = _bad_rows(partials, source)
    return Result(
        bundle_name,
        _data(source),
        tally,
        [r.id for r in bundle.rules],
        baseline,
        skipped,
        first_skip,
        outside,
        time.perf_counter() - started,
        len(partials),
        engine="spark",
        master=master,
    )


def sweep(
    root: Path,
    bundle_name: str,
    source: Source,
    cluster: session.Cluster,
    specs: list[str],
    *,
    skip_bad: bool = False,
) -> SweepResult:
    """The sweep of the local engine (`backtest.sweep`), decided on Spark."""
    started = time.perf_counter()
    loaded = workspace.load(root, [bundle_name])
    bundle = loaded.bundle(bundle_name)
    axes = analysis.parse(specs, bundle)
    plan = Plan(loaded.config, bundle, [], axes=axes)
    partials, master = _decided(plan, source, cluster, skip_bad, None)
    tally = SweepTally()
    for found in partials:
        assert isinstance(found.tally, SweepTally)
        tally.merge(found.tally)
    points = SweepEvaluator(bundle, loaded.config, axes).points
    result = analysis.result(bundle, _data(source), axes, points, tally)
    result.seconds = time.perf_counter() - started
    result.skipped, result.first_skip, result.outside = _bad_rows(partials, source)
    result.engine, result.master, result.partitions = "spark", master, len(partials)
    return result


def _data(source: Source) -> Path | str:
    """The data as the local engine's report names it."""
    return source.local or source.shown


def _decided(
    plan: Plan, source: Source, cluster: session.Cluster, skip_bad: bool, changes: Any
) -> tuple[list[Partial], str]:
    """Every partition's counts, and the master of the Spark that decided them; the changed
    listings written to `changes` (a CSV writer) in the order of the data."""
    config = plan.config
    session.need_pyspark()
    checked = None
    if source.local is not None and cluster.local:
        checked = _check_local(source.local, config)  # before Spark starts: said at once
    with session.session(cluster) as spark:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PythonException

        frame, plan.present = _read(spark, source, config, cluster, checked)
        master = spark.sparkContext.master or cluster.master
        shipped = spark.sparkContext.broadcast(plan)
        out = frame.mapInArrow(bind(partition.decide_shipped, shipped), partition.OUTPUT_DDL)
        try:
            if changes is None:
                partials = [pickle.loads(row.partial) for row in out.collect()]
            else:
                partials = _with_changes(out, changes, source, skip_bad)
        except PythonException as exc:
            if "No module named 'modctl" not in str(exc):
                raise
            raise UsageError(
                f"Spark's executors cannot import modctl: install it there ({session.INSTALL}, "
                "the version the driver runs)"
            ) from None
        except Py4JJavaError as exc:
            messages = jvm.messages(exc)
            program = next(filter(None, map(CANNOT_RUN.search, messages)), None)
            if program is not None:
                raise UsageError(
                    f"Spark's workers cannot run {program['program']} ({program['why']}): name a "
                    "Python with modctl installed in --conf spark.pyspark.python=PATH"
                ) from None
            # A file of a folder that turns out unreadable once its rows are read.
            if not any("FAILED_READ_FILE" in m for m in messages):
                raise
            raise DataError(_unreadable(source, exc)) from None
        finally:
            shipped.destroy()
    _refuse_bad_rows(partials, source, skip_bad)
    if not any(p.tally.rows or p.outside or p.skipped for p in partials):
        raise DataError(f"{source.shown}: no listings in the {_what(source)}")
    return partials, master


def _with_changes(out: DataFrame, changes: Any, source: Source, skip_bad: bool) -> list[Partial]:
    """The partials, then the changed listings sorted by their place on the cluster and
    written one by one: the driver never holds them all."""
    from pyspark import StorageLevel

    out = out.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows = out.where(out.partial.isNotNull()).select("partial").collect()
        partials = [pickle.loads(row.partial) for row in rows]
        _refuse_bad_rows(partials, source, skip_bad)
        listed = out.where(out.partial.isNull()).orderBy("file", "row").select(*CHANGE_COLUMNS)
        for row in listed.toLocalIterator():
            changes.writerow([row[c] for c in CHANGE_COLUMNS])
    finally:
        out.unpersist()
    return partials


def _refuse_bad_rows(partials: list[Partial], source: Source, skip_bad: bool) -> None:
    skipped, first, _ = _bad_rows(partials, source)
    if skipped and not skip_bad:
        raise DataError(f"{first} (pass --skip-bad to skip bad rows)")


def _bad_rows(partials: list[Partial], source: Source) -> tuple[int, str | None, int]:
    """How many rows were bad, the first of them in the order of the data (where it is and what
    is wrong, as the local engine says it), and how many listings were outside the bundle."""
    skipped = sum(p.skipped for p in partials)
    outside = sum(p.outside for p in partials)
    firsts = [p.first_bad for p in partials if p.first_bad is not None]
    if not firsts:
        return skipped, None, outside
    place, message = min(firsts, key=lambda pair: pair[0])
    return skipped, f"{_where(place, source)}: {message}", outside


def _where(place: Place, source: Source) -> str:
    """A row's place as the local engine names it: the file and line (1 for the first row),
    or for a table the partition and the row in it."""
    file, row = place
    if source.table is not None:
        part, number = row >> ROW_BITS, row & ((1 << ROW_BITS) - 1)
        return f"{source.shown}, partition {part}, row {number + 1}"
    local = source.local
    if local is not None and local.is_file():
        return f"{local}:{row + 1}"
    parsed = urlparse(file)
    shown = unquote(parsed.path) if parsed.scheme == "file" else file
    return f"{shown}:{row + 1}"


def _what(source: Source) -> str:
    if source.table is not None:
        return "table"
    local = source.local
    return "file" if local is not None and local.is_file() else "data"


def _in_order(tally: Tally, partials: list[Partial]) -> None:
    """The examples of each kind of change, and the kinds, in the order of the data, as one
    pass over it in order finds them (partitions end in any order)."""
    kept: dict[str, list[tuple[Place, Any]]] = {}
    for found in partials:
        for kind, changes in found.examples.items():
            kept.setdefault(kind, []).extend(changes)
    kinds = sorted(kept, key=lambda kind: min(place for place, _ in kept[kind]))
    tally.examples = {
        kind: [c for _, c in heapq.nsmallest(EXAMPLES, kept[kind], key=lambda pair: pair[0])]
        for kind in kinds
    }
    tally.change_kinds = Counter({kind: tally.change_kinds[kind] for kind in kinds})


# ---------------------------------------------------------------------------- the source


def _check_local(path: Path, config: Config) -> dict[str, schema.Shape]:
    """A Parquet file or folder of this machine read as far as its schema, and its columns
    checked, before Spark starts; the columns as pyarrow reads them."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    if not path.exists():
        raise DataError(f"{path}: no such data file or folder")
    if path.is_file() and path.suffix.lower() in (".jsonl", ".ndjson", ".json", ".csv", ".tsv"):
        raise DataError(
            f"{path}: --engine spark reads Parquet (a file or a folder of them) or a table; "
            "convert the file, or run without --engine spark"
        )
    try:
        if path.is_file():
            found = pq.read_schema(path)
        else:
            found = ds.dataset(path, format="parquet", partitioning="hive").schema
    except Exception as exc:  # pyarrow raises its own error types for unreadable files
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    if not len(found.names) and path.is_dir():
        raise DataError(f"{path}: no Parquet files in the folder")
    columns = schema.arrow_columns(found)
    schema.select(columns, config.fields, str(path))
    return columns


def _read(
    spark: SparkSession,
    source: Source,
    config: Config,
    cluster: session.Cluster,
    checked: dict[str, schema.Shape] | None,
) -> tuple[DataFrame, list[bool]]:
    """The source's columns the engine reads (`partition.column_name`), with each row's place;
    and which of them the source has. A path without a scheme is this machine's for a local
    master, and the cluster's default file system's otherwise; its columns as pyarrow read
    them (`checked`, for a local file) say which hold no values, which Spark reads as int."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    try:
        if source.table is not None:
            frame = spark.table(source.table)
        else:
            local = source.local if cluster.local else None
            frame = spark.read.parquet(str(local.resolve()) if local else str(source.data))
        top = {f.name: _shape(f.dataType) for f in frame.schema.fields}
    except (PySparkException, Py4JJavaError) as exc:  # not found, not Parquet, no such host
        raise DataError(_unreadable(source, exc)) from None
    columns = schema.select(schema.with_nulls(top, checked or {}), config.fields, source.shown)
    selected, present = [], []
    for index, path in enumerate(columns.paths()):
        twice = (
            index >= len(records.ENGINE)
            and list(config.fields)[index - len(records.ENGINE)] in records.ENGINE
        )
        present.append(path is not None and not twice)
        if path is not None and not twice:
            name = ".".join(f"`{part.replace('`', '``')}`" for part in path)
            selected.append(F.col(name).alias(partition.column_name(index)))
    if source.table is not None:
        place = [F.lit("").alias("_file"), F.monotonically_increasing_id().alias("_row")]
    else:
        place = [F.col("_metadata.file_path").alias("_file"), F.col("_metadata.row_index")]
        place[1] = place[1].alias("_row")
    return frame.select(*selected, *place), present


def _unreadable(source: Source, exc: Exception) -> str:
    condition = jvm.condition(exc)
    if source.table is not None:
        if condition == "TABLE_OR_VIEW_NOT_FOUND":
            return f"no table {source.table} in the Spark catalog: check its name and database"
        return f"{source.shown}: cannot be read ({jvm.first_line(exc)})"
    if condition == "PATH_NOT_FOUND":
        return f"{source.shown}: no such data file or folder"
    if condition == "UNABLE_TO_INFER_SCHEMA":
        return (
            f"{source.shown}: no Parquet files that Spark reads in the folder: it reads the "
            "folder's own files and those of key=value subfolders (region=SG/), not those of "
            "other subfolders"
        )
    return f"{source.shown}: not a readable Parquet file or folder ({jvm.first_line(exc)})"


def _shape(data_type: DataType) -> schema.Shape:
    """The shape of a Spark column type (see schema.Shape)."""
    from pyspark.sql import types as T

    shown = data_type.simpleString()
    if isinstance(data_type, T.StringType | T.CharType | T.VarcharType):
        return schema.Shape("string", shown)
    if isinstance(data_type, T.ByteType | T.ShortType | T.IntegerType | T.LongType):
        return schema.Shape("integer", shown)
    if isinstance(data_type, T.FloatType | T.DoubleType):
        return schema.Shape("float", shown)
    if isinstance(data_type, T.DecimalType):
        return schema.Shape("decimal", shown)
    if isinstance(data_type, T.BooleanType):
        return schema.Shape("boolean", shown)
    if isinstance(data_type, T.NullType):
        return schema.Shape("null", shown)
    if isinstance(data_type, T.ArrayType):
        return schema.Shape("list", shown, item=_shape(data_type.elementType))
    if isinstance(data_type, T.StructType):
        inner = {f.name: _shape(f.dataType) for f in data_type.fields}
        return schema.Shape("struct", shown, fields=inner)
    return schema.Shape("other", shown)
