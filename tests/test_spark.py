"""`backtest --engine spark`: the report of Spark (local mode, two cores) is the local engine's,
listing for listing, on the shipped sample and on 200,000 generated listings, with --baseline,
--changes and --sweep; bad input is one line, as locally.

One Spark session serves the whole test session (starting one takes seconds); the commands run
in this process through the CliRunner and find it running. Without Java these tests skip, and
say so; `.ci/run` installs a JRE where it can.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from modctl.backtest.data import Reader
from modctl.cli import app
from modctl.engine.columnar import arrow_schema
from tests.conftest import (
    MODCTL,
    SAMPLE,
    copy_reference,
    read_terminal,
    reference_workspace,
    run,
    run_git,
)
from tests.test_output import COMMANDS

BUNDLE = "ipr-counterfeit"
# What differs between two runs of the same backtest: how long it took and where it ran.
RUN_KEYS = ("seconds", "jobs", "engine", "master")


def java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Spark in local mode on two cores, small partitions so that a file of a few thousand
    listings is decided as several partitions of several batches, in any order."""
    pytest.importorskip("pyspark", reason="PySpark is not installed: pip install 'modctl[spark]'")
    if java() is None:
        pytest.skip("no Java to run Spark on: install a JRE (apt-get install default-jre-headless)")
    from pyspark.sql import SparkSession

    from modctl.backtest.session import LOGGING

    work = tmp_path_factory.mktemp("spark")
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("modctl tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.files.maxPartitionBytes", "64k")
        .config("spark.sql.files.openCostInBytes", "0")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "700")
        .config("spark.sql.warehouse.dir", str(work / "warehouse"))
        .config("spark.local.dir", str(work / "local"))
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOGGING.as_uri()}")
    )
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers import this modctl
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        session = builder.getOrCreate()
    yield session
    session.stop()


@contextlib.contextmanager
def settings(spark: Any, changed: dict[str, str]) -> Iterator[None]:
    """The session's SQL settings changed for a while."""
    before = {key: spark.conf.get(key) for key in changed}
    for key, value in changed.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


def parquet(source: Path, dest: Path, *, row_group_size: int = 400) -> Path:
    """A JSON-lines file of listings as Parquet, typed as the reference modctl.yaml declares
    (what the local engine makes of each line), in small row groups."""
    config = reference_workspace().config
    reader = Reader(source, config.fields, set(config.regions))
    batches = [b for batch in reader.batches() for b in batch.table.to_batches()]
    pq.write_table(pa.Table.from_batches(batches), dest, row_group_size=row_group_size)
    return dest


@pytest.fixture(scope="session")
def sample_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return parquet(SAMPLE, tmp_path_factory.mktemp("sample") / "listings.parquet")


