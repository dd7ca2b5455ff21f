from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from modctl import schemas, yamlio
from modctl.cli import app
from tests.conftest import PROJECT


@pytest.mark.parametrize("name", list(schemas.SCHEMAS))
def test_schema_passes_the_draft_2020_12_metaschema(name: str) -> None:
    schema = schemas.load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


REFERENCE_FILES = [
    ("config", PROJECT / "modctl.yaml"),
    *[("bundle", p) for p in sorted(PROJECT.glob("strategies/*/bundle.yaml"))],
    *[("rules", p) for p in sorted(PROJECT.glob("strategies/*/rules/*.yaml"))],
    *[("list", p) for p in sorted(PROJECT.glob("strategies/*/lists/*.yaml"))],
    *[("tests", p) for p in sorted(PROJECT.glob("strategies/*/tests/*.yaml"))],
    *[("playbook", p) for p in sorted(PROJECT.glob("playbooks/*.yaml"))],
]


@pytest.mark.parametrize(
    ("name", "path"), REFERENCE_FILES, ids=[str(p.relative_to(PROJECT)) for _, p in REFERENCE_FILES]
)
def test_reference_file_is_valid_for_the_python_jsonschema_too(name: str, path: Path) -> None:
    """A second, independent validator (what editors and check-jsonschema use) agrees."""
    jsonschema.Draft202012Validator(schemas.load(name)).validate(yamlio.load_file(path))


def test_schema_command_lists_every_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    for name in schemas.SCHEMAS:
        assert f"\n{name} " in result.output


def test_schema_command_prints_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema", "rules"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "rules"


def test_unknown_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema", "rule"])
    assert result.exit_code == 2
    assert "no schema named 'rule'; choose one of: config, bundle, rules" in result.output


def test_schema_list_as_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema", "-o", "json"])
    assert result.exit_code == 0
    assert [s["name"] for s in json.loads(result.output)] == list(schemas.SCHEMAS)
