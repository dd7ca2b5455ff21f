"""Validated bundles, ready for the engine: from the working tree or from a git revision."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modctl import yamlio
from modctl.errors import ChecksFailedError, UnknownBundleError, UsageError, suggest
from modctl.gitio import repository
from modctl.model import Bundle, Config
from modctl.source.files import Cache, Loaded, oversize, parse_all, read_all
from modctl.source.repo import (
    CONFIG_NAME,
    Selection,
    SourceFile,
    add_bundle_files,
    bundle_names,
    select,
)
from modctl.source.validate import analyse


@dataclass
class Workspace:
    root: Path
    config: Config
    bundles: dict[str, Bundle]
    rev: str | None = None

    def bundle(self, name: str) -> Bundle:
        return self.bundles[name]


def load(root: Path, names: list[str] | None = None, *, rev: str | None = None) -> Workspace:
    """The config and the named bundles (all when None), refusing any with validation errors."""
    if rev is None:
        known = bundle_names(root)
        wanted = names if names else known
        _check_names(wanted, known, "")
        selection = select(root, [root / "strategies" / n for n in wanted] or [root / CONFIG_NAME])
        loaded = read_all(selection.root, selection.files)
        parse_all(loaded, Cache.of(root))
    else:
        selection, loaded = _from_revision(root, names, rev)
        wanted = selection.bundles
    analysis = analyse(selection, loaded, errors_only=True)
    errors = analysis.findings
    where = f" at {rev}" if rev else ""
    if errors or analysis.config is None:
        shown = "\n".join(str(f) for f in errors[:10])
        more = f"\n... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise ChecksFailedError(
            f"validation failed{where} ({len(errors)} error{'' if len(errors) == 1 else 's'}); "
            "fix them first "
            f"(`modctl validate` lists them all):\n{shown}{more}"
        )
    return Workspace(root, analysis.config, {n: analysis.bundles[n] for n in wanted}, rev)


def _check_names(wanted: list[str], known: list[str], where: str) -> None:
    for name in wanted:
        if name not in known:
            listing = ", ".join(known) or "none"
            raise UnknownBundleError(
                f"no bundle named {name!r}{where}{suggest(name, known)} (bundles: {listing})"
            )


def _from_revision(
    root: Path, names: list[str] | None, rev: str
) -> tuple[Selection, dict[str, Loaded]]:
    git, prefix = repository(root, "a git revision (--rev, --baseline)")
    at_rev, too_big = git.read_tree(
        rev, [f"{prefix}{CONFIG_NAME}", f"{prefix}strategies"], max_bytes=yamlio.MAX_FILE_BYTES
    )
    files = {path[len(prefix) :]: content for path, content in at_rev.items()}
    sizes = {path[len(prefix) :]: size for path, size in too_big.items()}
    paths = [*files, *sizes]
    if CONFIG_NAME not in paths:
        raise UsageError(f"revision {rev} has no {CONFIG_NAME}")
    known = sorted(
        {
            rel.split("/")[1]
            for rel in paths
            if rel.startswith("strategies/") and rel.count("/") >= 2
        }
    )
    wanted = names if names else known
    _check_names(wanted, known, f" at {rev}")
    selection = Selection(root, [SourceFile(CONFIG_NAME, "config")])
    for name in wanted:
        add_bundle_files(
            selection, name, [rel for rel in paths if rel.startswith(f"strategies/{name}/")]
        )
    # The same reading rules as the working tree's (files.read_all): too big is not read.
    loaded = {
        s.rel: Loaded(s, files[s.rel]) if s.rel in files else oversize(s, sizes[s.rel])
        for s in selection.files
    }
    parse_all(loaded, None)
    return selection, loaded
