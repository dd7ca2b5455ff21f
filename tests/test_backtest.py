from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import git
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from modctl.backtest import run as backtest
from modctl.backtest.data import DataError
from modctl.cli import app
from tests.conftest import MODCTL, memory_limit, modctl, write_files

ROWS: list[dict[str, Any]] = [
    {"id": "1", "region": "SG", "title": "Gucci bag", "price": 5, "label": "infringing"},
    {"id": "2", "region": "SG", "title": "Gucci bag", "price": 50, "label": "infringing"},
    {"id": "3", "region": "MY", "title": "Prada shoes", "price": 1, "label": "clean"},
    {"id": "4", "region": "MY", "title": "plain shoes", "price": 1, "label": "clean"},
    {"id": "5", "region": "GB", "title": "Gucci bag", "price": 1, "label": "infringing"},
]


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(runner: CliRunner, repo: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--repo", str(repo), "backtest", "demo", *args])
    return result.exit_code, result.output


def test_counts_and_labels(minimal_repo: Path, runner: CliRunner, tmp_path: Path) -> None:
    data = jsonl(tmp_path / "rows.jsonl", ROWS)
    code, out = run(runner, minimal_repo, "--data", str(data), "--output", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["rows"] == 4
    assert report["rows_outside_bundle_regions"] == 1  # GB: the bundle serves SG and MY
    assert report["decisions"] == {
        "MY": {"none": 1, "takedown": 1},
        "SG": {"none": 1, "takedown": 1},
    }
    assert report["rules"] == {"fake-brand": {"matches": 2, "decided": 2}}
    labels = report["labels"]
    assert (labels["true_positives"], labels["false_positives"], labels["false_negatives"]) == (
        1,
        1,
        1,
    )
    assert (labels["precision"], labels["recall"]) == (0.5, 0.5)


def test_text_report(minimal_repo: Path, runner: CliRunner, tmp_path: Path) -> None:
    code, out = run(runner, minimal_repo, "--data", str(jsonl(tmp_path / "rows.jsonl", ROWS)))
    assert code == 0, out
    assert out.startswith(f"Backtest of demo on {tmp_path / 'rows.jsonl'}: 4 listings in ")
    assert "Ignored 1 listings in regions the bundle does not serve" in out
    assert "precision 0.500, recall 0.500, F1 0.500 (TP 1, FP 1, FN 1, TN 1)" in out


def test_csv_with_dotted_columns_and_types(
    minimal_repo: Path, runner: CliRunner, tmp_path: Path
) -> None:
    data = tmp_path / "rows.csv"
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "region", "title", "price", "seller.id", "tags", "label"])
        writer.writerow(["1", "SG", "Gucci bag", "5.5", "S-1", "a|b", "1"])
        writer.writerow(["2", "SG", "Gucci bag", "500", "", "", "0"])
    code, out = run(runner, minimal_repo, "--data", str(data), "--output", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["decisions"] == {"SG": {"none": 1, "takedown": 1}}
    assert report["labels"]["precision"] == 1.0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bad.jsonl",
            '{"id": "1", "region": "SG"}\n{"id": "2", "region": \n',
            "bad.jsonl:2: not JSON",
        ),
        ("region.jsonl", '{"id": "1", "region": "XX"}\n', "region.jsonl:1: unknown region 'XX'"),
        ("noid.jsonl", '{"region": "SG"}\n', "noid.jsonl:1: missing 'id'"),
        (
            "label.jsonl",
            '{"id": "1", "region": "SG", "label": "maybe"}\n',
            "label.jsonl:1: label 'maybe'",
        ),
        ("list.jsonl", "[1, 2]\n", "list.jsonl:1: a listing must be an object"),
        ("empty.jsonl", "", "empty.jsonl: no listings in the file"),
        ("nocol.csv", "id,title\n1,x\n", "nocol.csv:1: missing required column 'region'"),
        (
            "type.csv",
            "id,region,price\n1,SG,12\n2,SG,cheap\n",
            "type.csv:3: column 'price': 'cheap' is not a number",
        ),
        ("rows.xlsx", "x", "unknown data format .xlsx"),
        (
            "type.jsonl",
            '{"id": "1", "region": "SG", "price": 12}\n{"id": "2", "region": "SG", "price": "12"}\n',
            "type.jsonl:2: field 'price': '12' is not a number",
        ),
        (
            "nested.jsonl",
            '{"id": "1", "region": "SG", "seller": "S-1"}\n',
            "nested.jsonl:1: field 'seller': 'S-1' is not an object",
        ),
        (
            "list.jsonl",
            '\n{"id": "1", "region": "SG", "tags": ["a", 2]}\n',
            "list.jsonl:2: field 'tags': ['a', 2] is not a list of strings",
        ),
        (
            "two.jsonl",
            '{"id": "1", "region": "SG"} {"id": "2", "region": "SG"}\n',
            "two.jsonl:1: not JSON: Extra data",
        ),
        (
            "surrogate.jsonl",
            '{"id": "1", "region": "SG", "title": "Gucci \\ud800"}\n',
            "surrogate.jsonl:1: field 'title': 'Gucci \\ud800' holds a lone surrogate",
        ),
    ],
)
def test_bad_data(
    minimal_repo: Path, runner: CliRunner, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    code, out = run(runner, minimal_repo, "--data", str(path))
    assert code == 2, out
    assert message in out
    assert "Traceback" not in out


def test_skip_bad_counts_and_continues(
    minimal_repo: Path, runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "1", "region": "SG", "title": "Gucci", "price": 1}\nnot json\n{"id": "3", "region": "XX"}\n'
    )
    code, out = run(runner, minimal_repo, "--data", str(path), "--skip-bad")
    assert code == 0, out
    assert f"Skipped 2 bad rows; the first: {path}:2: not JSON" in out
    assert "1 listings in" in out


