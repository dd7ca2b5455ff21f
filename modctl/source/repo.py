"""Finding the strategy repository and the files in it that modctl reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modctl.errors import RepoNotFoundError, UsageError

CONFIG_NAME = "modctl.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
BUNDLE_PARTS = {"rules": "rules", "lists": "list", "tests": "tests"}


@dataclass(frozen=True)
class SourceFile:
    """A file modctl reads; `rel` is its POSIX path from the repository root."""

    rel: str
    kind: str  # config | bundle | rules | list | tests | playbook
    bundle: str | None = None


@dataclass
class Selection:
    """What one validation run covers."""

    root: Path
    files: list[SourceFile] = field(default_factory=list)
    bundles: list[str] = field(default_factory=list)
    stray: list[SourceFile] = field(default_factory=list)
    whole_repo: bool = False


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds modctl.yaml."""
    start = start.resolve()
    here = start if start.is_dir() else start.parent
    looked = []
    for folder in (here, *here.parents):
        looked.append(folder)
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise RepoNotFoundError(
        f"no {CONFIG_NAME} in {here} or any folder above it (looked in {len(looked)} folders, "
        f"up to {looked[-1]}); run `modctl init` there or pass --repo"
    )


def select(root: Path, paths: list[Path]) -> Selection:
    """The files to read for `paths` (every file of the repository when there are none)."""
    root = root.resolve()
    if not paths:
        return _all(root)
    bundles: set[str] = set()
    playbooks: set[str] = set()
    everything = all_bundles = all_playbooks = False
    for raw in paths:
        path = raw.resolve()
        if not path.exists():
            raise UsageError(f"{raw}: no such file or folder")
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            raise UsageError(f"{raw} is outside the strategy repository at {root}") from None
        if not parts:
            everything = True
        elif parts == (CONFIG_NAME,):
            continue
        elif parts[0] == "strategies":
            if len(parts) == 1:
                all_bundles = True
            else:
                bundles.add(parts[1])
        elif parts[0] == "playbooks":
            if len(parts) == 1:
                all_playbooks = True
            else:
                playbooks.add("/".join(parts))
        else:
            raise UsageError(
                f"{raw} is not part of modctl.yaml, strategies/ or playbooks/; nothing to validate"
            )
    if everything:
        return _all(root)
    selection = Selection(root, [SourceFile(CONFIG_NAME, "config")])
    names = bundle_names(root) if all_bundles else sorted(bundles)
    for name in names:
        _add_bundle(selection, name)
    books = _playbook_files(root) if all_playbooks else sorted(playbooks)
    selection.files += [SourceFile(rel, "playbook") for rel in books]
    return selection


def _all(root: Path) -> Selection:
    selection = Selection(root, [SourceFile(CONFIG_NAME, "config")], whole_repo=True)
    for name in bundle_names(root):
        _add_bundle(selection, name)
    selection.files += [SourceFile(rel, "playbook") for rel in _playbook_files(root)]
    return selection


def bundle_names(root: Path) -> list[str]:
    folder = root / "strategies"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def playbook_names(root: Path) -> list[str]:
    """The names of the playbooks, from their file names under `playbooks/`."""
    return sorted(rel.removeprefix("playbooks/").rsplit(".", 1)[0] for rel in _playbook_files(root))


def _playbook_files(root: Path) -> list[str]:
    folder = root / "playbooks"
    if not folder.is_dir():
        return []
    return sorted(
        f"playbooks/{p.name}" for p in folder.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES
    )


def _add_bundle(selection: Selection, name: str) -> None:
    base = selection.root / "strategies" / name
    rels = [
        path.relative_to(selection.root).as_posix()
        for path in sorted(base.rglob("*"))
        if path.is_file()
    ]
    add_bundle_files(selection, name, rels)


def add_bundle_files(selection: Selection, name: str, rels: list[str]) -> None:
    """Sort the files of bundle `name` (repository paths) into the selection."""
    prefix = f"strategies/{name}/"
    selection.bundles.append(name)
    for rel in sorted(rels):
        if not rel.startswith(prefix) or not rel.endswith(YAML_SUFFIXES):
            continue
        parts = rel[len(prefix) :].split("/")
        if len(parts) == 1 and parts[0].rsplit(".", 1)[0] == "bundle":
            selection.files.append(SourceFile(rel, "bundle", name))
        elif len(parts) == 2 and parts[0] in BUNDLE_PARTS:
            selection.files.append(SourceFile(rel, BUNDLE_PARTS[parts[0]], name))
        elif not any(part.startswith(".") for part in parts):
            selection.stray.append(SourceFile(rel, "stray", name))


def inside(root: Path, rel: str) -> Path:
    """The absolute path of `rel`, refusing anything (a symlink, `..`) that leaves `root`."""
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise UsageError(f"{rel} points outside the repository; refusing to read it")
    return path
