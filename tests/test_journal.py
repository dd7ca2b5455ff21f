"""The journal cannot be forged through its own format: trailer values are one line of visible,
printable UTF-8 text, refused otherwise before anything is written."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from modctl.errors import UsageError
from modctl.state.store import Entry, Snapshot, Store
from tests.conftest import MODCTL, run_git

RELEASED = (("release", "cut", "demo"),)

# Values no trailer may hold: each would split a record of `modctl log`, start a new trailer,
# move the terminal's cursor or colour it, or be nothing a reader can see.
HOSTILE = {
    "group-separator": "a\x1db",
    "unit-separator": "a\x1fb",
    "record-separator": "a\x1eb",
    "escape-sequence": "\x1b[31mred",
    "carriage-return": "a\rb",
    "line-feed-trailer": "a\nModctl-Action: rollback",
    "tab": "a\tb",
    "delete": "a\x7fb",
    "c1-control": "a\x9bb",
    "next-line": "a\x85b",
    "line-separator": "a\u2028b",
    "paragraph-separator": "a\u2029b",
    "bidi-override": "a\u202eb",
    "space": " ",
    "tab-only": "\t",
    "zero-width-space": "\u200b",
    "word-joiner": "\u2060",
    "byte-order-mark": "\ufeff",
    "combining-marks-only": "\u0301\u0302",
    "ideographic-space": "\u3000",
    "braille-blank": "\u2800",
    "null-notehead": "\U0001d159",
}


def _tip(root: Path) -> str:
    return run_git(root, "rev-parse", "modctl-state").strip()


def _modctl(
    root: Path, *args: str | bytes, env: dict[str, str | bytes] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The installed modctl with raw arguments and environment (bytes that are not UTF-8 reach
    it as they would from a shell)."""
    environment: dict[str, str | bytes] = dict(os.environ)
    environment.update(env or {})
    return subprocess.run(
        [str(MODCTL), "--repo", str(root), *args],
        env=environment,  # type: ignore[arg-type]
        capture_output=True,
        check=False,
    )


def _refused(done: subprocess.CompletedProcess[bytes], name: str) -> None:
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 2, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("modctl: error: "), stderr
    assert name in stderr, stderr
    assert "\x1b" not in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("option", ["--reason", "--incident", "--actor"])
@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_trailer_value_is_refused(
    repo_after: Callable[..., Path], option: str, value: str
) -> None:
    root = repo_after(*RELEASED)
    before = _tip(root)
    _refused(_modctl(root, "freeze", "--region", "SG", option, value), option)
    assert _tip(root) == before


@pytest.mark.parametrize("option", ["--reason", "--incident", "--actor"])
def test_trailer_value_that_is_not_utf8_is_refused(
    repo_after: Callable[..., Path], option: str
) -> None:
    root = repo_after(*RELEASED)
    before = _tip(root)
    _refused(_modctl(root, "freeze", "--region", "SG", option, b"caf\xe9"), option)
    assert _tip(root) == before


@pytest.mark.parametrize("value", [b"\xff", b" ", b"a\x1bb", "\u200b".encode()])
def test_modctl_actor_that_is_not_one_visible_line_is_refused(
    repo_after: Callable[..., Path], value: bytes
) -> None:
    root = repo_after(*RELEASED)
    before = _tip(root)
    _refused(_modctl(root, "freeze", "--region", "SG", env={"MODCTL_ACTOR": value}), "MODCTL_ACTOR")
    assert _tip(root) == before


@pytest.mark.parametrize("value", [b"\xff@example.com", b"a\x1b[31m@example.com"])
def test_git_email_that_is_not_one_printable_line_is_refused(
    repo_after: Callable[..., Path], value: bytes
) -> None:
    root = repo_after(*RELEASED)
    before = _tip(root)
    with (root / ".git" / "config").open("ab") as config:
        config.write(b'[user]\n\temail = "' + value + b'"\n')
    _refused(_modctl(root, "freeze", "--region", "SG"), "user.email")
    assert _tip(root) == before


def test_dry_run_refuses_what_the_write_would_refuse(repo_after: Callable[..., Path]) -> None:
    root = repo_after(*RELEASED)
    done = _modctl(root, "freeze", "--region", "SG", "--dry-run", "--reason", "a\x1bb")
    _refused(done, "--reason")


def test_release_notes_that_would_forge_the_journal_are_refused(
    repo_after: Callable[..., Path],
) -> None:
    root = repo_after(*RELEASED)
    before = _tip(root)
    _refused(_modctl(root, "release", "cut", "demo", "--notes", "fine\x1b[2Jgone"), "--notes")
    assert _tip(root) == before


def test_release_notes_over_several_lines_still_make_one_reason(
    repo_after: Callable[..., Path],
) -> None:
    root = repo_after(*RELEASED)
    done = _modctl(root, "release", "cut", "demo", "--notes", "first line\n\nsecond line")
    assert done.returncode == 0, done.stderr
    assert Store(root).journal()[0].reason == "first line second line"


@pytest.mark.parametrize("value", ["a\x00b", "a\x1db", "\u200b", "x\udcff"])
def test_library_writes_are_checked_where_every_trailer_passes(tmp_path: Path, value: str) -> None:
    run_git(tmp_path, "init", "-q")
    store = Store(tmp_path)

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        entry = Entry("freeze", "ops@example.com", "freeze SG", region="SG", incident=value)
        return {"regions/SG/_region.yaml": b"frozen: true\n"}, entry

    with pytest.raises(UsageError, match="incident"):
        store.write(transition)
    assert store.tip() is None


