"""`rollout status` at a glance: frozen regions with their owners, rows in wave order, the
canary's step, time at the step, bake time left and whether promote is allowed, and why not."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl import yamlio
from modctl.cli import app
from modctl.source.config import config_at
from modctl.state.rollout import parse_stamp
from modctl.state.status import status
from modctl.state.store import Entry, Store
from tests.conftest import (
    MINIMAL,
    MODCTL,
    built_once,
    copy_reference,
    modctl,
    read_terminal,
    run,
    run_git,
    write_files,
)

# The minimal repository, with a one-hour bake and four steps in the pilot wave.
BAKING = (
    MINIMAL["modctl.yaml"]
    .replace(
        "{name: pilot, regions: [SG], steps: [10, 100]}",
        "{name: pilot, regions: [SG], steps: [1, 10, 50, 100]}",
    )
    .replace("  gates: [overturn-rate]\n", "  gates: [overturn-rate]\n  min_bake: 1h\n")
)


def ok(root: Path, *args: str) -> str:
    code, out = run(CliRunner(), root, *args)
    assert code == 0, (args, out)
    return out


def build_baking(root: Path) -> None:
    """demo 0.1.0 as a canary in SG at 10%, the second of four steps, just promoted."""
    assert "min_bake: 1h" in BAKING
    write_files(root, {**MINIMAL, "modctl.yaml": BAKING})
    run_git(root, "init", "-q")
    run_git(root, "add", ".")
    run_git(root, "commit", "-qm", "first")
    ok(root, "release", "cut", "demo")
    ok(root, "rollout", "start", "demo", "0.1.0")
    ok(root, "rollout", "promote", "demo", "--region", "SG", "--force")


@pytest.fixture
def baking(templates: Path, tmp_path: Path) -> Path:
    return built_once(templates, "status-baking", build_baking, tmp_path)


def build_two_waves(root: Path) -> None:
    """demo 0.1.0 stable in SG (the pilot wave) and a canary in MY (the next wave)."""
    write_files(root, MINIMAL)
    run_git(root, "init", "-q")
    run_git(root, "add", ".")
    run_git(root, "commit", "-qm", "first")
    ok(root, "release", "cut", "demo")
    ok(root, "rollout", "start", "demo", "0.1.0")
    ok(root, "rollout", "promote", "demo", "--region", "SG", "--full", "--force")
    ok(root, "rollout", "start", "demo", "0.1.0")


@pytest.fixture
def two_waves(templates: Path, tmp_path: Path) -> Path:
    return built_once(templates, "status-two-waves", build_two_waves, tmp_path)


def rows_of(out: str) -> list[list[str]]:
    """The table's lines (from its header on), split into cells at two or more spaces."""
    import re

    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("REGION"))
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start:] if line.strip()]


# ------------------------------------------------------------------------ freezes


def test_frozen_regions_show_their_owner_when_nothing_is_staged(
    repo_after: Callable[..., Path],
) -> None:
    root = repo_after(("release", "cut", "demo"))
    ok(
        root,
        *("freeze", "--all", "--incident", "INC-9", "--reason", "overturns doubled"),
        *("--actor", "carol@example.com"),
    )
    out = ok(root, "rollout", "status")
    since = json.loads(ok(root, "rollout", "status", "-o", "json"))["freezes"][0]["since"]
    assert out.splitlines()[0].startswith(f"Frozen: SG GB MY for INC-9 since {since} (")
    assert out.splitlines()[1] == "  by carol@example.com: overturns doubled"
    assert "Nothing staged yet" in out


def test_json_carries_each_freeze_with_its_owner(baking: Path) -> None:
    ok(baking, "freeze", "-r", "SG", "--incident", "INC-1", "--reason", "why", "--actor", "a@x")
    ok(baking, "freeze", "-r", "MY", "--actor", "b@x")
    freezes = json.loads(ok(baking, "rollout", "status", "-o", "json"))["freezes"]
    assert [(f["region"], f["wave"], f["actor"], f["reason"], f["incident"]) for f in freezes] == [
        ("SG", "pilot", "a@x", "why", "INC-1"),
        ("MY", "rest", "b@x", None, None),
    ]
    assert all(parse_stamp(f["since"]) and f["frozen_seconds"] >= 0 for f in freezes)


