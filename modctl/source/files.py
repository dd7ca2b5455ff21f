"""Reading the selected files: strict YAML, schema checks, a content-hash cache, and worker
processes when there is much to parse."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
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
        """The content hash of the source bytes."""
        return hashlib.blake2b(self.raw, digest_size=20).hexdigest()


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
    return {source.rel: read_source(root, source) for source in files}


def read_source(root: Path, source: SourceFile) -> Loaded:
    """The bytes of one file, or a finding saying why they cannot be read."""
    try:
        path = inside(root, source.rel)
    except UsageError as exc:
        return Loaded(source, b"", findings=[finding("Y011", source.rel, exc.message)])
    try:
        size = path.stat().st_size
        if size > yamlio.MAX_FILE_BYTES:
            return oversize(source, size)
        return Loaded(source, path.read_bytes())
    except OSError as exc:
        message = f"cannot read file: {exc.strerror or exc}"
        return Loaded(source, b"", findings=[finding("Y011", source.rel, message)])


def oversize(source: SourceFile, size: int) -> Loaded:
    """A file over the size limit, left unread, with its finding."""
    return Loaded(source, b"", findings=[finding("Y004", source.rel, yamlio.too_big(size))])


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
    """Parsed documents and whole reports of clean runs, in the repository's git directory
    (`<git dir>/modctl/cache`), where no commit can bring them.

    An entry is found by a key made of modctl's version, the schemas, the file kind and the
    content hash of the source, and it records each of them: an entry that does not match what is
    being read in every part (copied, forged, from another version, cut short) is ignored, and
    overwritten by the next clean run. Entries are JSON, never pickle, and are written to a
    temporary file first, so a killed run never leaves half an entry under an entry's name.
    """

    def __init__(self, folder: Path) -> None:
        from modctl import schemas

        self.folder = folder
        self.made_by = {"modctl": __version__, "schemas": schemas.fingerprint()}
        self.used: set[str] = set()
        self.trusted: set[str] = set()
        self.writable = True

    @classmethod
    def of(cls, root: Path) -> Cache | None:
        """The cache of the repository holding `root`; None outside git: a plain folder runs
        without a cache rather than write into the files it checks."""
        from modctl.gitio import git_dir

        found = git_dir(root)
        return None if found is None else cls(found / "modctl" / "cache")

    def key(self, *parts: str) -> str:
        digest = hashlib.blake2b(digest_size=20)
        for part in (self.made_by["modctl"], self.made_by["schemas"], *parts):
            digest.update(f"{part}\0".encode())
        return digest.hexdigest()

    def run_key(self, loaded: dict[str, Loaded], extra: list[str]) -> str:
        sources = [part for rel in sorted(loaded) for part in (rel, *self._made_of(loaded[rel]))]
        return "run-" + self.key("run", str(len(loaded)), *sources, *extra)

    def parsed(self, item: Loaded) -> Any:
        return self._get(self._parsed_key(item), self._parsed_record(item))

    def keep(self, item: Loaded, data: Any) -> None:
        """Keep one schema-valid document, parsed."""
        self._put(self._parsed_key(item), self._parsed_record(item), data)

    def report(self, loaded: dict[str, Loaded], extra: list[str]) -> list[Finding] | None:
        found = self._get(self.run_key(loaded, extra), self._run_record(loaded, extra))
        if not isinstance(found, list):
            return None
        try:
            return [Finding.from_dict(entry) for entry in found]
        except (KeyError, TypeError, ValueError):
            return None

    def remember(
        self, loaded: dict[str, Loaded], extra: list[str], findings: list[Finding], *, prune: bool
    ) -> None:
        """Keep a clean run: every parsed file and the report. Called only when nothing failed."""
        for item in loaded.values():
            if item.ok:
                self.keep(item, item.data)
        record = self._run_record(loaded, extra)
        self._put(self.run_key(loaded, extra), record, [f.to_dict() for f in findings])
        if prune and self.folder.is_dir():
            for entry in self.folder.glob("*.json"):
                if entry.stem not in self.used:
                    entry.unlink(missing_ok=True)
            for left in self.folder.glob(".*.tmp"):  # from runs killed while writing
                left.unlink(missing_ok=True)

    def _parsed_key(self, item: Loaded) -> str:
        return self.key(*self._made_of(item))

    @staticmethod
    def _made_of(item: Loaded) -> list[str]:
        return [item.source.kind, item.digest]

    @staticmethod
    def _parsed_record(item: Loaded) -> dict[str, Any]:
        return {"kind": item.source.kind, "source": item.digest}

    def _run_record(self, loaded: dict[str, Loaded], extra: list[str]) -> dict[str, Any]:
        return {
            "sources": {rel: self._made_of(item) for rel, item in loaded.items()},
            "extra": extra,
        }

    def _get(self, key: str, record: dict[str, Any]) -> Any:
        try:
            entry = json.loads((self.folder / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            return None
        expected = {"key": key, **self.made_by, **record}
        if (
            not isinstance(entry, dict)
            or entry.keys() != {*expected, "data"}
            or any(entry[name] != value for name, value in expected.items())
        ):
            return None
        self.used.add(key)
        self.trusted.add(key)
        return entry["data"]

    def _put(self, key: str, record: dict[str, Any], data: Any) -> None:
        self.used.add(key)
        if not self.writable or key in self.trusted:
            return
        entry = {"key": key, **self.made_by, **record, "data": data}
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            if not self.folder.is_dir():
                self._create()
            handle, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.folder)
            with os.fdopen(handle, "wb") as out:
                out.write(text)
            os.replace(tmp, self.folder / f"{key}.json")
            self.trusted.add(key)
        except OSError as exc:
            self.writable = False
            import logging

            logging.getLogger(__name__).debug("cache disabled: %s", exc)

    def _create(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "CACHEDIR.TAG").write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n# modctl cache\n"
        )