def test_numbers_beyond_double_precision_read_alike_both_ways(
    minimal_repo: Path, tmp_path: Path
) -> None:
    """Arrow reads a JSON integer into a number field as a double; so does the line-by-line
    reading a numeric id forces."""
    big = {"region": "SG", "title": "Gucci", "price": 9007199254740993, "label": "clean"}
    reports = [
        backtest.run(minimal_repo, "demo", jsonl(tmp_path / f"{i}.jsonl", [{**big, "id": i}]))
        for i in ("1", 2)
    ]
    assert reports[0].tally.to_dict(rules=[], baseline=False) == reports[1].tally.to_dict(
        rules=[], baseline=False
    )


def test_json_lines_read_in_batches_or_line_by_line_decide_alike(
    minimal_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch with something Arrow does not take (a boolean label, a numeric id, a duplicate
    key) is read line by line; the counts must not depend on which way a batch was read."""
    rows = [{**ROWS[i % 4], "id": str(i), "price": i % 7} for i in range(400)]
    plain = jsonl(tmp_path / "plain.jsonl", rows)
    odd = [
        {**row, "id": int(row["id"]), "label": row["label"] == "infringing"}
        if i % 100 == 5
        else row
        for i, row in enumerate(rows)
    ]
    mixed = jsonl(tmp_path / "mixed.jsonl", odd)
    monkeypatch.setattr("modctl.backtest.data.BATCH_BYTES", 2000)
    reports = [backtest.run(minimal_repo, "demo", path).to_dict() for path in (plain, mixed)]
    for report in reports:
        del report["data"], report["seconds"]
    assert reports[0] == reports[1]
    assert reports[0]["rows"] == 400
    assert reports[0]["labels"]["true_positives"] > 0


def test_missing_data_file(minimal_repo: Path, runner: CliRunner, tmp_path: Path) -> None:
    code, out = run(runner, minimal_repo, "--data", str(tmp_path / "nope.jsonl"))
    assert code == 2
    assert "no such data file" in out


def test_bundle_with_lint_errors_is_refused(
    minimal_repo: Path, runner: CliRunner, tmp_path: Path
) -> None:
    write_files(
        minimal_repo, {"strategies/demo/lists/brands.yaml": "name: brands\nkind: ids\nitems: [x]\n"}
    )
    code, out = run(runner, minimal_repo, "--data", str(jsonl(tmp_path / "r.jsonl", ROWS)))
    assert code == 1
    assert "error R006" in out


@pytest.fixture
def history(committed_repo: git.Repo) -> git.Repo:
    return committed_repo


def test_baseline_comparison(
    minimal_repo: Path, history: git.Repo, runner: CliRunner, tmp_path: Path
) -> None:
    rules = minimal_repo / "strategies/demo/rules/main.yaml"
    rules.write_text(rules.read_text().replace("max_price: 20", "max_price: 100"))
    data = jsonl(tmp_path / "rows.jsonl", ROWS)
    changes = tmp_path / "changes.csv"
    code, out = run(
        runner, minimal_repo, "--data", str(data), "--baseline", "HEAD", "--changes", str(changes)
    )
    assert code == 0, out
    assert "Compared with HEAD: 1 decisions change" in out
    assert "new takedown: 2 (SG, infringing) none [-] -> takedown [fake-brand]" in out
    with changes.open() as handle:
        written = list(csv.DictReader(handle))
    assert written == [
        {
            "id": "2",
            "region": "SG",
            "kind": "new takedown",
            "before": "none",
            "before_rule": "",
            "after": "takedown",
            "after_rule": "fake-brand",
            "label": "infringing",
        }
    ]
    code, out = run(
        runner, minimal_repo, "--data", str(data), "--baseline", "HEAD", "--output", "json"
    )
    base = json.loads(out)["baseline"]
    assert base["changed"] == 1
    assert base["by_kind"] == {"new takedown": 1}
    assert base["by_region"] == {"SG": {"new takedown": 1}}
    assert base["by_rule"] == {"fake-brand": {"new takedown": 1}}
    assert base["labels"]["recall"] == 0.5
    assert json.loads(out)["labels"]["recall"] == 1.0


LABELS = {
    "text": (["Infringing", "yes", " TRUE ", "clean", "0", ""], None),
    "json-values": (
        ["infringing", True, 1, False, 0, None],
        ["infringing", "true", "1", "false", "0", ""],
    ),
}


@pytest.mark.parametrize("given", list(LABELS), ids=list(LABELS))
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_changes_csv_writes_labels_as_they_came_in(
    minimal_repo: Path, history: git.Repo, tmp_path: Path, given: str, suffix: str
) -> None:
    """Only strings (the first case) take Arrow's path for JSON lines; the others are read line
    by line. CSV cells and Parquet columns hold text in both cases."""
    labels, expected = LABELS[given]
    expected = expected or [str(label) for label in labels]
    if suffix != ".jsonl":
        labels = expected
    rules = minimal_repo / "strategies/demo/rules/main.yaml"
    rules.write_text(rules.read_text().replace("max_price: 20", "max_price: 100"))
    rows = [
        {"id": str(i), "region": "SG", "title": "Gucci bag", "price": 50, "label": label}
        for i, label in enumerate(labels)
    ]
    data = tmp_path / f"rows{suffix}"
    if suffix == ".jsonl":
        jsonl(data, rows)
    elif suffix == ".csv":
        with data.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, ["id", "region", "title", "price", "label"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        pq.write_table(pa.Table.from_pylist(rows), data)
    changes = tmp_path / "changes.csv"
    backtest.run(minimal_repo, "demo", data, baseline="HEAD", changes=changes)
    with changes.open(newline="") as handle:
        written = [row["label"] for row in csv.DictReader(handle)]
    assert written == expected


def test_baseline_with_other_keywords(
    minimal_repo: Path, history: git.Repo, runner: CliRunner, tmp_path: Path
) -> None:
    """Both versions decide the same batch; each must scan with its own keyword lists."""
    brands = minimal_repo / "strategies/demo/lists/brands.yaml"
    brands.write_text("name: brands\nkind: keywords\nitems: [plain, dior]\n")
    data = jsonl(tmp_path / "rows.jsonl", ROWS)
    code, out = run(
        runner, minimal_repo, "--data", str(data), "--baseline", "HEAD", "--output", "json"
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["baseline"]["by_kind"] == {"new takedown": 1, "lost takedown": 2}
    assert report["decisions"] == {"MY": {"none": 1, "takedown": 1}, "SG": {"none": 2}}


def test_unknown_revision(
    minimal_repo: Path, history: git.Repo, runner: CliRunner, tmp_path: Path
) -> None:
    code, out = run(
        runner, minimal_repo, "--data", str(jsonl(tmp_path / "r.jsonl", ROWS)), "--baseline", "nope"
    )
    assert code == 2
    assert "revision 'nope' does not exist" in out


def test_baseline_outside_git(minimal_repo: Path, runner: CliRunner, tmp_path: Path) -> None:
    code, out = run(
        runner, minimal_repo, "--data", str(jsonl(tmp_path / "r.jsonl", ROWS)), "--baseline", "HEAD"
    )
    assert code == 2
    assert "needs a git repository" in out


def listings_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    """JSON lines, or Parquet in row groups of 300 rows, as the suffix says."""
    if path.suffix == ".jsonl":
        return jsonl(path, rows)
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=300)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_parallel_matches_sequential(
    minimal_repo: Path,
    history: git.Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    rows = [{**ROWS[i % 4], "id": str(i)} for i in range(2001)]
    data = listings_file(tmp_path / f"many{suffix}", rows)
    rules = minimal_repo / "strategies/demo/rules/main.yaml"
    rules.write_text(rules.read_text().replace("max_price: 20", "max_price: 100"))
    one = backtest.run(minimal_repo, "demo", data, baseline="HEAD", changes=tmp_path / "a.csv")
    monkeypatch.setattr(backtest, "PARALLEL_MIN_BYTES", 1)
    two = backtest.run(
        minimal_repo, "demo", data, baseline="HEAD", changes=tmp_path / "b.csv", jobs=2
    )
    assert two.jobs == 2
    strip = lambda r: {k: v for k, v in r.to_dict().items() if k not in ("seconds", "jobs")}  # noqa: E731
    assert strip(one) == strip(two)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_jobs_on_a_file_that_is_not_split_says_it_ran_one(
    minimal_repo: Path, tmp_path: Path, suffix: str
) -> None:
    data = tmp_path / f"rows{suffix}"
    if suffix == ".csv":
        data.write_text("id,region,title,price\n1,SG,Gucci bag,5\n")
    else:
        listings_file(data, ROWS)
    done = modctl("--repo", minimal_repo, "backtest", "demo", "--data", data, "--jobs", "4")
    assert done.returncode == 0, done.stderr
    why = {
        ".jsonl": f"rows.jsonl holds {data.stat().st_size:,} bytes, too few to split (--jobs "
        "splits files of 8 MiB or more)",
        ".csv": "--jobs splits JSON lines and Parquet files, not CSV (rows.csv)",
        ".parquet": "rows.parquet holds one row group, which --jobs cannot split",
    }[suffix]
    assert done.stderr == f"modctl: ran one job, not 4: {why}\n"
    alone = modctl("--repo", minimal_repo, "backtest", "demo", "--data", data)
    assert alone.stderr == ""


def test_parallel_names_the_bad_line(
    minimal_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [json.dumps({**ROWS[i % 4], "id": str(i)}) for i in range(2000)]
    lines[1500] = '{"id": "x", "region": "SG", "price": "cheap"}'
    data = tmp_path / "many.jsonl"
    data.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(backtest, "PARALLEL_MIN_BYTES", 1)
    with pytest.raises(DataError, match=r"many.jsonl:1501: field 'price': 'cheap' is not a number"):
        backtest.run(minimal_repo, "demo", data, jobs=2)
    result = backtest.run(minimal_repo, "demo", data, jobs=2, skip_bad=True)
    assert (result.jobs, result.skipped, result.tally.rows) == (2, 1, 1999)


def test_parallel_names_the_bad_row_of_a_parquet_file(
    minimal_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{**ROWS[i % 4], "id": str(i)} for i in range(2000)]
    rows[1500] = {**rows[1500], "region": "XX"}
    data = listings_file(tmp_path / "many.parquet", rows)
    monkeypatch.setattr(backtest, "PARALLEL_MIN_BYTES", 1)
    with pytest.raises(DataError, match=r"many.parquet:1501: unknown region 'XX'"):
        backtest.run(minimal_repo, "demo", data, jobs=2)
    result = backtest.run(minimal_repo, "demo", data, jobs=2, skip_bad=True)
    assert (result.jobs, result.skipped, result.tally.rows) == (2, 1, 1999)
    assert result.first_skip is not None
    assert result.first_skip.startswith(f"{data}:1501: unknown region 'XX'")


def test_parquet(minimal_repo: Path, runner: CliRunner, tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["1", "2"],
            "region": ["SG", "SG"],
            "title": ["Gucci bag", "plain"],
            "price": [5.0, 5.0],
            "seller": [{"id": "S-1"}, {"id": "S-2"}],
            "label": ["infringing", "clean"],
        }
    )
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path)
    code, out = run(runner, minimal_repo, "--data", str(path), "--output", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["decisions"] == {"SG": {"none": 1, "takedown": 1}}
    assert report["labels"]["precision"] == 1.0


def test_progress_reports_rows_and_share_of_file(
    minimal_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = jsonl(tmp_path / "many.jsonl", [{**ROWS[i % 4], "id": str(i)} for i in range(25000)])
    monkeypatch.setattr("modctl.backtest.data.BATCH_BYTES", data.stat().st_size // 4 + 1)
    seen: list[tuple[int, float | None]] = []
    backtest.run(
        minimal_repo, "demo", data, progress=lambda rows, share: seen.append((rows, share))
    )
    rows = [rows for rows, _ in seen]
    shares = [share for _, share in seen]
    assert len(seen) == 4  # one report per batch
    assert rows == sorted(rows)
    assert rows[-1] == 25000
    assert shares == sorted(shares)  # type: ignore[type-var]
    assert 0.2 < shares[0] < 0.3  # type: ignore[operator]
    assert shares[-1] == 1.0


GOOD = b'{"id": "1", "region": "SG", "title": "Gucci bag", "price": 5}\n'

# (file name, content, the bad row's line, what the message says): each file holds one bad row
# among good ones; without --skip-bad it stops there (exit 2), with it the row is counted.
BAD_ROWS: list[tuple[str, bytes, int, str]] = [
    (
        "not-utf8.jsonl",
        GOOD + b'{"id": "2", "region": "SG", "title": "caf\xff"}\n' + GOOD,
        2,
        "not UTF-8 text (byte 0xff at column 42)",
    ),
    (
        "not-utf8-undeclared.jsonl",
        GOOD + b'{"id": "2", "region": "SG", "notes": "\xff"}\n' + GOOD,
        2,
        "not UTF-8 text (byte 0xff at column 39)",
    ),
    (
        "not-utf8-key.jsonl",
        GOOD + b'{"id": "2", "region": "SG", "ti\xfftle": "x"}\n' + GOOD,
        2,
        "not UTF-8 text (byte 0xff at column 32)",
    ),
    (
        "nan.jsonl",
        GOOD + b'{"id": "2", "region": "SG", "price": NaN}\n' + GOOD,
        2,
        "field 'price': NaN is not a finite number",
    ),
    (
        "infinity.jsonl",
        GOOD + b'{"id": "2", "region": "SG", "price": -Infinity}\n',
        2,
        "field 'price': -Infinity is not a finite number",
    ),
    (
        "long-line.jsonl",
        GOOD + b'{"id": "2", "region": "SG", "title": "' + b"a" * (2 << 20) + b'"}\n' + GOOD,
        2,
        "line is longer than 1 MiB, the limit for one listing",
    ),
    (
        "not-utf8.csv",
        b"id,region,title\n1,SG,Gucci\n2,SG,caf\xff\n3,SG,Prada\n",
        3,
        "not UTF-8 text (byte 0xff)",
    ),
    (
        "nan.csv",
        b"id,region,price\n1,SG,5\n2,SG,nan\n",
        3,
        "field 'price': NaN is not a finite number",
    ),
    (
        "long-record.csv",
        b"id,region,title\n1,SG,Gucci\n2,SG," + b"a" * (2 << 20) + b"\n3,SG,Prada\n",
        3,
        "record is longer than 1 MiB, the limit for one listing",
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "line", "message"), BAD_ROWS, ids=[case[0] for case in BAD_ROWS]
)
def test_bad_row_stops_or_is_skipped(
    minimal_repo: Path, tmp_path: Path, name: str, content: bytes, line: int, message: str
) -> None:
    data = tmp_path / name
    data.write_bytes(content)
    done = modctl("--repo", minimal_repo, "backtest", "demo", "--data", data)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"modctl: error: {data}:{line}: {message} (pass --skip-bad to skip bad rows)\n"
    )
    done = modctl(
        "--repo", minimal_repo, "backtest", "demo", "--data", data, "--skip-bad", "-o", "json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["skipped_rows"] == 1
    assert report["rows"] == content.count(b"\n") - 1 - name.endswith(".csv")


def test_csv_header_that_is_not_utf8_is_one_line_even_skipping_bad_rows(
    minimal_repo: Path, tmp_path: Path
) -> None:
    data = tmp_path / "header.csv"
    data.write_bytes(b"id,region,ti\xfftle\n1,SG,Gucci\n")
    for extra in ([], ["--skip-bad"]):
        done = modctl("--repo", minimal_repo, "backtest", "demo", "--data", data, *extra)
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"modctl: error: {data}:1: header: not UTF-8 text (byte 0xff)\n"


def test_a_line_of_a_gigabyte_is_skipped_without_reading_it_whole(
    minimal_repo: Path, tmp_path: Path
) -> None:
    """A line of 1 GiB (a hole in a sparse file, so the disk holds nothing) in a process that may
    use 600 MiB: read whole, it would not fit."""
    data = tmp_path / "huge.jsonl"
    with data.open("wb") as handle:
        handle.write(GOOD)
        handle.seek(1 << 30, os.SEEK_CUR)
        handle.write(b"\n" + GOOD)
    args = [str(MODCTL), "--repo", str(minimal_repo), "backtest", "demo", "--data", str(data)]
    done = subprocess.run(
        [*args, "--skip-bad", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=memory_limit(600),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rows"], report["skipped_rows"]) == (2, 1)
    done = subprocess.run(
        args, capture_output=True, text=True, check=False, preexec_fn=memory_limit(600)
    )
    assert done.returncode == 2, done.stderr
    assert f"{data}:2: line is longer than 1 MiB" in done.stderr


def test_a_parquet_column_of_the_wrong_type_is_refused_by_name(
    minimal_repo: Path, runner: CliRunner, tmp_path: Path
) -> None:
    """The columns are checked once, before any row is read, as on Spark: not every row bad."""
    base = {"id": ["1", "2"], "region": ["SG", "SG"], "title": ["Gucci bag", "plain"]}
    cases = {
        "price": (
            {**base, "price": ["5", "6"]},
            "column 'price' is string, but modctl.yaml declares price a number",
        ),
        "seller": (
            {**base, "seller": ["S-1", "S-2"]},
            "column 'seller' is string, but modctl.yaml declares seller.id, a field inside it: it must be a struct",
        ),
    }
    for name, (columns, message) in cases.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table(columns), path)
        code, out = run(runner, minimal_repo, "--data", str(path), "--skip-bad")
        assert (code, out) == (2, f"modctl: error: {path}: {message}\n"), name


def test_parquet_text_that_is_not_utf8_is_a_bad_row(minimal_repo: Path, tmp_path: Path) -> None:
    titles = pa.array([b"Gucci bag", b"caf\xff", b"plain"], pa.binary()).view(pa.string())
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["1", "2", "3"], "region": ["SG"] * 3, "title": titles}), path)
    done = modctl("--repo", minimal_repo, "backtest", "demo", "--data", path)
    assert done.returncode == 2, done.stderr
    assert f"{path}:2: not UTF-8 text" in done.stderr
    done = modctl(
        "--repo", minimal_repo, "backtest", "demo", "--data", path, "--skip-bad", "-o", "json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["skipped_rows"] == 1


def test_parquet_row_group_over_the_limit_is_refused_before_reading(
    minimal_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["1"], "region": ["SG"], "title": ["x" * 5000]}), path)
    monkeypatch.setattr("modctl.backtest.data.MAX_ROW_GROUP_BYTES", 4096)
    with pytest.raises(DataError, match=r"row group 0 holds 0\.0 GiB uncompressed; the limit"):
        backtest.run(minimal_repo, "demo", path)


def test_a_csv_with_a_byte_order_mark_reads_as_without(minimal_repo: Path, tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    plain.write_bytes(b"id,region,title,price\n1,SG,Gucci bag,5\n2,SG,Prada,50\n")
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    outputs = []
    for data in (plain, marked):
        done = modctl("--repo", minimal_repo, "backtest", "demo", "--data", data, "-o", "json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        outputs.append((report["rows"], report["decisions"], report["rules"]))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 2
    assert outputs[0][2]  # the rule matched the Gucci bag: the title column was read