def test_a_freeze_without_incident_or_reason_says_so(baking: Path) -> None:
    ok(baking, "freeze", "-r", "MY", "--actor", "b@x")
    out = ok(baking, "rollout", "status")
    assert out.splitlines()[0].startswith("Frozen: MY (no incident) since ")
    assert out.splitlines()[1] == "  by b@x: no reason given"


# ------------------------------------------------------------------------ rows


def test_rows_come_in_wave_order_then_region(two_waves: Path) -> None:
    table = rows_of(ok(two_waves, "rollout", "status"))
    assert [row[0] for row in table] == ["REGION", "SG", "MY"]
    assert table[0] == [
        "REGION",
        "BUNDLE",
        "STABLE",
        "CANARY",
        "STEP",
        "AT STEP",
        "BAKE",
        "PROMOTE",
    ]
    assert table[1] == ["SG", "demo", "0.1.0", "-", "-", "-", "-", "-"]
    assert table[2][:5] == ["MY", "demo", "-", "0.1.0@50%", "1/2"]
    # No min_bake in this modctl.yaml: nothing to wait for, promote is allowed.
    assert table[2][6:] == ["-", "yes"]
    json_rows = json.loads(ok(two_waves, "rollout", "status", "-o", "json"))["rows"]
    assert [(r["region"], r["wave"]) for r in json_rows] == [("SG", "pilot"), ("MY", "rest")]


def test_the_canary_shows_its_step_of_the_wave_and_the_bake_left(baking: Path) -> None:
    (header, row) = rows_of(ok(baking, "rollout", "status"))
    shown = dict(zip(header, row, strict=True))
    assert (shown["CANARY"], shown["STEP"], shown["PROMOTE"]) == ("0.1.0@10%", "2/4", "baking")
    assert shown["BAKE"].endswith(("m", "s"))
    (data,) = json.loads(ok(baking, "rollout", "status", "-o", "json"))["rows"]
    assert (data["step"], data["steps"], data["promotable"], data["hold"]) == (
        2,
        4,
        False,
        "baking",
    )
    assert data["seconds_at_step"] + data["bake_remaining_seconds"] == 3600
    assert data["why"].startswith("the canary in SG has baked ")


def test_promotable_is_what_promote_answers_at_that_moment(baking: Path) -> None:
    snapshot, config = Store(baking).read(), config_at(baking)
    since = parse_stamp(
        json.loads(ok(baking, "rollout", "status", "-o", "json"))["rows"][0]["at_step_since"]
    )

    def row(minutes: int) -> dict[str, object]:
        (found,) = status(snapshot, config, None, since + timedelta(minutes=minutes)).rows
        return found

    early = row(25)
    assert (early["seconds_at_step"], early["bake_remaining_seconds"]) == (1500, 2100)
    assert (early["promotable"], early["hold"]) == (False, "baking")
    late = row(61)
    assert (late["bake_remaining_seconds"], late["promotable"], late["hold"]) == (None, True, None)


@pytest.mark.parametrize(
    ("command", "hold"),
    [
        (("rollout", "pause", "demo", "-r", "SG"), "paused"),
        (("freeze", "-r", "SG"), "frozen"),
    ],
)
def test_what_holds_the_canary_is_named_in_a_word(
    baking: Path, command: tuple[str, ...], hold: str
) -> None:
    ok(baking, *command)
    (header, row) = rows_of(ok(baking, "rollout", "status"))[-2:]
    assert dict(zip(header, row, strict=True))["PROMOTE"] == hold
    (data,) = json.loads(ok(baking, "rollout", "status", "-o", "json"))["rows"]
    assert (data["promotable"], data["hold"]) == (False, hold)
    assert f"{'paused' if hold == 'paused' else 'frozen'}" in data["why"]


