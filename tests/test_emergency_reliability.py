"""An emergency run under pressure: two engineers at once, a run killed at its prompt, a state
that moved while the plan waited for confirmation, and hostile parameter values. The state
branch gets all of a run or none of it, and nothing a parameter holds is ever executed."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from modctl.context import Context
from modctl.errors import ConflictError
from modctl.source.playbooks import read
from modctl.state.emergency import prepare, write
from modctl.state.operations import Journal
from modctl.state.store import Store
from tests.conftest import MODCTL, assert_fsck_clean, built_once, modctl, run_git
from tests.test_emergency import build_live, emergency, record, state

ROLLBACK_SG = ("rollback-region", "-p", "bundle=demo", "-p", "regions=SG")
DISABLE = ("disable-rule", "-p", "bundle=demo", "-p", "rule=fake-brand")


@pytest.fixture
def live(templates: Path, tmp_path: Path) -> Path:
    return built_once(templates, "emergency-live", build_live, tmp_path / "repo")


class Terminal:
    """The installed modctl on a pseudo-terminal, as an engineer at a keyboard runs it."""

    def __init__(self, root: Path, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [str(MODCTL), "--repo", str(root), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def wait_for(self, text: str) -> str:
        """Everything printed until `text` appears (a generous deadline keeps a broken run from
        hanging the suite; it asserts nothing about speed)."""
        deadline = time.monotonic() + 120
        while text.encode() not in self.seen:
            if not self._read(deadline - time.monotonic()):
                raise AssertionError(f"{text!r} never came: {self.seen.decode(errors='replace')}")
        return self.seen.decode(errors="replace")

    def answer(self, line: str) -> tuple[int, str]:
        """Type `line` and Enter; the exit status and everything printed."""
        os.write(self.master, f"{line}\n".encode())
        deadline = time.monotonic() + 120
        while self._read(deadline - time.monotonic()):
            pass
        return self.process.wait(timeout=120), self.seen.decode(errors="replace")

    def _read(self, left: float) -> bool:
        if left <= 0:
            self.process.kill()
            return False
        ready, _, _ = select.select([self.master], [], [], left)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the program ended and closed the terminal
            return False
        self.seen += chunk
        return bool(chunk)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def at_prompt(terminals: list[Terminal], root: Path, *args: str) -> Terminal:
    terminal = Terminal(root, "emergency", "run", *args, "--incident", "INC-1", "--reason", "bad")
    terminals.append(terminal)
    terminal.wait_for("Write these")
    return terminal


def test_a_run_killed_at_its_prompt_leaves_the_branch_as_it_was(
    live: Path, terminals: list[Terminal]
) -> None:
    tip = Store(live).tip()
    terminal = at_prompt(terminals, live, *DISABLE)
    assert "2 hotpatch        MY    disable_rule fake-brand" in terminal.seen.decode()
    terminal.process.send_signal(signal.SIGKILL)
    assert terminal.process.wait(timeout=60) == -signal.SIGKILL
    assert Store(live).tip() == tip
    assert run_git(live, "for-each-ref", "refs/modctl/") == ""
    assert_fsck_clean(live)
    assert modctl("--repo", live, "audit", "verify").returncode == 0


def test_a_run_confirmed_at_its_prompt_writes_every_region_in_one_commit(
    live: Path, terminals: list[Terminal]
) -> None:
    tip = Store(live).tip()
    code, out = at_prompt(terminals, live, *DISABLE).answer("y")
    assert code == 0, out
    assert "Mitigated in " in out
    assert "s at the prompt: state commit " in out
    assert run_git(live, "rev-list", "--count", f"{tip}..{Store(live).tip()}").strip() == "1"
    assert state(live, "SG")["hotpatches"] == state(live, "MY")["hotpatches"] != []
    assert modctl("--repo", live, "audit", "verify").returncode == 0


def test_a_run_declined_at_its_prompt_writes_nothing(live: Path, terminals: list[Terminal]) -> None:
    tip = Store(live).tip()
    code, out = at_prompt(terminals, live, *DISABLE).answer("n")
    assert code == 4, out
    assert "not confirmed; nothing was written" in out
    assert Store(live).tip() == tip


def test_a_run_whose_state_moved_while_it_waited_is_a_conflict_naming_the_new_state(
    live: Path, terminals: list[Terminal]
) -> None:
    first = at_prompt(terminals, live, *ROLLBACK_SG)
    code, out = emergency(
        live, "run", *DISABLE, "--incident", "INC-2", "--reason", "other", "--yes"
    )
    assert code == 0, out
    won = Store(live).journal()[0]
    code, out = first.answer("y")
    assert code == 3, out
    assert f"it is now at {(won.commit or '')[:12]} ('emergency disable-rule: hotpatch demo" in out
    assert "for INC-2)" in out
    assert "nothing was written: run the playbook again" in out
    assert Store(live).tip() == won.commit
    assert state(live, "SG")["stable"] == "0.1.1"  # the rollback was not applied on top


def test_two_runs_planned_on_one_state_one_wins_and_the_other_writes_nothing(
    live: Path,
) -> None:
    regions = Context(live).config.regions
    alice, bob = Context(live), Context(live)
    rollback = prepare(
        alice,
        read(live, "rollback-region", regions),
        {"bundle": "demo", "regions": ["SG"]},
        Journal("alice@example.com", "overturns doubled", "INC-1"),
    )
    disable = prepare(
        bob,
        read(live, "disable-rule", regions),
        {"bundle": "demo", "rule": "fake-brand"},
        Journal("bob@example.com", "resellers down", "INC-1"),
    )
    assert rollback.plan.base == disable.plan.base
    written = write(alice, rollback)
    with pytest.raises(ConflictError) as lost:
        write(bob, disable)
    assert lost.value.exit_code == 3
    assert f"it is now at {(written.commit or '')[:12]} ('emergency rollback-region" in (
        lost.value.message
    )
    assert "by alice@example.com" in lost.value.message
    assert Store(live).tip() == written.commit
    assert state(live, "SG")["hotpatches"] == []


def test_two_engineers_running_the_same_playbook_at_once_write_it_once(live: Path) -> None:
    tip = Store(live).tip()
    args = ("--repo", live, "emergency", "run", *ROLLBACK_SG, "--incident", "INC-1")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(lambda who: modctl(*args, "--reason", who, "--yes"), ["alice", "bob"])
        )
    codes = sorted(r.returncode for r in results)
    assert codes[0] == 0, [r.stderr for r in results]
    # The loser either lost the race to write (3: the state moved after its plan) or planned
    # on the winner's state, where SG has nothing left to roll back to (4).
    assert codes[1] in (3, 4), [r.stderr for r in results]
    loser = next(r for r in results if r.returncode != 0)
    assert len(loser.stderr.strip().splitlines()) == 1, loser.stderr
    assert "Traceback" not in loser.stderr
    assert run_git(live, "rev-list", "--count", f"{tip}..{Store(live).tip()}").strip() == "1"
    assert modctl("--repo", live, "audit", "verify").returncode == 0


HOSTILE = [
    "$(rm -rf ~)",
    "`touch pwned`; rm -rf ~",
    "{{7*7}}",
    "${reason}",
    "../../etc/passwd",
    "{a: 1}",
    "!!python/object/apply:os.system ['touch pwned']",
    "S-1'; DROP TABLE sellers; --",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_string_parameter_stays_the_text_it_was(live: Path, value: str) -> None:
    home = Path(os.environ["HOME"])
    (home / "keep").write_text("still here")
    code, out = emergency(
        live,
        "run",
        "allowlist-seller",
        *("-p", "bundle=demo", "-p", f"seller={value}", "-p", "regions=SG"),
        *("--incident", "INC-1", "--reason", value, "--yes"),
    )
    assert code == 0, out
    found = record(live)
    assert found["params"]["seller"] == value
    assert found["reason"] == " ".join(value.split())
    (patch,) = state(live, "SG")["hotpatches"]
    assert patch["value"] == [value]
    items = json.loads(Store(live).read().files["deploy/SG/demo.json"])["stable"]["config"]
    assert items["lists"]["authorized-sellers"]["items"] == ["S-1", value]
    assert (home / "keep").read_text() == "still here"
    assert not (live / "pwned").exists()
    assert not Path("pwned").exists()


@pytest.mark.parametrize(
    ("param", "value", "said"),
    [
        ("seller", "S-1\nS-2", "-p seller holds the control character \\n"),
        ("seller", "\x1b[31mred", "-p seller holds the control character \\x1b"),
        ("regions", "SG,../../etc", "-p regions: unknown region '../../etc'"),
        ("regions", "{a: 1}", "-p regions: unknown region '{a: 1}'"),
        ("bundle", "../../etc/passwd", "-p bundle takes a bundle name"),
        ("bundle", "$(rm -rf ~)", "-p bundle takes a bundle name"),
        ("expires_in", "{{7*7}}h", "-p expires_in takes a duration such as 30m, 4h or 1d"),
        ("list", "!!python/object", "-p list '!!python/object' does not match its pattern"),
    ],
)
def test_a_hostile_value_the_type_refuses_is_one_line_and_writes_nothing(
    live: Path, param: str, value: str, said: str
) -> None:
    tip = Store(live).tip()
    args = {"bundle": "demo", "seller": "S-9", param: value}
    pairs = [word for name, text in args.items() for word in ("-p", f"{name}={text}")]
    code, out = emergency(
        live, "run", "allowlist-seller", *pairs, "--incident", "INC-1", "--reason", "x", "--yes"
    )
    assert (code, out.count("\n")) == (2, 1), out
    assert said in out
    assert Store(live).tip() == tip


@pytest.mark.parametrize("value", ["{a: 1}", "7*7", "1e999", "nan", "$(echo 1)"])
def test_a_number_parameter_takes_numbers_only(live: Path, value: str) -> None:
    tip = Store(live).tip()
    code, out = emergency(
        live,
        "run",
        "relax-threshold",
        *("-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "param=max_price"),
        *("-p", f"value={value}", "--incident", "INC-1", "--reason", "x", "--yes"),
    )
    assert code == 2, out
    assert "-p value takes a number, not" in out
    assert Store(live).tip() == tip