@pytest.fixture(scope="session")
def generated_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200,000 listings of the sample generator, in row groups of 20,000."""
    from modctl.backtest import sample

    config = reference_workspace().config
    rows = sample.listings(200_000, seed=16)
    table = pa.Table.from_pylist(list(rows), schema=arrow_schema(config.fields))
    path = tmp_path_factory.mktemp("generated") / "listings.parquet"
    pq.write_table(table, path, row_group_size=20_000)
    return path


@pytest.fixture
def changed_repo(tmp_path: Path) -> Path:
    """The reference repository committed, then two thresholds changed in the working tree."""
    root = tmp_path / "repo"
    root.mkdir()
    copy_reference(root)
    run_git(root, "init", "-q")
    run_git(root, "add", ".")
    run_git(root, "commit", "-qm", "reference")
    rules = root / "strategies" / BUNDLE / "rules"
    price = rules / "price.yaml"
    price.write_text(price.read_text().replace("max_price_ratio: 0.3", "max_price_ratio: 0.15"))
    images = next(p for p in rules.glob("*.yaml") if "max_hamming: 6" in p.read_text())
    images.write_text(images.read_text().replace("max_hamming: 6", "max_hamming: 9", 1))
    return root


def report(runner: CliRunner, root: Path, *args: str | Path) -> dict[str, Any]:
    code, out = run(runner, root, "backtest", BUNDLE, *map(str, args), "--output", "json")
    assert code == 0, out
    found: dict[str, Any] = json.loads(out)
    return found


def same_run(local: dict[str, Any], spark: dict[str, Any]) -> None:
    assert spark["engine"] == "spark"
    assert {k: v for k, v in local.items() if k not in RUN_KEYS} == {
        k: v for k, v in spark.items() if k not in RUN_KEYS
    }


# ---------------------------------------------------------------------------- the same report


def test_the_sample_gives_the_local_report_listing_for_listing(
    spark: Any, tmp_path: Path, sample_parquet: Path, runner: CliRunner
) -> None:
    root = copy_reference(tmp_path)
    local = report(runner, root, "--data", sample_parquet)
    on_spark = report(runner, root, "--data", sample_parquet, "--engine", "spark")
    same_run(local, on_spark)
    assert on_spark["jobs"] > 1  # decided as several partitions
    assert local["rows"] == 3000
    assert local["labels"]["true_positives"] > 0
    code, text = run(
        runner, root, "backtest", BUNDLE, "--data", str(sample_parquet), "--engine", "spark"
    )
    assert code == 0, text
    head, *rest = text.splitlines()
    assert re.search(r"listings in [\d.]+ s \([\d,]+/s, Spark local\[2\], \d+ partitions\)$", head)
    code, local_text = run(runner, root, "backtest", BUNDLE, "--data", str(sample_parquet))
    assert rest == local_text.splitlines()[1:]


def test_baseline_and_changes_are_the_local_ones(
    spark: Any, changed_repo: Path, sample_parquet: Path, runner: CliRunner, tmp_path: Path
) -> None:
    """The changed listings come back sorted by their place in the file, examples are the first
    of each kind in the file, and the kinds are in the order the file first shows them."""
    here, there = tmp_path / "here.csv", tmp_path / "there.csv"
    common = ["--data", sample_parquet, "--baseline", "HEAD"]
    local = report(runner, changed_repo, *common, "--changes", here)
    on_spark = report(runner, changed_repo, *common, "--changes", there, "--engine", "spark")
    same_run(local, on_spark)
    assert list(local["baseline"]["by_kind"]) == list(on_spark["baseline"]["by_kind"])
    assert list(local["baseline"]["examples"]) == list(on_spark["baseline"]["examples"])
    assert local["baseline"]["changed"] > 20
    assert len(local["baseline"]["by_kind"]) > 1
    assert there.read_bytes() == here.read_bytes()
    with there.open(newline="") as handle:
        assert len(list(csv.DictReader(handle))) == local["baseline"]["changed"]


def test_a_sweep_is_the_local_one(
    spark: Any, tmp_path: Path, sample_parquet: Path, runner: CliRunner
) -> None:
    root = copy_reference(tmp_path)
    sweeps = [
        "--sweep",
        "lux-unauthorized-cheap.max_price_ratio=0.1:0.5:0.1",
        "--sweep",
        "counterfeit-image-match.max_hamming=4,6,9",
    ]
    local = report(runner, root, "--data", sample_parquet, *sweeps)
    on_spark = report(runner, root, "--data", sample_parquet, *sweeps, "--engine", "spark")
    assert (local["engine"], local["master"]) == ("local", None)
    assert (on_spark["engine"], on_spark["master"]) == ("spark", "local[2]")
    same_run(local, on_spark)
    assert len(local["points"]) == 15
    code, text = run(
        runner,
        root,
        "backtest",
        BUNDLE,
        "--data",
        str(sample_parquet),
        *sweeps,
        "--engine",
        "spark",
    )
    assert code == 0, text
    assert "best F1" in text
    # The head says where it ran, as a backtest's does.
    assert re.search(r"\(\d[\d,]* listings/s, Spark local\[2\], \d+ partitions\)", text), text


@pytest.mark.slow
def test_two_hundred_thousand_generated_listings_give_the_local_report(
    spark: Any, changed_repo: Path, generated_parquet: Path, runner: CliRunner, tmp_path: Path
) -> None:
    here, there = tmp_path / "here.csv", tmp_path / "there.csv"
    common = ["--data", generated_parquet, "--baseline", "HEAD"]
    local = report(runner, changed_repo, *common, "--changes", here)
    larger = {
        "spark.sql.execution.arrow.maxRecordsPerBatch": "20000",
        "spark.sql.files.maxPartitionBytes": "2m",
    }
    with settings(spark, larger):
        on_spark = report(runner, changed_repo, *common, "--changes", there, "--engine", "spark")
    same_run(local, on_spark)
    assert local["rows"] + local["rows_outside_bundle_regions"] == 200_000
    assert local["baseline"]["changed"] > 1000
    assert there.read_bytes() == here.read_bytes()


def test_a_folder_of_parquet_files_reads_as_the_file_they_were_cut_from(
    spark: Any, changed_repo: Path, sample_parquet: Path, runner: CliRunner, tmp_path: Path
) -> None:
    """Files are read in the order of their names, each from its first row."""
    folder = tmp_path / "listings"
    folder.mkdir()
    table = pq.read_table(sample_parquet)
    for index, start in enumerate(range(0, table.num_rows, 1000)):
        pq.write_table(table.slice(start, 1000), folder / f"part-{index}.parquet")
    (folder / "_SUCCESS").write_text("")
    local = report(runner, changed_repo, "--data", sample_parquet, "--baseline", "HEAD")
    on_spark = report(
        runner, changed_repo, "--data", folder, "--baseline", "HEAD", "--engine", "spark"
    )
    assert on_spark["data"] == str(folder)
    same_run({**local, "data": ""}, {**on_spark, "data": ""})


def test_a_folder_of_one_folder_per_region_gives_the_region_column(
    spark: Any, tmp_path: Path, sample_parquet: Path, runner: CliRunner
) -> None:
    """Spark reads `region=SG/` as a column: the listings of each folder are that region's."""
    root = copy_reference(tmp_path)
    folder = tmp_path / "by-region"
    table = pq.read_table(sample_parquet)
    for region in sorted(set(table.column("region").to_pylist())):
        (folder / f"region={region}").mkdir(parents=True)
        mine = table.filter(pc.equal(table.column("region"), region))
        pq.write_table(
            mine.drop_columns(["region"]), folder / f"region={region}" / "part-0.parquet"
        )
    local = report(runner, root, "--data", sample_parquet)
    on_spark = report(runner, root, "--data", folder, "--engine", "spark")
    for key in ("rows", "decisions", "rules", "labels", "rows_outside_bundle_regions"):
        assert on_spark[key] == local[key], key


