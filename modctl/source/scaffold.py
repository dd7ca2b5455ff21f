"""`modctl init`: a ready strategy repository from the reference bundles and playbooks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from modctl.errors import ModctlError, RefusedError, UsageError
from modctl.gitio import Git

PRE_COMMIT_CONFIG = """\
# Validate strategies and check their layout before every commit:
# `pip install pre-commit && pre-commit install`. The hooks run the modctl installed on this
# machine; docs/ci.md shows how to pin modctl's own hooks (modctl-validate, modctl-fmt) from
# its repository instead. `modctl fmt` lays out the files modctl-fmt names.
repos:
  - repo: local
    hooks:
      - id: modctl-validate
        name: modctl validate
        entry: modctl validate
        language: system
        files: ^(modctl\\.ya?ml|strategies/.*\\.ya?ml|playbooks/.*\\.ya?ml)$
        require_serial: true
      - id: modctl-fmt
        name: modctl fmt
        entry: modctl fmt --check
        language: system
        files: ^(modctl\\.ya?ml|strategies/.*\\.ya?ml|playbooks/.*\\.ya?ml)$
"""


@dataclass
class InitResult:
    root: Path
    written: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    created_repo: bool = False
    commit: str | None = None
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "files": self.written,
            "overwritten": self.overwritten,
            "created_repo": self.created_repo,
            "commit": self.commit,
            "dry_run": self.dry_run,
        }


def reference_root() -> Path:
    """The reference strategy repository: packaged in the wheel, or this source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_reference", package.parent):
        if (candidate / "modctl.yaml").is_file() and (candidate / "strategies").is_dir():
            return candidate
    raise ModctlError(
        "the reference strategies are missing from this installation; reinstall modctl"
    )


def plan() -> dict[str, bytes]:
    """Repository path -> content of every file `init` writes."""
    source = reference_root()
    files = {"modctl.yaml": (source / "modctl.yaml").read_bytes()}
    for folder in ("strategies", "playbooks"):
        for path in sorted((source / folder).rglob("*")):
            if path.is_file() and path.suffix in (".yaml", ".yml"):
                files[path.relative_to(source).as_posix()] = path.read_bytes()
    files[".pre-commit-config.yaml"] = PRE_COMMIT_CONFIG.encode()
    return files


def init(target: Path, *, force: bool = False, dry_run: bool = False) -> InitResult:
    """Write the reference repository into `target` and commit it; with `dry_run`, only say
    what would happen."""
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise ModctlError(f"{target} exists and is not a folder")
    files = plan()
    for rel in files:
        _check_inside(target, rel)
    existing = sorted(rel for rel in files if (target / rel).exists())
    if existing and not force:
        shown = ", ".join(existing[:3]) + (
            f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        )
        raise RefusedError(
            f"{len(existing)} file(s) already exist in {target}: {shown}; "
            "pass --force to overwrite them"
        )
    nearest = next(p for p in (target, *target.parents) if p.exists())
    top = Git(nearest).toplevel()
    result = InitResult(target, overwritten=existing, created_repo=top is None, dry_run=dry_run)
    if dry_run:
        result.written = list(files)
        return result
    Git(nearest).check_identity()
    for rel, content in files.items():
        path = target / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        except OSError as exc:
            raise UsageError(
                f"cannot write {path}: {exc.strerror}; {len(result.written)} file(s) were "
                "written before it"
            ) from None
        result.written.append(rel)
    if top is None:
        Git(target).init()
        top = target
    work_tree = top.resolve()
    paths = [(target / rel).resolve().relative_to(work_tree).as_posix() for rel in result.written]
    result.commit = Git(work_tree).commit_paths(
        paths, "Create strategy repository with modctl init"
    )
    return result


def _check_inside(target: Path, rel: str) -> None:
    """Refuse (UsageError) when writing `rel` under `target` would follow a symbolic link out,
    or through a link that leads nowhere."""
    path = target
    for part in Path(rel).parts[:-1]:
        path = path / part
        if path.is_symlink() and not path.exists():
            raise UsageError(
                f"{path} is a link to {os.readlink(path)}, which does not exist; modctl init "
                "writes only through folders that exist: remove the link or choose another folder"
            )
    if (target / rel).resolve().is_relative_to(target):
        return
    path = target
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink() and not path.resolve().is_relative_to(target):
            break
    raise UsageError(
        f"{path} leads outside {target} (to {path.resolve()}); modctl init writes only inside "
        "the repository: remove the link or choose another folder"
    )