def _hand_made(root: Path, message: bytes, tree: str | None = None) -> str:
    """A state commit made with plain git (no modctl), on top of the branch, with `message`
    exactly as given (and `tree`, default the tip's); the branch is moved to it."""
    tip = _tip(root)
    tree = tree or run_git(root, "rev-parse", f"{tip}^{{tree}}").strip()
    body = (
        f"tree {tree}\nparent {tip}\nauthor A <a@example.com> 1700000000 +0000\n"
        "committer A <a@example.com> 1700000000 +0000\n\n"
    ).encode() + message
    done = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin"],
        cwd=root,
        input=body,
        capture_output=True,
        check=True,
    )
    commit = done.stdout.decode().strip()
    run_git(root, "update-ref", "refs/heads/modctl-state", commit)
    return commit


def _log(root: Path, *args: str) -> tuple[int, str, str]:
    done = _modctl(root, "log", *args)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_log_separators_inside_values_stay_inside_them(repo_after: Callable[..., Path]) -> None:
    """The separators `log` once parsed by, and a forged trailer behind one, are only text of
    the value that holds them."""
    root = repo_after(*RELEASED)
    _hand_made(
        root,
        b"freeze SG\n\nModctl-Action: freeze\nModctl-Region: SG\nModctl-Actor: alice@example.com\n"
        b"Modctl-Reason: a\x1fb\x1dc\x1eModctl-Actor: mallory\n",
    )
    code, out, err = _log(root, "--output", "json")
    assert code == 0, err
    entry = json.loads(out)[0]
    assert entry["actor"] == "alice@example.com"
    assert entry["reason"] == "a\x1fb\x1dc\x1eModctl-Actor: mallory"
    assert [e["action"] for e in json.loads(out)] == ["freeze", "release"]


@pytest.mark.parametrize(
    ("trailers", "problem"),
    [
        (b"Modctl-Action: freeze\nModctl-Action: rollback\n", "Modctl-Action twice"),
        (b"Modctl-Action: freeze\nModctl-Reason: caf\xe9\n", "not UTF-8"),
    ],
    ids=["action-twice", "not-utf8"],
)
def test_log_shows_a_commit_whose_trailers_cannot_be_read(
    repo_after: Callable[..., Path], trailers: bytes, problem: str
) -> None:
    root = repo_after(*RELEASED)
    commit = _hand_made(root, b"odd\n\nModctl-Actor: alice@example.com\n" + trailers)
    code, out, err = _log(root, "--output", "json")
    assert code == 0, err
    entry = json.loads(out)[0]
    assert entry["commit"] == commit
    assert problem in entry["problem"]
    code, out, err = _log(root)
    assert code == 0, err
    assert problem in out.split("\n\n")[0]


def test_log_shows_escape_sequences_of_a_hand_made_commit_escaped(
    repo_after: Callable[..., Path],
) -> None:
    root = repo_after(*RELEASED)
    _hand_made(
        root,
        b"freeze \x1b]0;pwned\x07SG\n\nModctl-Action: freeze\nModctl-Region: SG\n"
        b"Modctl-Actor: alice@example.com\nModctl-Reason: \x1b[31mred\xc2\x9b2J\n",
    )
    code, out, err = _log(root)
    assert code == 0, err
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\x9b" not in out
    assert "freeze \\x1b]0;pwned\\x07SG" in out
    code, out, err = _log(root, "--output", "json")
    assert code == 0, err
    assert "\x9b" not in out
    assert json.loads(out)[0]["reason"] == "\x1b[31mred\x9b2J"


def test_release_list_shows_a_hand_made_author_escaped(repo_after: Callable[..., Path]) -> None:
    root = repo_after(*RELEASED)
    manifest = run_git(root, "show", "modctl-state:releases/demo/0.1.0.yaml")
    forged = manifest.replace("author: author@example.com", 'author: "\\e[2Jnew\\nline"')
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=root,
            input=forged.encode(),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    scratch = {**os.environ, "GIT_INDEX_FILE": str(root / ".git" / "scratch-index")}
    run_git(root, "read-tree", "modctl-state", env=scratch)
    run_git(
        root, "update-index", "--cacheinfo", f"100644,{blob},releases/demo/0.1.0.yaml", env=scratch
    )
    tree = run_git(root, "write-tree", env=scratch).strip()
    _hand_made(
        root,
        b"release demo 0.1.0\n\nModctl-Action: release\nModctl-Actor: a@example.com\n",
        tree=tree,
    )
    done = _modctl(root, "release", "list")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "\x1b" not in out
    assert "\\x1b[2Jnew\\nline" in out
    assert len(out.splitlines()) == 2


def test_error_quoting_user_input_escapes_it(repo_after: Callable[..., Path]) -> None:
    root = repo_after(*RELEASED)
    done = _modctl(root, "release", "show", "demo", "\x1b[2J\x1b]0;x\x07")
    assert done.returncode == 2
    assert b"\x1b" not in done.stderr
    assert b"\x07" not in done.stderr
    assert b"\\x1b[2J" in done.stderr