def test_a_table_of_the_catalog(
    spark: Any, tmp_path: Path, sample_parquet: Path, runner: CliRunner
) -> None:
    root = copy_reference(tmp_path)
    spark.read.parquet(str(sample_parquet)).createOrReplaceTempView("sample_listings")
    local = report(runner, root, "--data", sample_parquet)
    on_spark = report(runner, root, "--table", "sample_listings", "--engine", "spark")
    assert on_spark["data"] == "table sample_listings"
    same_run({**local, "data": ""}, {**on_spark, "data": ""})


def test_text_written_as_a_dictionary_reads_as_locally(
    spark: Any, tmp_path: Path, sample_parquet: Path, runner: CliRunner
) -> None:
    """Text columns dictionary-encoded, as pandas writes a categorical column: Spark reads them
    as text, and the local engine does."""
    root = copy_reference(tmp_path)
    table = pq.read_table(sample_parquet)
    for name in ("category", "brand", "region"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pc.dictionary_encode(table.column(name)))
    data = tmp_path / "categorical.parquet"
    pq.write_table(table, data)
    local = report(runner, root, "--data", data)
    same_run(local, report(runner, root, "--data", data, "--engine", "spark"))
    assert local["rows"] == 3000


def test_columns_of_no_values_read_as_locally(
    spark: Any, tmp_path: Path, sample_parquet: Path, runner: CliRunner
) -> None:
    """A column pyarrow wrote as `null` because it held no value (a field, or a struct of
    fields, that no listing has): every listing lacks those fields, as locally; a file of no
    rows whose columns are all `null` has no listings."""
    root = copy_reference(tmp_path)
    table = pq.read_table(sample_parquet)
    for name in ("brand", "seller", "label"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pa.nulls(table.num_rows))
    data = tmp_path / "nulls.parquet"
    pq.write_table(table, data)
    local = report(runner, root, "--data", data)
    same_run(local, report(runner, root, "--data", data, "--engine", "spark"))
    assert local["rows"] == 3000
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"id": [], "region": [], "title": []}), empty)
    for engine in ([], ["--engine", "spark"]):
        code, out = run(runner, root, "backtest", BUNDLE, "--data", str(empty), *engine)
        assert (code, out) == (2, f"modctl: error: {empty}: no listings in the file\n")


# ---------------------------------------------------------------------------- bad rows

BAD_ROWS: list[dict[str, Any]] = [
    {"id": "ok-1", "region": "SG", "title": "Gucci bag", "price": 5.0, "label": "infringing"},
    {"id": "", "region": "SG", "title": "Gucci bag", "price": 5.0},
    {"id": "r-3", "region": "XX", "title": "Gucci bag", "price": 5.0},
    {"id": "r-4", "region": "SG", "title": "Gucci bag", "price": math.nan},
    {"id": "r-5", "region": "MY", "title": "plain", "price": 1.0, "label": "maybe"},
    {"id": "r-6", "region": "SG", "title": "plain", "tags": ["a", None]},
    {"id": "r-7", "region": None, "title": "plain"},
    {"id": "ok-8", "region": "GB", "title": "Gucci bag", "price": 1.0, "label": "yes"},
    {"id": "ok-9", "region": "MY", "title": "Prada", "price": 1.0, "label": "0"},
]


