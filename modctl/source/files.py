"""Reading the selected files: strict YAML, schema checks, a content-hash cache, and worker
processes when there is much to parse."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from modctl import __version__, yamlio
from modctl.errors import UsageError
from modctl.findings import Finding
from modctl.lint import schema
from modctl.lint.catalogue import finding
from modctl.model import Origin
from modctl.source.repo import SourceFile, inside

CACHE_DIR = ".modctl-cache"
PARALLEL_MIN_BYTES = 2 * 1024 * 1024


@dataclass
class Loaded:
    """One file as read: `data` is None until parsed, and when it could not be parsed."""

    source: SourceFile
    raw: bytes
    data: Any = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.findings

    @cached_property
    def digest(self) -> str:
        """Content hash: the cache key."""
        content = self.source.kind.encode() + b"\0" + self.raw
        return hashlib.blake2b(content, digest_size=20).hexdigest()


def lines(root: Path, origins: Iterable[Origin]) -> dict[Origin, int]:
    """The line where each origin is written (1 when its file can no longer be read)."""
    maps: dict[str, yamlio.SourceMap | None] = {}
    found = {}
    for origin in origins:
        if origin.path not in maps:
            try:
                maps[origin.path] = yamlio.SourceMap(yamlio.read_text(inside(root, origin.path)))
            except (yamlio.YamlError, UsageError):
                maps[origin.path] = None
        source = maps[origin.path]
        found[origin] = source.position(origin.pointer)[0] if source is not None else 1
    return found


def read_all(root: Path, files: Iterable[SourceFile]) -> dict[str, Loaded]:
    """The bytes of every file, keyed by repository path; unreadable files carry a finding."""
    return {source.rel: _read(root, source) for source in files}


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


def parse_all(loaded: dict[str, Loaded], cache: Cache | None, jobs: int | None = None) -> None:
    """Parse and schema-check every readable file, from the cache where it has them."""
    todo = []
    for item in loaded.values():
        if item.findings:
            continue
        hit = cache.parsed(item) if cache else None
        if hit is not None:
            item.data = hit
        else:
            todo.append(item)
    for item, (data, found) in zip(todo, _parse_many(todo, jobs), strict=True):
        item.data, item.findings = data, found


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
    sizes = [0] * len(batches)
    for index in sorted(range(len(items)), key=lambda i: -len(items[i].raw)):
        lightest = sizes.index(min(sizes))
        batches[lightest].append(index)
        sizes[lightest] += len(items[index].raw)
    from concurrent.futures import ProcessPoolExecutor

    results: list[tuple[Any, list[Finding]]] = [(None, [])] * len(items)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        payloads = [[(items[i].source, items[i].raw) for i in batch] for batch in batches]
        for batch, parsed in zip(batches, pool.map(_parse_batch, payloads), strict=True):
            for index, result in zip(batch, parsed, strict=True):
                results[index] = result
    return results


class Cache:
    """Parsed documents and whole reports of clean runs, keyed by content hash, under
    `<repo>/.modctl-cache`. Entries are JSON, never pickle, so a cache folder committed by
    someone else cannot run code; unreadable entries are ignored.
    """

    def __init__(self, root: Path) -> None:
        from modctl import schemas

        self.base = root / CACHE_DIR
        self.folder = self.base / f"v{__version__}-{schemas.fingerprint()}"
        self.used: set[str] = set()
        self.writable = True

    @staticmethod
    def run_key(loaded: dict[str, Loaded], extra: Iterable[str]) -> str:
        digest = hashlib.blake2b(digest_size=20)
        for rel in sorted(loaded):
            digest.update(f"{rel}\0{loaded[rel].digest}\0".encode())
        for part in extra:
            digest.update(f"{part}\0".encode())
        return "run-" + digest.hexdigest()

    def parsed(self, item: Loaded) -> Any:
        return self._get(item.digest)

    def keep(self, item: Loaded, data: Any) -> None:
        """Keep one schema-valid document, parsed."""
        self._put(item.digest, data)

    def report(self, key: str) -> list[Finding] | None:
        found = self._get(key)
        if not isinstance(found, list):
            return None
        try:
            return [Finding.from_dict(entry) for entry in found]
        except (KeyError, TypeError, ValueError):
            return None

    def remember(
        self, loaded: dict[str, Loaded], key: str, findings: list[Finding], *, prune: bool
    ) -> None:
        """Keep a clean run: every parsed file and the report. Called only when nothing failed."""
        for item in loaded.values():
            if item.ok:
                self._put(item.digest, item.data)
        self._put(key, [f.to_dict() for f in findings])
        if prune and self.folder.is_dir():
            for entry in self.folder.glob("*.json"):
                if entry.stem not in self.used:
                    entry.unlink(missing_ok=True)

    def _get(self, key: str) -> Any:
        try:
            return json.loads((self.folder / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            return None

    def _put(self, key: str, data: Any) -> None:
        self.used.add(key)
        target = self.folder / f"{key}.json"
        if not self.writable or target.exists():
            return
        try:
            if not self.folder.is_dir():
                self._create()
            tmp = self.folder / f".{key}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
            os.replace(tmp, target)
        except OSError as exc:
            self.writable = False
            import logging

            logging.getLogger(__name__).debug("cache disabled: %s", exc)

    def _create(self) -> None:
        self.base.mkdir(exist_ok=True)
        (self.base / ".gitignore").write_text("# created by modctl\n*\n")
        (self.base / "CACHEDIR.TAG").write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n# modctl cache\n"
        )
        for old in self.base.glob("v*"):
            shutil.rmtree(old, ignore_errors=True)
        self.folder.mkdir()
