"""Metrics rows for the canary gates: CSV, JSON lines or a command; every bad row is one line
naming the file (or command) and the line."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest

from modctl import yamlio
from modctl.gates.judge import Counts, Gate
from modctl.model import Config
from modctl.schemas import text
from modctl.source.metrics import MetricsError, counts, from_command, from_file
from tests.conftest import MINIMAL, memory_limit

CONFIG = Config.from_data(yamlio.loads(MINIMAL["modctl.yaml"]))
NOW = datetime(2026, 11, 29, 12, 0, 0)
BUNDLES = {"demo"}
HEADER = "region,bundle,variant,window_start,window_end,overturned,appeals\n"
GOOD = (
    HEADER
    + "SG,demo,stable,2026-11-29T09:00:00Z,2026-11-29T10:00:00Z,36,450\n"
    + "SG,demo,canary,2026-11-29T09:00:00Z,2026-11-29T10:00:00Z,5,50\n"
    + "SG,demo,stable,2026-11-29T10:00:00Z,2026-11-29T11:00:00Z,40,450\n"
    + "SG,demo,canary,2026-11-29T10:00:00Z,2026-11-29T11:00:00Z,6,50\n"
)
GATE = Gate("overturn-rate", "overturned", "appeals", "higher", 0.1, None, 10, 0.95)


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def test_csv_and_json_lines_give_the_same_rows(tmp_path: Path) -> None:
    from_csv = from_file(write(tmp_path, "m.csv", GOOD), CONFIG, NOW, BUNDLES)
    lines = "".join(json.dumps(r.to_dict()) + "\n" for r in from_csv.rows)
    from_jsonl = from_file(write(tmp_path, "m.jsonl", lines), CONFIG, NOW, BUNDLES)
    assert [r.to_dict() for r in from_jsonl.rows] == [r.to_dict() for r in from_csv.rows]
    assert from_jsonl.digest == from_csv.digest
    schema = json.loads(text("metrics"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for row in from_csv.rows:
        jsonschema.validate(row.to_dict(), schema)


def test_only_windows_since_the_step_count(tmp_path: Path) -> None:
    rows = from_file(write(tmp_path, "m.csv", GOOD), CONFIG, NOW, BUNDLES).rows
    assert counts(rows, "demo", "SG", datetime(2026, 11, 29, 9), GATE) == Counts(11, 100, 76, 900)
    assert counts(rows, "demo", "SG", datetime(2026, 11, 29, 10), GATE) == Counts(6, 50, 40, 450)
    assert counts(rows, "demo", "MY", datetime(2026, 11, 29, 9), GATE) == Counts(0, 0, 0, 0)


def test_gates_leave_out_the_rows_of_single_rules(tmp_path: Path) -> None:
    per_rule = (
        HEADER.replace("appeals\n", "appeals,rule\n")
        + "".join(line + ",\n" for line in GOOD.splitlines()[1:])
        + "SG,demo,canary,2026-11-29T09:00:00Z,2026-11-29T10:00:00Z,4,30,fake-brand\n"
        + "SG,demo,canary,2026-11-29T09:00:00Z,2026-11-29T10:00:00Z,1,20,cheap\n"
    )
    rows = from_file(write(tmp_path, "m.csv", per_rule), CONFIG, NOW, BUNDLES).rows
    assert [r.rule for r in rows] == [None, None, None, None, "fake-brand", "cheap"]
    assert rows[4].to_dict()["rule"] == "fake-brand"
    assert "rule" not in rows[0].to_dict()
    assert counts(rows, "demo", "SG", datetime(2026, 11, 29, 9), GATE) == Counts(11, 100, 76, 900)
    schema = json.loads(text("metrics"))
    for row in rows:
        jsonschema.validate(row.to_dict(), schema)


ROW = "SG,demo,canary,2026-11-29T11:00:00Z,2026-11-29T11:30:00Z"
BAD = {
    "empty": ("", "m.csv: empty"),
    "malformed": (HEADER + "SG,demo,canary\n", "m.csv:2: 3 fields where the header has 7"),
    "negative": (HEADER + f"{ROW},-1,5\n", "m.csv:2: overturned is -1; counts are never negative"),
    "above": (HEADER + f"{ROW},6,5\n", "m.csv:2: overturned (6) is above appeals (5)"),
    "region": (HEADER + ROW.replace("SG", "XX") + ",1,5\n", "m.csv:2: unknown region 'XX'"),
    "bundle": (HEADER + ROW.replace("demo", "nope") + ",1,5\n", "m.csv:2: unknown bundle 'nope'"),
    "variant": (
        HEADER + ROW.replace("canary", "beta") + ",1,5\n",
        "m.csv:2: variant is stable or canary, not 'beta'",
    ),
    "counter": (
        HEADER.replace("appeals", "apeals") + f"{ROW},1,5\n",
        "m.csv:2: unknown counter 'apeals'; metrics.names declares overturned, appeals",
    ),
    "future": (
        HEADER + ROW.replace("11:30:00Z", "12:30:00Z") + ",1,5\n",
        "m.csv:2: the window ends in the future (2026-11-29T12:30:00Z)",
    ),
    "overlap": (
        HEADER
        + f"{ROW},1,5\n"
        + ROW.replace("11:00:00Z", "11:15:00Z").replace("11:30", "11:45")
        + ",1,5\n",
        "m.csv:3: its window overlaps the one on line 2 (SG demo canary)",
    ),
    "overlap of one rule": (
        HEADER.replace("appeals\n", "appeals,rule\n")
        + f"{ROW},1,5,fake-brand\n"
        + f"{ROW},1,5,cheap\n"
        + ROW.replace("11:00:00Z", "11:15:00Z").replace("11:30", "11:45")
        + ",1,5,cheap\n",
        "m.csv:4: its window overlaps the one on line 3 (SG demo canary rule cheap)",
    ),
    "beyond any count": (
        HEADER + f"{ROW},{10**400},{10**400}\n",
        "m.csv:2: overturned is above 9,007,199,254,740,992, more than any count",
    ),
    "adding up beyond any count": (
        HEADER
        + f"{ROW},{2**53},{2**53}\n"
        + "SG,demo,canary,2026-11-29T11:30:00Z,2026-11-29T11:45:00Z,1,1\n",
        "m.csv:3: overturned of SG demo canary adds up to more than 9,007,199,254,740,992",
    ),
    "a column twice": (
        HEADER.replace("appeals", "appeals,appeals") + f"{ROW},1,5,50\n",
        "m.csv:1: the header names 'appeals' twice",
    ),
    "not a time": (
        HEADER + ROW.replace("2026-11-29T11:00:00Z", "yesterday") + ",1,5\n",
        "m.csv:2: 'yesterday' is not an ISO 8601 time",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_metrics_file_is_one_line_naming_file_and_line(tmp_path: Path, case: str) -> None:
    content, message = BAD[case]
    with pytest.raises(MetricsError) as caught:
        from_file(write(tmp_path, "m.csv", content), CONFIG, NOW, BUNDLES)
    assert message in caught.value.message
    assert str(tmp_path) in caught.value.message
    assert "\n" not in caught.value.message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MetricsError, match="no such metrics file"):
        from_file(tmp_path / "gone.csv", CONFIG, NOW, BUNDLES)


def test_a_malformed_json_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "m.jsonl", '{"region": "SG"\n')
    with pytest.raises(MetricsError, match=r"m\.jsonl:1: not a JSON object"):
        from_file(path, CONFIG, NOW, BUNDLES)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_command_prints_the_rows(tmp_path: Path) -> None:
    rows = from_file(write(tmp_path, "m.csv", GOOD), CONFIG, NOW, BUNDLES).rows
    printed = json.dumps([r.to_dict() for r in rows])
    got = from_command(python(f"print({printed!r})"), 30, CONFIG, NOW, BUNDLES)
    assert [r.to_dict() for r in got.rows] == [r.to_dict() for r in rows]


@pytest.mark.parametrize(
    ("code", "timeout", "message"),
    [
        (
            "import sys; print('no such table', file=sys.stderr); sys.exit(3)",
            30,
            "exited with status 3: no such table",
        ),
        ("import time; time.sleep(60)", 0.3, "ran longer than its time limit of 0.3 s"),
        ("print('<html>')", 30, "not a JSON object"),
    ],
)
def test_a_failing_command_is_named(code: str, timeout: float, message: str) -> None:
    with pytest.raises(MetricsError) as caught:
        from_command(python(code), timeout, CONFIG, NOW, BUNDLES)
    assert caught.value.message.startswith("metrics command ")
    assert message in caught.value.message


def test_a_command_past_its_time_limit_is_stopped_with_the_processes_it_started(
    tmp_path: Path,
) -> None:
    """A metrics command is often a script that starts the real query: when its time is up, the
    query goes too. The query here holds a pipe open while it lives; the pipe ends when it is
    stopped."""
    pipe = tmp_path / "query-alive"
    os.mkfifo(pipe)
    query = (
        f"import os, time; f = open({str(pipe)!r}, 'w'); f.write(f'{{os.getpid()}}\\n'); "
        "f.flush(); time.sleep(600)"
    )
    script = f"import subprocess, sys, time; subprocess.Popen(python({query!r})); time.sleep(600)"
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    said = b""
    try:
        with pytest.raises(MetricsError, match="ran longer than its time limit of 2 s"):
            from_command(
                python(f"def python(c): return [sys.executable, '-c', c]\n{script}"),
                2,
                CONFIG,
                NOW,
                BUNDLES,
            )
        while select.select([reader], [], [], 30)[0]:
            chunk = os.read(reader, 100)
            if not chunk:
                break  # every writer is gone: the query was stopped
            said += chunk
        else:
            pytest.fail("the query the command started is still running")
        assert said.strip().isdigit(), said  # the query was up before the time ran out
    finally:
        if said.strip().isdigit():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(said), signal.SIGKILL)
        os.close(reader)


def test_a_file_with_no_end_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    """A device or a pipe has no size to check first: the read itself stops at the limit. (In a
    child with little memory, so that reading without end fails fast.)"""
    endless = tmp_path / "m.csv"
    endless.symlink_to("/dev/zero")
    code = (
        "from datetime import datetime\n"
        "from modctl import yamlio\n"
        "from modctl.model import Config\n"
        "from modctl.source import metrics\n"
        "metrics.MAX_BYTES = 1024\n"
        f"config = Config.from_data(yamlio.loads({MINIMAL['modctl.yaml']!r}))\n"
        "try:\n"
        f"    metrics.from_file(metrics.Path({str(endless)!r}), config, datetime.now(), set())\n"
        "except metrics.MetricsError as exc:\n"
        "    print(exc.message)\n"
    )
    done = subprocess.run(
        python(code), capture_output=True, text=True, check=False, preexec_fn=memory_limit(600)
    )
    assert (
        done.stdout.strip()
        == f"{endless}: more than 1,024 bytes; a metrics file holds at most 1,024"
    ), done.stderr


def test_a_command_that_prints_without_end_is_stopped_at_the_limit() -> None:
    """Its output is read as it comes and the command stopped past the limit, not gathered
    until its time is up. (In a child with little memory, so that gathering fails fast.)"""
    flood = "import sys\nwhile True: sys.stdout.buffer.write(b'x' * 65536)"
    code = (
        "import sys\n"
        "from modctl.source.program import ProgramError, run\n"
        "try:\n"
        f"    run([sys.executable, '-c', {flood!r}], 600, 1024)\n"
        "except ProgramError as exc:\n"
        "    print(exc.message)\n"
    )
    done = subprocess.run(
        python(code), capture_output=True, text=True, check=False, preexec_fn=memory_limit(600)
    )
    assert done.stdout.strip() == "it printed more than 1,024 bytes, the limit, and was stopped", (
        done.stderr
    )