def bad_rows_file(path: Path, first: int) -> Path:
    """The bad rows after `first` good ones, and a title that is not UTF-8 among them."""
    good = {"id": "g", "region": "SG", "title": "Gucci bag", "price": 50.0, "label": "clean"}
    rows = [{**good, "id": f"g-{i}"} for i in range(first)] + BAD_ROWS
    titles = pa.array(
        [r.get("title", "").encode() for r in rows[:-1]] + [b"Pr\xffada"], pa.binary()
    ).view(pa.string())
    table = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("id", pa.string()),
                ("region", pa.string()),
                ("title", pa.string()),
                ("price", pa.float64()),
                ("tags", pa.list_(pa.string())),
                ("label", pa.string()),
            ]
        ),
    )
    table = table.set_column(2, "title", titles)
    pq.write_table(table, path, row_group_size=50)
    return path


@pytest.mark.parametrize("first", [0, 230], ids=["at the start", "after a few partitions"])
def test_bad_rows_stop_or_are_skipped_as_locally(
    spark: Any, minimal_repo: Path, tmp_path: Path, runner: CliRunner, first: int
) -> None:
    data = bad_rows_file(tmp_path / "rows.parquet", first)
    line = first + 2
    for engine in (["--engine", "spark"], []):
        code, out = run(runner, minimal_repo, "backtest", "demo", "--data", str(data), *engine)
        assert code == 2, out
        assert (
            out
            == f"modctl: error: {data}:{line}: missing 'id' (pass --skip-bad to skip bad rows)\n"
        )
    local = run(
        runner, minimal_repo, "backtest", "demo", "--data", str(data), "--skip-bad", "-o", "json"
    )
    on_spark = run(
        runner,
        minimal_repo,
        "backtest",
        "demo",
        "--data",
        str(data),
        "--skip-bad",
        "-o",
        "json",
        "--engine",
        "spark",
    )
    assert local[0] == on_spark[0] == 0, local[1] + on_spark[1]
    here, there = json.loads(local[1]), json.loads(on_spark[1])
    same_run(here, there)
    assert here["skipped_rows"] == 7


def test_a_bad_row_of_a_table_is_named_by_its_partition_and_row(
    spark: Any, minimal_repo: Path, tmp_path: Path, runner: CliRunner
) -> None:
    """A table has no file and line: its bad row is named by the partition Spark read it in and
    its row there, counted from 1."""
    data = bad_rows_file(tmp_path / "rows.parquet", 0)
    spark.read.parquet(str(data)).createOrReplaceTempView("bad_rows")
    code, out = run(
        runner, minimal_repo, "backtest", "demo", "--table", "bad_rows", "--engine", "spark"
    )
    assert (code, out) == (
        2,
        "modctl: error: table bad_rows, partition 0, row 2: missing 'id' "
        "(pass --skip-bad to skip bad rows)\n",
    )


def test_each_kind_of_bad_row_is_named_as_locally(
    spark: Any, minimal_repo: Path, tmp_path: Path, runner: CliRunner
) -> None:
    """One bad row at a time, after a good one: the line and the words of the local reader."""
    good = {"id": "g", "region": "SG", "title": "Gucci bag", "price": 50.0}
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("region", pa.string()),
            ("title", pa.string()),
            ("price", pa.float64()),
            ("tags", pa.list_(pa.string())),
            ("label", pa.string()),
        ]
    )
    said = set()
    for index, bad in enumerate(BAD_ROWS[1:7]):
        data = tmp_path / f"bad-{index}.parquet"
        pq.write_table(pa.Table.from_pylist([good, bad], schema=schema), data)
        outputs = []
        for engine in ([], ["--engine", "spark"]):
            code, out = run(runner, minimal_repo, "backtest", "demo", "--data", str(data), *engine)
            assert code == 2, out
            outputs.append(out)
        assert outputs[0] == outputs[1]
        assert outputs[0].startswith(f"modctl: error: {data}:2: ")
        said.add(outputs[0].split(":2: ")[1])
    assert len(said) == 6


# ---------------------------------------------------------------------------- bad input


