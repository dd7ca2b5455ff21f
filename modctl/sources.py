"""Reading the selected files: strict YAML, schema checks, a content-hash cache, and worker
processes when there is much to parse."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modctl import __version__, yamlio
from modctl.catalogue import finding
from modctl.errors import UsageError
from modctl.findings import Finding
from modctl.lint import schema
from modctl.repo import SourceFile, inside

log = logging.getLogger(__name__)

CACHE_DIR = ".modctl-cache"
PARALLEL_MIN_BYTES = 2 * 1024 * 1024


@dataclass
class Loaded:
    """One file as read: `data` is None when it could not be parsed."""

    source: SourceFile
    raw: bytes
    data: Any = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.findings


def load_all(
    root: Path, files: Iterable[SourceFile], *, use_cache: bool = True, jobs: int | None = None
) -> dict[str, Loaded]:
    """Read, parse and schema-check `files`; results keyed by their repository path."""
    cache = _Cache(root) if use_cache else None
    loaded: dict[str, Loaded] = {}
    todo: list[Loaded] = []
    for source in files:
        item = _read(root, source)
        loaded[source.rel] = item
        if item.findings:
            continue
        hit = cache.get(item) if cache else None
        if hit is not None:
            item.data = hit
        else:
            todo.append(item)
    for item, (data, found) in zip(todo, _parse_many(todo, jobs), strict=True):
        item.data, item.findings = data, found
        if cache is not None and item.ok:
            cache.put(item)
    if cache is not None:
        cache.finish()
    return loaded


def _read(root: Path, source: SourceFile) -> Loaded:
    try:
        path = inside(root, source.rel)
    except UsageError as exc:
        return Loaded(source, b"", findings=[finding("Y011", source.rel, exc.message)])
    try:
        size = path.stat().st_size
        if size > yamlio.MAX_FILE_BYTES:
            limit = yamlio.MAX_FILE_BYTES // 1048576
            message = f"file is {size / 1048576:.1f} MiB; the limit is {limit} MiB"
            return Loaded(source, b"", findings=[finding("Y004", source.rel, message)])
        return Loaded(source, path.read_bytes())
    except OSError as exc:
        message = f"cannot read file: {exc.strerror or exc}"
        return Loaded(source, b"", findings=[finding("Y011", source.rel, message)])


def parse(source: SourceFile, raw: bytes) -> tuple[Any, list[Finding]]:
    """Strict YAML, then the JSON Schema for the file's kind."""
    try:
        data = yamlio.loads(yamlio.decode(raw))
    except yamlio.YamlError as exc:
        located = finding(exc.code, source.rel, exc.message).located(exc.line, exc.column)
        return None, [located]
    return data, schema.check(source.kind, source.rel, data)


def _parse_batch(batch: list[tuple[SourceFile, bytes]]) -> list[tuple[Any, list[Finding]]]:
    return [parse(source, raw) for source, raw in batch]


def _parse_many(items: list[Loaded], jobs: int | None) -> list[tuple[Any, list[Finding]]]:
    total = sum(len(item.raw) for item in items)
    workers = min(jobs or os.cpu_count() or 1, len(items), 8)
    if workers < 2 or total < PARALLEL_MIN_BYTES:
        return [parse(item.source, item.raw) for item in items]
    # Balance batches by size so each worker parses about the same number of bytes.
    batches: list[list[int]] = [[] for _ in range(workers * 2)]
    loads = [0] * len(batches)
    for index in sorted(range(len(items)), key=lambda i: -len(items[i].raw)):
        lightest = loads.index(min(loads))
        batches[lightest].append(index)
        loads[lightest] += len(items[index].raw)
    results: list[tuple[Any, list[Finding]]] = [(None, [])] * len(items)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        payloads = [[(items[i].source, items[i].raw) for i in batch] for batch in batches]
        for batch, parsed in zip(batches, pool.map(_parse_batch, payloads), strict=True):
            for index, result in zip(batch, parsed, strict=True):
                results[index] = result
    return results


class _Cache:
    """Parsed documents of clean files, keyed by content hash, under `<repo>/.modctl-cache`.

    Entries are JSON, never pickle, so a cache folder committed by someone else cannot run code.
    """

    def __init__(self, root: Path) -> None:
        from modctl import schemas

        self.base = root / CACHE_DIR
        self.folder = self.base / f"parsed-{__version__}-{schemas.fingerprint()}"
        self.used: set[str] = set()
        self.writable = True

    def _key(self, item: Loaded) -> str:
        digest = hashlib.blake2b(item.source.kind.encode() + b"\0" + item.raw, digest_size=20)
        return digest.hexdigest()

    def get(self, item: Loaded) -> Any:
        key = self._key(item)
        self.used.add(key)
        try:
            return json.loads((self.folder / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            return None

    def put(self, item: Loaded) -> None:
        if not self.writable:
            return
        key = self._key(item)
        try:
            if not self.folder.is_dir():
                self._create()
            tmp = self.folder / f".{key}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(item.data, ensure_ascii=False, separators=(",", ":")))
            os.replace(tmp, self.folder / f"{key}.json")
        except OSError as exc:
            self.writable = False
            log.debug("parse cache disabled: %s", exc)

    def _create(self) -> None:
        self.base.mkdir(exist_ok=True)
        (self.base / ".gitignore").write_text("# created by modctl\n*\n")
        (self.base / "CACHEDIR.TAG").write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n# modctl parse cache\n"
        )
        for old in self.base.glob("parsed-*"):
            shutil.rmtree(old, ignore_errors=True)
        self.folder.mkdir()

    def finish(self) -> None:
        """Forget entries of files that changed since; cheap, and keeps the folder small."""
        if not self.folder.is_dir() or len(self.used) < 1:
            return
        for entry in self.folder.glob("*.json"):
            if entry.stem not in self.used and _older_than_a_day(entry):
                entry.unlink(missing_ok=True)


def _older_than_a_day(path: Path) -> bool:
    import time

    try:
        return time.time() - path.stat().st_mtime > 86400
    except OSError:
        return False