def test_a_failing_last_gate_is_why_not_to_promote(baking: Path) -> None:
    store = Store(baking)
    canary = yamlio.loads(store.read().files["regions/SG/demo.yaml"].decode())["canary"]
    judged = {"release": canary["version"], "step": canary["step"], "since": canary["since"]}
    verdict = {
        "analyses/demo/SG/2026-11-25T11:00:00Z.json": json.dumps(
            {**judged, "verdict": "fail"}
        ).encode()
    }
    store.write(lambda _snapshot: (dict(verdict), Entry("analyze", "a", "gate")))
    since = parse_stamp(
        json.loads(ok(baking, "rollout", "status", "-o", "json"))["rows"][0]["at_step_since"]
    )
    (row,) = status(store.read(), config_at(baking), None, since + timedelta(hours=2)).rows
    assert (row["gate"], row["promotable"], row["hold"]) == ("fail", True, "gate")
    (header, cells) = rows_of(ok(baking, "rollout", "status"))
    assert dict(zip(header, cells, strict=True))["GATE"] == "fail"


# ------------------------------------------------------------------------ bundle names


def test_an_unknown_bundle_is_a_usage_error_with_a_suggestion(baking: Path) -> None:
    code, out = run(CliRunner(), baking, "rollout", "status", "dmeo")
    assert code == 2
    assert out == "modctl: error: no bundle named 'dmeo'; did you mean 'demo'? (bundles: demo)\n"
    code, out = run(CliRunner(), baking, "rollout", "status", "nosuch", "-o", "json")
    assert (code, out) == (2, "modctl: error: no bundle named 'nosuch' (bundles: demo)\n")


def test_a_bundle_of_the_working_tree_with_nothing_staged_is_no_error(baking: Path) -> None:
    write_files(baking, {"strategies/other/bundle.yaml": "name: other\nregions: [SG]\n"})
    out = ok(baking, "rollout", "status", "other")
    assert out.startswith("Nothing staged for other yet; `modctl rollout start other VERSION`")


# ------------------------------------------------------------------------ colour

RED, YELLOW = "\x1b[31m", "\x1b[33m"


def on_a_terminal(root: Path, env: dict[str, str], *args: str, errors_too: bool = False) -> str:
    """What the installed `modctl --repo ROOT ARGS...` prints when its output is a terminal
    (with `errors_too`, its error output as well)."""
    import pty

    main, side = pty.openpty()
    try:
        process = subprocess.Popen(
            [str(MODCTL), "--repo", str(root), *args],
            stdin=subprocess.DEVNULL,
            stdout=side,
            stderr=side if errors_too else subprocess.PIPE,
            env=env,
        )
    finally:
        os.close(side)
    shown = read_terminal(main)
    assert process.wait() == 0, process.stderr.read() if process.stderr else ""
    return shown.decode()


@pytest.fixture
def frozen_canary(baking: Path) -> Path:
    """A canary in SG, and MY frozen."""
    ok(baking, "freeze", "-r", "MY", "--incident", "INC-1")
    return baking


def test_frozen_in_red_and_canaries_in_yellow_on_a_terminal(frozen_canary: Path) -> None:
    shown = on_a_terminal(frozen_canary, dict(os.environ), "rollout", "status")
    assert f"{RED}Frozen: MY for INC-1" in shown
    assert f"{YELLOW}0.1.0@10%" in shown
    assert f"{YELLOW}2/4" in shown
    # Through the CliRunner, as a terminal would get it.
    result = CliRunner().invoke(
        app, ["--repo", str(frozen_canary), "rollout", "status"], color=True
    )
    assert f"{RED}Frozen: MY" in result.output