def test_bad_sources_are_one_line(
    spark: Any, minimal_repo: Path, tmp_path: Path, runner: CliRunner
) -> None:
    base = {"id": ["1"], "region": ["SG"], "title": ["Gucci bag"], "price": [5.0]}
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    lines = tmp_path / "rows.jsonl"
    lines.write_text('{"id": "1", "region": "SG"}\n')
    empty = tmp_path / "empty"
    empty.mkdir()
    spoilt = tmp_path / "spoilt"
    spoilt.mkdir()
    pq.write_table(pa.table(base), spoilt / "part-0.parquet")
    (spoilt / "part-1.parquet").write_bytes(b"PAR1 and then nothing of Parquet")
    no_rows = tmp_path / "no-rows.parquet"
    pq.write_table(pa.table(base).slice(0, 0), no_rows)
    disagreeing = tmp_path / "disagreeing"
    disagreeing.mkdir()
    pq.write_table(pa.table(base), disagreeing / "part-0.parquet")
    pq.write_table(pa.table({**base, "price": ["5"]}), disagreeing / "part-1.parquet")
    nested = tmp_path / "by-month"
    (nested / "2024-06").mkdir(parents=True)
    pq.write_table(pa.table(base), nested / "2024-06" / "part-0.parquet")
    cases: dict[str, tuple[Path, str]] = {
        "no such file": (tmp_path / "nothing.parquet", "no such data file or folder"),
        "not Parquet": (garbage, "not a readable Parquet file ("),
        "JSON lines": (lines, "--engine spark reads Parquet (a file or a folder of them)"),
        "empty folder": (empty, "no Parquet files in the folder"),
        "a spoilt file in the folder": (spoilt, "not a readable Parquet file or folder (file:"),
        "no rows": (no_rows, "no listings in the file"),
        "files in a subfolder": (
            nested,
            "no Parquet files that Spark reads in the folder: it reads the folder's own files "
            "and those of key=value subfolders (region=SG/), not those of other subfolders\n",
        ),
        "files that disagree on a column's type": (
            disagreeing,
            "not a readable Parquet file or folder (Encountered error while reading file "
            f"{(disagreeing / 'part-1.parquet').as_uri()}. Data type mismatches when reading "
            "Parquet column [price]. Expected Spark type double, actual Parquet type BINARY.)",
        ),
    }
    broken = {
        "no region": (
            {k: v for k, v in base.items() if k != "region"},
            "missing required column 'region'",
        ),
        "price as text": (
            {**base, "price": ["5"]},
            "column 'price' is string, but modctl.yaml declares price a number",
        ),
        "seller as text": (
            {**base, "seller": ["S-1"]},
            "column 'seller' is string, but modctl.yaml declares seller.id, a field inside it: it must be a struct",
        ),
        "tags of numbers": (
            {**base, "tags": [[1, 2]]},
            "column 'tags' is list<int64>, but modctl.yaml declares tags a string_list",
        ),
        "labels of doubles": (
            {**base, "label": [1.0]},
            "column 'label' is double; labels are text",
        ),
        "price as a decimal": (
            {**base, "price": pa.array([5], pa.decimal128(10, 2))},
            "column 'price' is decimal128(10, 2), but modctl.yaml declares price a number: "
            "cast the column to double",
        ),
        "price as uint64": (
            {**base, "price": pa.array([5], pa.uint64())},
            "column 'price' is uint64, but modctl.yaml declares price a number: "
            "cast the column to double",
        ),
    }
    for name, (columns, message) in broken.items():
        path = tmp_path / f"{name.replace(' ', '-')}.parquet"
        pq.write_table(pa.table(columns), path)
        cases[name] = (path, message)
    for name, (path, message) in cases.items():
        code, out = run(
            runner, minimal_repo, "backtest", "demo", "--data", str(path), "--engine", "spark"
        )
        assert code == 2, (name, out)
        assert out.startswith(f"modctl: error: {path}: {message}"), (name, out)
        assert out.count("\n") == 1, (name, out)


def test_a_folder_without_engine_spark_says_that_spark_reads_folders(
    minimal_repo: Path, tmp_path: Path, runner: CliRunner
) -> None:
    """The local engine on a folder of Parquet files (`--engine spark` left out): it said
    there was no such data file."""
    folder = tmp_path / "listings"
    folder.mkdir()
    pq.write_table(pa.table({"id": ["1"], "region": ["SG"]}), folder / "part-0.parquet")
    code, out = run(runner, minimal_repo, "backtest", "demo", "--data", str(folder))
    assert (code, out) == (
        2,
        f"modctl: error: {folder}: a folder; the local engine reads one .jsonl, .csv or "
        ".parquet file, and --engine spark a folder of Parquet files\n",
    )


