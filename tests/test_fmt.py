"""`modctl fmt`: one canonical layout for the YAML people write, data and comments kept, the
reference files already in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from modctl import yamledit, yamlio
from modctl.cli import app
from modctl.source.fmt import fmt, format_file, formatted, targets
from modctl.source.repo import select
from tests.conftest import PROJECT, run, snapshot, write_files

# Each case: a file as someone wrote it, and the file in the canonical layout.
CASES: dict[str, tuple[str, str]] = {
    "top-level items at column 0, their keys at 2, one blank line between them": (
        "-   id: a\n    action: warn\n-   id: b\n    action: warn\n\n\n\n- id: c\n  action: warn\n",
        "- id: a\n  action: warn\n\n- id: b\n  action: warn\n\n- id: c\n  action: warn\n",
    ),
    "the blank line goes above the comments that lead an item": (
        "- id: a\n  action: warn\n# about b\n- id: b\n  action: warn\n",
        "- id: a\n  action: warn\n\n# about b\n- id: b\n  action: warn\n",
    ),
    "two spaces per level, a sequence indented under its key": (
        "name: x\nitems:\n- a\n- b\nowner:\n      team: y\n",
        "name: x\nitems:\n  - a\n  - b\nowner:\n  team: y\n",
    ),
    "flow collections on one line, one space after each comma and colon": (
        "when: {   field: title,\n   in:  [a,b]  }\nregions: [ SG,MY ]\n",
        "when: {field: title, in: [a, b]}\nregions: [SG, MY]\n",
    ),
    "quotes as written, even where YAML would not need them": (
        'a: "0463513755ac0ecd"\nb: \'(?i)\\bx\\b\'\nc: "${bundle}"\nd: plain\n',
        'a: "0463513755ac0ecd"\nb: \'(?i)\\bx\\b\'\nc: "${bundle}"\nd: plain\n',
    ),
    "numbers as written": (
        "a: 0.10\nb: 4.054423787116954e+16\nc: 0x1F\nd: +5\n",
        "a: 0.10\nb: 4.054423787116954e+16\nc: 0x1F\nd: +5\n",
    ),
    "no trailing blanks, but a block value keeps its own": (
        "a: 1   \nb: |\n  kept   \n  x\nc: 2 \n",
        "a: 1\nb: |\n  kept   \n  x\nc: 2\n",
    ),
    "a block value keeps its blank lines": (
        "a: |+\n  x\n\n\nb: 1\n",
        "a: |+\n  x\n\n\nb: 1\n",
    ),
    "a line of blanks after a flow collection is a blank line": (
        "a: [1] \n   \n# about b\nb: 2\n",
        "a: [1]\n\n# about b\nb: 2\n",
    ),
    "no blank lines at the start or the end, never two in a row": (
        "\n\n# header\n\n\n\na: 1\n\n\nb: 2\n\n\n",
        "# header\n\na: 1\n\nb: 2\n",
    ),
    "a full-line comment at the indentation of the line it comments": (
        "a:\n  b: 1\n      # about c\n  c: 2\n        # about d\nd: 3\n",
        "a:\n  b: 1\n  # about c\n  c: 2\n  # about d\nd: 3\n",
    ),
    "a comment after a blank line belongs to the line after it": (
        "a:\n  b: 1\n\n  # about c\nc: 2\n",
        "a:\n  b: 1\n\n# about c\nc: 2\n",
    ),
    "comments at the ends of lines stay in their column": (
        "fields:\n    id: string      # the id\n    price: number   # USD\n",
        "fields:\n  id: string        # the id\n  price: number     # USD\n",
    ),
    "text other YAML readers take for a number gets quotes": (
        "a: ._\nb: 1_\n",
        "a: '._'\nb: 1_\n",
    ),
    "one line break at the end": ("a: 1", "a: 1\n"),
    "an empty list with its header": ("# header\n\n[ ]\n\n", "# header\n\n[]\n"),
    "a multi-line plain value on one line": ("a: one\n  two\n", "a: one two\n"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_canonical_layout(name: str) -> None:
    text, expected = CASES[name]
    assert yamledit.formatted(text) == expected
    assert yamlio.loads(expected) == yamlio.loads(text)
    assert yamlio.comments(expected) == yamlio.comments(text)
    assert yamledit.formatted(expected) == expected


REFERENCE = [source.rel for source in select(PROJECT, []).files]


@pytest.mark.parametrize("rel", REFERENCE)
def test_the_reference_files_are_canonical(rel: str) -> None:
    """What `modctl init` writes and `modctl demo` runs is what `fmt --check` accepts."""
    assert format_file(PROJECT / rel, rel).status == "unchanged"


def test_init_writes_formatted_files(tmp_path: Path, runner: CliRunner) -> None:
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    code, out = run(runner, tmp_path, "fmt", "--check")
    assert code == 0, out
    assert out == f"{len(REFERENCE)} files already formatted.\n"


def _layout_noise(text: str, draw: st.DrawFn) -> str:
    """`text` with trailing blanks, more blank lines where it has one and at both ends, and
    the blank lines between top-level items gone: nowhere inside a value."""
    values = yamledit._value_lines(text)
    items = isinstance(yamlio.loads(text), list)
    out = [""] * draw(st.integers(0, 2))
    lines = text.split("\n")[:-1]
    for i, line in enumerate(lines):
        inside = i in values or i + 1 in values
        if not inside and line == "":
            if items and lines[i + 1][:1] in ("-", "#") and draw(st.booleans()):
                continue
            out += [""] * draw(st.integers(0, 2))
        out.append(line + ("" if inside else " " * draw(st.integers(0, 3))))
    return "\n".join(out) + "\n" * draw(st.integers(0, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rel=st.sampled_from(REFERENCE), data=st.data())
def test_layout_noise_formats_back_to_the_reference(rel: str, data: st.DataObject) -> None:
    text = (PROJECT / rel).read_text()
    noisy = _layout_noise(text, data.draw)
    assert yamlio.loads(noisy) == yamlio.loads(text)
    assert yamledit.formatted(noisy) == text


def _indented_items(text: str) -> str:
    """A file whose top-level list items have their keys at column 4 (`-   id: a`)."""
    return "".join(
        "-   " + line[2:] if line.startswith("- ") else ("  " + line if line[:1] == " " else line)
        for line in text.splitlines(keepends=True)
    )


@pytest.mark.parametrize("rel", [rel for rel in REFERENCE if "/rules/" in rel or "/tests/" in rel])
def test_items_indented_otherwise_format_back_to_the_reference(rel: str) -> None:
    text = (PROJECT / rel).read_text()
    indented = _indented_items(text)
    assert indented != text
    assert yamlio.loads(indented) == yamlio.loads(text)
    assert yamledit.formatted(indented) == text


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
    | st.sampled_from(["#x", "a: b", "- x", "'q'", '"d"', "1:1", "0e5", "NO", "", " s "])
)
DATA = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.lists(DATA, min_size=1, max_size=4),
        st.dictionaries(st.text(max_size=6), DATA, min_size=1, max_size=4),
    ),
    flow=st.sampled_from([None, True, False]),
    indent=st.integers(2, 6),
    width=st.integers(20, 120),
)
def test_any_document_keeps_its_data_and_settles(
    data: object, flow: bool | None, indent: int, width: int
) -> None:
    """Whatever the layout PyYAML gives a document, formatting keeps its data and formatting
    again changes nothing; `fmt` checks both before it writes, so none of these is refused."""
    import yaml

    text = yaml.safe_dump(
        data,
        default_flow_style=flow,
        indent=indent,
        width=width,
        allow_unicode=True,
        sort_keys=False,
    )
    try:
        loaded = yamlio.loads(text)
    except yamlio.YamlError:
        return  # not a document modctl reads (a number too large, say)
    done = formatted("x.yaml", text, loaded)
    assert done.status != "refused", done.problem


def test_check_names_each_file_that_would_change_and_writes_nothing(
    reference_repo: Path, runner: CliRunner
) -> None:
    price = "strategies/ipr-counterfeit/rules/price.yaml"
    bundle = "strategies/ipr-counterfeit/bundle.yaml"
    write_files(
        reference_repo,
        {
            price: (reference_repo / price).read_text().replace("\n\n- id", "\n- id"),
            bundle: (reference_repo / bundle).read_text() + "\n\n",
        },
    )
    before = snapshot(reference_repo)
    code, out = run(runner, reference_repo, "fmt", "--check")
    assert code == 1, out
    assert out.splitlines() == [
        f"would reformat {bundle}",
        f"would reformat {price}",
        f"2 files would be reformatted, {len(REFERENCE) - 2} files already formatted.",
    ]
    assert snapshot(reference_repo) == before


def test_check_diff_shows_the_change(reference_repo: Path, runner: CliRunner) -> None:
    bundle = reference_repo / "strategies/ipr-counterfeit/bundle.yaml"
    bundle.write_text(
        bundle.read_text().replace("tags: [ipr, counterfeit]", "tags: [ipr,counterfeit]")
    )
    code, out = run(runner, reference_repo, "fmt", "--check", "--diff", str(bundle))
    assert code == 1, out
    assert "-tags: [ipr,counterfeit]\n+tags: [ipr, counterfeit]\n" in out
    assert "+++ b/" in out


def test_diff_alone_shows_the_change_and_writes_nothing(
    reference_repo: Path, runner: CliRunner
) -> None:
    bundle = reference_repo / "strategies/ipr-counterfeit/bundle.yaml"
    bundle.write_text(
        bundle.read_text().replace("tags: [ipr, counterfeit]", "tags: [ipr,counterfeit]")
    )
    before = snapshot(reference_repo)
    code, out = run(runner, reference_repo, "fmt", "--diff", str(bundle))
    assert code == 0, out
    assert out.startswith(f"would reformat {bundle}\n")
    assert "-tags: [ipr,counterfeit]\n+tags: [ipr, counterfeit]\n" in out
    assert out.endswith("1 file would be reformatted, 0 files already formatted.\n")
    assert snapshot(reference_repo) == before


def test_fmt_rewrites_in_place_keeping_comments_mode_and_line_ends(
    tmp_path: Path, runner: CliRunner
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"\xef\xbb\xbf# header\r\n-   id: a   # first\r\n    action: warn\r\n")
    path.chmod(0o640)
    result = runner.invoke(app, ["fmt", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"reformatted {path}\n1 file reformatted, 0 files left unchanged.\n"
    # The comment at the end of the line keeps its column.
    assert path.read_bytes() == b"\xef\xbb\xbf# header\r\n- id: a     # first\r\n  action: warn\r\n"
    assert path.stat().st_mode & 0o777 == 0o640
    again = runner.invoke(app, ["fmt", "--check", str(path)])
    assert again.exit_code == 0, again.output


def test_a_comment_fmt_cannot_keep_leaves_the_file_as_it_is(
    tmp_path: Path, runner: CliRunner
) -> None:
    path = tmp_path / "list.yaml"
    text = "items: [a,  # the first\n  b]\nowner:   x\n"
    path.write_text(text)
    result = runner.invoke(app, ["fmt", str(path)])
    assert result.exit_code == 4, result.output
    assert result.output.splitlines()[0] == (
        f"{path}: formatting would lose the comment '# the first' (comments inside [...] or "
        "{...}, and some beside items written that way, cannot be laid out: move it, or lay out "
        "the file by hand); left as is"
    )
    assert path.read_text() == text


def test_a_file_that_is_not_strict_yaml_is_named_with_where(
    tmp_path: Path, runner: CliRunner
) -> None:
    write_files(tmp_path, {"a.yaml": "a: 1\na: 2\n", "b.yaml": "b:   1\n"})
    result = runner.invoke(app, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"{tmp_path / 'a.yaml'}:2:1: error Y002 duplicate key 'a'",
        f"would reformat {tmp_path / 'b.yaml'}",
        "1 file would be reformatted, 0 files already formatted, 1 file could not be formatted.",
    ]


def test_a_comment_the_yaml_library_would_drop_leaves_the_file_as_it_is(
    tmp_path: Path, runner: CliRunner
) -> None:
    """ruamel.yaml drops a comment line above a flow-style item with a comment at its end."""
    path = tmp_path / "rules.yaml"
    text = "- when:\n    all:\n      - {a: 1}\n      # why b\n      - {b: 2}  # b\n"
    path.write_text(text)
    result = runner.invoke(app, ["fmt", "--check", str(path)])
    assert result.exit_code == 4, result.output
    assert "formatting would lose the comment '# why b'" in result.output
    assert path.read_text() == text


def test_a_layout_the_yaml_library_cannot_read_back_leaves_the_file_as_it_is(
    tmp_path: Path, runner: CliRunner
) -> None:
    """ruamel.yaml writes `- any:   - b` after `all:  # c` and `- {a: 1}  # d`."""
    path = tmp_path / "rules.yaml"
    text = "- when:\n    all:  # c\n      - {a: 1}  # d\n      - any:\n          - b\n"
    path.write_text(text)
    result = runner.invoke(app, ["fmt", str(path)])
    assert result.exit_code == 4, result.output
    assert result.output.splitlines()[0] == (
        f"{path}: the YAML library fmt uses cannot lay out this file (ScannerError: sequence "
        "entries are not allowed here); a comment at the end of a line may be the cause: move "
        "it, or lay out the file by hand; left as is"
    )
    assert path.read_text() == text


def test_a_read_only_file_is_refused(tmp_path: Path, runner: CliRunner) -> None:
    path = write_files(tmp_path, {"a.yaml": "a:   1\n"}) / "a.yaml"
    path.chmod(0o444)
    result = runner.invoke(app, ["fmt", str(path)])
    assert result.exit_code == 4, result.output
    assert f"{path} is read-only; make it writable and run modctl fmt again" in result.output
    assert path.read_text() == "a:   1\n"


def test_json_output(tmp_path: Path, runner: CliRunner) -> None:
    write_files(tmp_path, {"a.yaml": "a:   1\n", "b.yaml": "b: 1\n"})
    result = runner.invoke(app, ["fmt", "--check", "-o", "json", str(tmp_path)])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["changed"] == 1
    assert report["written"] == 0
    assert report["unchanged"] == 1
    assert [(f["path"].rsplit("/", 1)[1], f["status"]) for f in report["files"]] == [
        ("a.yaml", "changed"),
        ("b.yaml", "unchanged"),
    ]


def test_folders_are_searched_for_yaml_files_only(tmp_path: Path) -> None:
    write_files(
        tmp_path, {"a.yaml": "a: 1\n", "sub/b.yml": "b: 1\n", "c.txt": "x", ".git/d.yaml": "d: 1\n"}
    )
    found = [shown for _path, shown in targets(None, [tmp_path])]
    assert found == [(tmp_path / "a.yaml").as_posix(), (tmp_path / "sub/b.yml").as_posix()]


def test_a_missing_path_is_a_usage_error(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["fmt", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.output == f"modctl: error: {tmp_path / 'nope.yaml'}: no such file or folder\n"


def test_check_mode_writes_nothing_even_when_formatting_is_possible(tmp_path: Path) -> None:
    path = write_files(tmp_path, {"a.yaml": "a:    1\n"}) / "a.yaml"
    result = fmt([(path, "a.yaml")], check=True)
    assert [f.status for f in result.files] == ["changed"]
    assert path.read_text() == "a:    1\n"