@pytest.mark.parametrize("value", ["1", "false"])
def test_no_colour_under_no_color(frozen_canary: Path, value: str) -> None:
    shown = on_a_terminal(frozen_canary, {**os.environ, "NO_COLOR": value}, "rollout", "status")
    assert "Frozen: MY for INC-1" in shown
    assert "\x1b" not in shown


def test_a_warning_has_no_colour_under_no_color(frozen_canary: Path) -> None:
    """An uncommitted change of `state` in modctl.yaml makes every state command warn."""
    config = frozen_canary / "modctl.yaml"
    config.write_text(config.read_text() + "state: {branch: elsewhere}\n")
    warning = "modctl: warning: modctl.yaml in the working tree sets state.branch to 'elsewhere'"
    coloured = on_a_terminal(frozen_canary, dict(os.environ), "rollout", "status", errors_too=True)
    assert f"{YELLOW}\x1b[1m{warning}" in coloured
    env = {**os.environ, "NO_COLOR": "1"}
    shown = on_a_terminal(frozen_canary, env, "rollout", "status", errors_too=True)
    assert warning in shown
    assert "\x1b" not in shown


def test_an_empty_no_color_leaves_colour_on(frozen_canary: Path) -> None:
    shown = on_a_terminal(frozen_canary, {**os.environ, "NO_COLOR": ""}, "rollout", "status")
    assert f"{RED}Frozen: MY" in shown


