"""The playbooks of a strategy repository: `playbooks/NAME.yaml` in the working tree, read
through the strict loader, the schema (from the parse cache when it has them) and the lint."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from modctl import printable, yamlio
from modctl.emergency.params import NAME
from modctl.emergency.playbook import Playbook, load
from modctl.errors import UsageError, suggest
from modctl.source.files import Cache, parse, read_source
from modctl.source.repo import YAML_SUFFIXES, SourceFile, playbook_names

FOLDER = "playbooks"


def read(root: Path, name: str, regions: Sequence[str] | None) -> Playbook:
    """The playbook `name`; UsageError when there is none, or when it does not pass its checks.
    `regions`: the regions of `modctl.yaml`."""
    if not NAME.fullmatch(name) or len(name) > 80:
        raise UsageError(
            f"{printable.shown(name)} is not a playbook name (lowercase letters, digits, . _ -); "
            "`modctl emergency list` shows them"
        )
    known = playbook_names(root)
    found = next(
        (
            f"{FOLDER}/{name}{suffix}"
            for suffix in YAML_SUFFIXES
            if (root / FOLDER / f"{name}{suffix}").is_file()
        ),
        None,
    )
    if found is None:
        raise UsageError(
            f"no playbook {name!r} in {FOLDER}/{suggest(name, known)}; "
            f"`modctl emergency list` shows them ({', '.join(known) or 'none'})"
        )
    loaded = read_source(root, SourceFile(found, "playbook"))
    if loaded.findings:
        raise UsageError(f"{found}: {loaded.findings[0].message}")
    try:
        text = yamlio.decode(loaded.raw)
    except yamlio.YamlError as exc:
        raise UsageError(f"{found}:{exc.line}:{exc.column}: {exc.code} {exc.message}") from None
    cache = Cache.of(root)
    data = cache.parsed(loaded) if cache is not None else None
    if data is None:
        data, found_now = parse(loaded.source, loaded.raw)
        if cache is not None and data is not None and not found_now:
            cache.keep(loaded, data)
        if found_now:
            data = None  # load() says what is wrong, located
    return load(text, found, regions, data)