def test_a_uri_of_a_host_that_does_not_exist_is_one_line(
    spark: Any, minimal_repo: Path, runner: CliRunner
) -> None:
    uri = "hdfs://no-such-host.invalid:9000/listings/"
    code, out = run(runner, minimal_repo, "backtest", "demo", "--data", uri, "--engine", "spark")
    assert (code, out) == (
        2,
        f"modctl: error: {uri}: not a readable Parquet file or folder "
        "(java.net.UnknownHostException: no-such-host.invalid)\n",
    )


def test_a_table_of_the_wrong_shape_is_one_line_naming_the_column(
    spark: Any, minimal_repo: Path, runner: CliRunner
) -> None:
    spark.createDataFrame(
        [("1", "SG", "Gucci", "cheap")], "id string, region string, title string, price string"
    ).createOrReplaceTempView("priced_in_words")
    spark.sql(
        "SELECT '1' AS id, 'SG' AS region, 'Gucci' AS title, CAST(5 AS DECIMAL(10, 2)) AS price"
    ).createOrReplaceTempView("priced_in_decimals")
    cases = {
        "priced_in_decimals": "modctl: error: table priced_in_decimals: column 'price' is "
        "decimal(10,2), but modctl.yaml declares price a number: cast the column to double\n",
        "priced_in_words": "modctl: error: table priced_in_words: column 'price' is string, but "
        "modctl.yaml declares price a number\n",
        "no_such_table": "modctl: error: no table no_such_table in the Spark catalog: check its "
        "name and database\n",
    }
    for table, message in cases.items():
        code, out = run(
            runner, minimal_repo, "backtest", "demo", "--table", table, "--engine", "spark"
        )
        assert (code, out) == (2, message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--table", "t"], "--table goes with --engine spark"),
        (["--data", "x.jsonl", "--master", "local[2]"], "--master goes with --engine spark"),
        (["--engine", "spark"], "--engine spark reads --data PATH (Parquet) or --table NAME"),
        (["--engine", "spark", "--data", "x", "--table", "t"], "--data and --table both name"),
        (["--engine", "spark", "--data", "x", "--jobs", "2"], "--jobs sets local worker processes"),
        (
            ["--engine", "spark", "--data", "x", "--conf", "nokey"],
            "--conf 'nokey': write KEY=VALUE",
        ),
        ([], "--data is required"),
        (
            ["--engine", "spark", "--data", "x", "--master", "bogus://x"],
            "--master 'bogus://x': Spark takes local, local[N], local[*], yarn",
        ),
    ],
    ids=["table", "master", "no data", "both", "jobs", "conf", "local without data", "bad master"],
)
def test_options_that_do_not_go_together_are_one_line(
    minimal_repo: Path, runner: CliRunner, args: list[str], message: str
) -> None:
    code, out = run(runner, minimal_repo, "backtest", "demo", *args)
    assert code == 2, out
    assert out.startswith(f"modctl: error: {message}"), out
    assert out.count("\n") == 1, out


def test_help_shows_a_backtest_on_spark_that_parses(runner: CliRunner) -> None:
    result = runner.invoke(app, ["backtest", "--help"])
    assert result.exit_code == 0, result.output
    found = re.search(r"On Spark:\s+(modctl backtest .+?)\n\s*\n", result.output, re.DOTALL)
    assert found, result.output
    words = " ".join(found.group(1).split()).split()
    assert words[words.index("--engine") + 1] == "spark"
    try:
        COMMANDS["backtest"].make_context("backtest", words[2:], resilient_parsing=False)
    except click.UsageError as exc:
        pytest.fail(f"the Spark example of `modctl backtest` does not parse: {exc}")