def test_no_colour_into_a_pipe(frozen_canary: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    done = modctl("--repo", frozen_canary, "rollout", "status", env=env)
    assert done.returncode == 0, done.stderr
    assert "Frozen: MY for INC-1" in done.stdout
    assert "\x1b" not in done.stdout


def test_values_from_the_state_branch_cannot_steer_the_terminal(baking: Path) -> None:
    hold = 'frozen: true\nreason: "\\e]0;owned\\a\\e[2J"\nactor: "\\e[31mroot"\n'
    store = Store(baking)
    store.write(
        lambda _snapshot: ({"regions/MY/_region.yaml": hold.encode()}, Entry("freeze", "a", "x"))
    )
    shown = on_a_terminal(baking, dict(os.environ), "rollout", "status")
    assert "by \\x1b[31mroot: \\x1b]0;owned\\x07\\x1b[2J" in shown
    assert "\x1b]" not in shown


# ------------------------------------------------------------------------ --watch


def read_until(main: int, text: str | None, timeout: float = 60.0) -> str:
    """What the terminal `main` shows until `text` appears in it (None: until it closes); the
    deadline only bounds a hang. A selector, not select(), which takes no descriptor above 1023:
    the test process may hold that many."""
    import selectors
    import time

    deadline = time.monotonic() + timeout
    shown = b""
    with selectors.DefaultSelector() as watch:
        watch.register(main, selectors.EVENT_READ)
        while text is None or text.encode() not in shown:
            if not watch.select(max(deadline - time.monotonic(), 0.0)):
                pytest.fail(f"still waiting after {timeout:.0f}s; shown: {shown.decode()[-500:]!r}")
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the other side closed
                chunk = b""
            if not chunk:
                assert text is None, f"the terminal closed without {text!r}: {shown.decode()!r}"
                break
            shown += chunk
    return shown.decode()


def test_watch_draws_again_every_second_and_says_when(baking: Path) -> None:
    import re

    watcher = subprocess.Popen(
        [str(MODCTL), "--repo", str(baking), "rollout", "status", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert watcher.stdout is not None
    try:
        stamps: list[str] = []
        # The state does not change: the table is drawn again anyway, its times current.
        while len(stamps) < 2:
            line = watcher.stdout.readline().decode()
            assert line, "the output ended"
            found = re.match(r"Refreshed (\S+ \S+) UTC, every second; Ctrl-C stops\.$", line)
            if found:
                stamps.append(found.group(1))
    finally:
        watcher.send_signal(signal.SIGINT)
        _out, err = watcher.communicate(timeout=60)
    assert stamps[0] < stamps[1]
    assert watcher.returncode == 0, err.decode()


def test_ctrl_c_on_the_terminal_ends_watch_cleanly(frozen_canary: Path) -> None:
    """^C typed on the terminal interrupts modctl and the git it started alike."""
    import pty

    args = [str(MODCTL), "--repo", str(frozen_canary), "rollout", "status", "--watch"]
    pid, main = pty.fork()  # the child leads a new session whose terminal is `main`'s other side
    if pid == 0:
        try:
            os.execv(args[0], args)
        finally:
            os._exit(127)
    try:
        assert "Frozen: MY" in read_until(main, "Ctrl-C stops")
        os.write(main, b"\x03")
        rest = read_until(main, None)
    finally:
        os.close(main)
        _pid, code = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(code) == 0
    assert "Traceback" not in rest
    assert "modctl:" not in rest


# ------------------------------------------------------------------------ modctl status


def test_modctl_status_is_rollout_status(frozen_canary: Path) -> None:
    # The two runs are moments apart: times since (a freeze, a step) may tick on in between.
    def timeless(out: str) -> str:
        return re.sub(r"[0-9]+", "N", out)

    assert timeless(ok(frozen_canary, "status")) == timeless(ok(frozen_canary, "rollout", "status"))
    assert ok(frozen_canary, "status", "demo", "-o", "json").startswith('{\n  "as_of"')
    code, out = run(CliRunner(), frozen_canary, "status", "dmeo")
    assert (code, out) == (
        2,
        "modctl: error: no bundle named 'dmeo'; did you mean 'demo'? (bundles: demo)\n",
    )


# ------------------------------------------------------------------------ one screen

FIRST_REASON = (
    "overturned appeals doubled in the SG canary within the first hour; hold every market of "
    "the region until the keyword list is fixed"
)
SECOND_REASON = "regulator asked for no automated takedown changes before Friday's review"


def build_reference_rollout(root: Path) -> None:
    """The project's own strategies, two of them as canaries in the pilot wave."""
    copy_reference(root)
    run_git(root, "init", "-q")
    run_git(root, "add", ".")
    run_git(root, "commit", "-qm", "strategies")
    for bundle in ("ipr-counterfeit", "ipr-brand-misuse"):
        ok(root, "release", "cut", bundle, "--version", "1.0.0")
        ok(root, "rollout", "start", bundle, "1.0.0")


def test_every_region_frozen_under_two_incidents_fits_one_screen(
    templates: Path, tmp_path: Path
) -> None:
    root = built_once(templates, "status-reference", build_reference_rollout, tmp_path)
    sea = [f"--region={r}" for r in ("SG", "MY", "TH", "ID", "PH", "VN")]
    ok(root, "freeze", *sea, "--incident", "INC-2041", "--reason", FIRST_REASON)
    west = ("--region=GB", "--region=US", "--incident", "INC-2042", "--actor", "bob@example.com")
    ok(root, "freeze", *west, "--reason", SECOND_REASON)
    out = ok(root, "rollout", "status")
    lines = out.splitlines()
    assert len(lines) <= 24, out
    assert max(len(line) for line in lines) <= 80, out
    assert lines[0].startswith("Frozen: SG ID MY PH TH VN for INC-2041 since ")
    assert any(line.startswith("Frozen: GB US for INC-2042 since ") for line in lines)
    words = " ".join(line.strip() for line in lines).split()
    for reason in (FIRST_REASON, SECOND_REASON):
        said = reason.split()
        assert any(words[i : i + len(said)] == said for i in range(len(words))), reason
    assert any(line.startswith("  by bob@example.com: ") for line in lines)
    assert [row[:2] for row in rows_of(out)[1:]] == [
        ["SG", "ipr-brand-misuse"],
        ["SG", "ipr-counterfeit"],
    ]
    assert {row[-1] for row in rows_of(out)[1:]} == {"frozen"}
