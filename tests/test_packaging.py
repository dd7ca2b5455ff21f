"""What `pip install modctl` brings is enough: every module the package imports is in the
standard library, in modctl itself, or in a distribution `pyproject.toml` declares."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions

from tests.conftest import PROJECT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    """The distributions an install of modctl may bring: its dependencies and its extras for
    users (not the `test` extra, which only the project's own tests have)."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    extras = [
        requirement
        for extra, requirements in project["optional-dependencies"].items()
        if extra != "test"
        for requirement in requirements
    ]
    return {
        canonical(re.split(r"[ <>=!~;\[]", requirement, maxsplit=1)[0])
        for requirement in [*project["dependencies"], *extras]
    }


def imported_top_levels() -> dict[str, str]:
    """Each top-level module the package imports, with one file that imports it."""
    found: dict[str, str] = {}
    for path in sorted((PROJECT / "modctl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(PROJECT)))
    return found


def test_every_module_the_package_imports_comes_with_its_install() -> None:
    distributions = packages_distributions()
    allowed = declared()
    missing = {}
    for module, where in imported_top_levels().items():
        if module == "modctl" or module in sys.stdlib_module_names:
            continue
        providers = {canonical(name) for name in distributions.get(module, [module])}
        if not providers & allowed:
            missing[module] = where
    assert missing == {}


def test_the_source_distribution_holds_what_the_tests_read() -> None:
    """The sdist ships tests/ so that they run from it: every top-level file or folder of the
    project they read comes with them (pyproject.toml always does; the git history need not:
    the test that needs it skips)."""
    sdist = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["sdist"]["include"]
    read = {
        name
        for path in (PROJECT / "tests").glob("*.py")
        for name in re.findall(r'PROJECT / "([\w.-]+)"', path.read_text())
    }
    assert read - set(sdist) - {"pyproject.toml", ".git"} == set()