def test_a_worker_python_spark_cannot_run_is_one_line(
    spark: Any,
    minimal_repo: Path,
    tmp_path: Path,
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--conf spark.pyspark.python=PATH` (or PYSPARK_PYTHON) naming no program: the session
    of this process is told so as --conf would tell a new one."""
    data = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["1"], "region": ["SG"]}), data)
    missing = tmp_path / "no-such-python"
    monkeypatch.setattr(spark.sparkContext, "pythonExec", str(missing))
    code, out = run(
        runner, minimal_repo, "backtest", "demo", "--data", str(data), "--engine", "spark"
    )
    assert (code, out) == (
        2,
        f"modctl: error: Spark's workers cannot run {missing} (No such file or directory): "
        "name a Python with modctl installed in --conf spark.pyspark.python=PATH\n",
    )


def test_without_pyspark_it_says_how_to_install_it(
    minimal_repo: Path, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["1"], "region": ["SG"]}), data)
    for module in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, "pyspark", None)
    code, out = run(
        runner, minimal_repo, "backtest", "demo", "--data", str(data), "--engine", "spark"
    )
    assert (code, out) == (
        2,
        "modctl: error: --engine spark needs PySpark, which is not installed: "
        "pip install 'modctl[spark]'\n",
    )


def test_without_java_it_says_so(minimal_repo: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="PySpark is not installed: pip install 'modctl[spark]'")
    data = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["1"], "region": ["SG"]}), data)
    bare = tmp_path / "bin"
    bare.mkdir()
    git = shutil.which("git")
    assert git is not None
    (bare / "git").symlink_to(git)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(bare)
    args = ["--repo", minimal_repo, "backtest", "demo", "--data", data, "--engine", "spark"]
    done = subprocess.run(
        [str(MODCTL), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "modctl: error: --engine spark runs Spark, which needs Java 17 or later, and none was "
        "found: install one (Debian: apt-get install default-jre-headless) or set JAVA_HOME\n"
    )


# ---------------------------------------------------------------------------- a Spark of its own


def needs_java() -> None:
    pytest.importorskip("pyspark", reason="PySpark is not installed: pip install 'modctl[spark]'")
    if java() is None:
        pytest.skip("no Java to run Spark on: install a JRE (apt-get install default-jre-headless)")


def test_a_command_starts_spark_on_the_python_that_runs_it(
    tmp_path: Path, sample_parquet: Path
) -> None:
    """Installed in a virtual environment that is not on PATH (or by pipx), modctl's Spark
    workers run the interpreter that runs modctl, not whichever `python3` PATH finds first; the
    terminal shows the report alone, with a JVM option of the user's given too."""
    needs_java()
    root = copy_reference(tmp_path)
    shims = tmp_path / "shims"
    shims.mkdir()
    for name in ("python3", "python"):
        (shims / name).write_text("#!/bin/sh\necho 'not the Python that runs modctl' >&2\nexit 1\n")
        (shims / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYSPARK_PYTHON", None)
    args = ["--repo", root, "backtest", BUNDLE, "--data", sample_parquet]
    local = subprocess.run(
        [str(MODCTL), *map(str, args)], capture_output=True, text=True, check=False, env=env
    )
    on_spark = ["--engine", "spark", "--master", "local[2]"]
    # A JVM option of the user's, which modctl's logging settings come before.
    on_spark += ["--conf", "spark.driver.extraJavaOptions=-Dmodctl.test=1"]
    done = subprocess.run(
        [str(MODCTL), *map(str, args), *on_spark],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("Spark local[2], 1 partition)")
    assert done.stdout.splitlines()[1:] == local.stdout.splitlines()[1:]
    assert done.stderr == ""  # Spark's log and the JVM's start-up line held back


def test_a_standalone_master_that_does_not_answer_is_one_line_at_once(
    minimal_repo: Path, tmp_path: Path
) -> None:
    """Spark retried an unreachable `spark://` master for over a minute, then said only
    "Cannot call methods on a stopped SparkContext"."""
    import socket

    needs_java()
    data = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["1"], "region": ["SG"]}), data)
    with socket.socket() as taken:  # a port of this machine that nothing listens on
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
    command = ["--repo", minimal_repo, "backtest", "demo", "--data", data, "--engine", "spark"]
    # Nothing listens on the first; the second is no port at all.
    for master in (f"spark://127.0.0.1:{port}", f"spark://127.0.0.1:{10**30}"):
        done = subprocess.run(
            [str(MODCTL), *map(str, command), "--master", master],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(
            f"modctl: error: --master {master}: no Spark master answers "
        ), done.stderr
        assert done.stderr.endswith("check the host and port, and that the master runs\n")
        assert done.stderr.count("\n") == 1


def test_a_terminal_is_told_that_spark_starts_and_left_clean(
    tmp_path: Path, sample_parquet: Path
) -> None:
    """The seconds the JVM takes to start are not silent on a terminal: a line says what
    starts, Spark's progress bar draws over it, and the line is cleared before the report."""
    import pty

    needs_java()
    root = copy_reference(tmp_path)
    args = ["--repo", root, "backtest", BUNDLE, "--data", sample_parquet, "--engine", "spark"]
    main, side = pty.openpty()
    try:
        process = subprocess.Popen(
            [str(MODCTL), *map(str, args), "--master", "local[1]"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=side,
        )
    finally:
        os.close(side)
    shown = read_terminal(main)
    assert process.stdout is not None
    report = process.stdout.read().decode()
    assert process.wait() == 0, shown
    assert shown.startswith(b"\r  starting Spark on local[1] ..."), shown
    assert shown.endswith(b"\r\x1b[K"), shown
    assert report.startswith(f"Backtest of {BUNDLE} on {sample_parquet}: 3,000 listings")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--conf", "spark.executor.memory=lots"], "Executor memory must be a positive number"),
        (["--conf", "spark.driver.memory=1q"], "Invalid maximum heap size: -Xmx1q"),
        (
            ["--master", "yarn"],
            "When running with master 'yarn' either HADOOP_CONF_DIR or YARN_CONF_DIR must be set "
            "in the environment.",
        ),
        (
            ["--conf", "spark.sql.shuffle.partitions=abc"],
            "[INVALID_CONF_VALUE.TYPE_MISMATCH] The value 'abc' in the config "
            "\"spark.sql.shuffle.partitions\" is invalid. It should be a/an 'int' value.",
        ),
    ],
    ids=["executor memory", "driver memory", "yarn without its configuration", "a SQL setting"],
)
def test_what_stops_spark_as_it_starts_is_one_line_not_a_java_stack_trace(
    minimal_repo: Path, tmp_path: Path, args: list[str], said: str
) -> None:
    needs_java()
    data = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["1"], "region": ["SG"]}), data)
    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_CONF_DIR", "YARN_CONF_DIR")}
    command = ["--repo", minimal_repo, "backtest", "demo", "--data", data, "--engine", "spark"]
    done = subprocess.run(
        [str(MODCTL), *map(str, command), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )
    master = args[1] if args[0] == "--master" else "local[*]"
    assert (done.returncode, done.stderr) == (
        2,
        f"modctl: error: could not start Spark on --master {master}: {said}\n",
    )


PROGRESS = re.compile(r"\[Stage [^\r\n]*?\]|[\r ]+")  # Spark's progress bar, and its erasing


def interrupted(command: list[str], first: int) -> tuple[int, bytes, bytes]:
    """`modctl COMMAND` stopped as Ctrl-C stops it (SIGINT to its whole process group: the JVM
    too) once it has written something to `first` (1 or 2): its exit status and what it wrote
    in all. `communicate` returns only when every process holding its output is gone, the JVM
    and Spark's workers too: one left running makes the test time out."""
    proc = subprocess.Popen(
        [str(MODCTL), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    seen = {1: b"", 2: b""}
    try:
        watched = proc.stdout if first == 1 else proc.stderr
        assert watched is not None
        while not seen[first]:
            chunk = os.read(watched.fileno(), 65536)
            assert chunk, (proc.wait(), proc.communicate())
            seen[first] += chunk
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, seen[1] + out, seen[2] + err


@pytest.mark.slow
def test_ctrl_c_while_spark_starts_exits_130_and_leaves_no_jvm(
    minimal_repo: Path, tmp_path: Path
) -> None:
    """Ctrl-C while PySpark waits for its JVM to start: PySpark gave up on it, the JVM kept
    running for good, and a Java stack trace came out."""
    needs_java()
    data = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["1"], "region": ["SG"]}), data)
    # The JVM writes its flags to standard output as it starts: the moment to press Ctrl-C.
    command = ["--repo", minimal_repo, "backtest", "demo", "--data", data, "--engine", "spark"]
    code, _, err = interrupted(
        [*map(str, command), "--conf", "spark.driver.extraJavaOptions=-XX:+PrintFlagsFinal"], 1
    )
    assert (code, err) == (130, b"")


@pytest.mark.slow
def test_ctrl_c_during_a_run_on_spark_exits_130_quietly(
    tmp_path: Path, generated_parquet: Path
) -> None:
    """Ctrl-C while Spark decides the listings (its progress bar is up): exit 130, as locally,
    without py4j's tracebacks or Spark's stack traces, and no Spark process left running."""
    needs_java()
    root = copy_reference(tmp_path)
    command = ["--repo", root, "backtest", BUNDLE, "--data", generated_parquet]
    command += ["--engine", "spark", "--master", "local[1]"]
    command += ["--conf", "spark.ui.showConsoleProgress=true"]
    command += ["--sweep", "lux-unauthorized-cheap.max_price_ratio=0.1:0.5:0.1"]
    code, out, err = interrupted([*map(str, command)], 2)
    assert (code, out) == (130, b"")
    assert PROGRESS.sub("", err.decode()) == ""
