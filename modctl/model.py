"""The strategy repository as typed objects, built from schema-valid documents. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modctl.findings import Pointer

DEFAULT_PRECEDENCE = ("allow", "takedown", "limit", "review", "warn")
DEFAULT_STATE_BRANCH = "modctl-state"


@dataclass(frozen=True)
class Origin:
    """Where something was written: a repository path and the pointer inside its document."""

    path: str
    pointer: Pointer = ()


@dataclass(frozen=True)
class Wave:
    name: str
    regions: tuple[str, ...]
    steps: tuple[int, ...]
    origin: Origin


@dataclass(frozen=True)
class Config:
    regions: tuple[str, ...]
    fields: dict[str, str]
    waves: tuple[Wave, ...] = ()
    min_bake: str | None = None
    rollout_gates: tuple[str, ...] = ()
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()
    metrics_source: dict[str, Any] = field(default_factory=dict)  # file, or command and timeout
    max_hotpatch_ttl: str | None = None
    state_branch: str = DEFAULT_STATE_BRANCH
    remote: str | None = None
    path: str = "modctl.yaml"
    blob: str | None = None  # the git blob it was read from, when read from git

    @classmethod
    def from_data(cls, data: dict[str, Any], path: str = "modctl.yaml") -> Config:
        rollout = data.get("rollout", {})
        waves = tuple(
            Wave(
                w["name"],
                tuple(w["regions"]),
                tuple(w["steps"]),
                Origin(path, ("rollout", "waves", i)),
            )
            for i, w in enumerate(rollout.get("waves", []))
        )
        state = data.get("state", {})
        return cls(
            regions=tuple(data["regions"]),
            fields=dict(data["fields"]),
            waves=waves,
            min_bake=rollout.get("min_bake"),
            rollout_gates=tuple(rollout.get("gates", [])),
            gates=dict(data.get("gates", {})),
            metrics=tuple(data.get("metrics", {}).get("names", [])),
            metrics_source=dict(data.get("metrics", {}).get("source") or {}),
            max_hotpatch_ttl=data.get("hotpatch", {}).get("max_ttl"),
            state_branch=state.get("branch", DEFAULT_STATE_BRANCH),
            remote=state.get("remote"),
            path=path,
        )


@dataclass(frozen=True)
class Rule:
    id: str
    action: str
    when: dict[str, Any]
    origin: Origin
    params: dict[str, Any] = field(default_factory=dict)
    regions: tuple[str, ...] | None = None
    mode: str = "enforce"
    severity: str | None = None
    queue: str | None = None
    description: str = ""

    @classmethod
    def from_data(cls, data: dict[str, Any], origin: Origin) -> Rule:
        regions = data.get("regions")
        return cls(
            id=data["id"],
            action=data["action"],
            when=data["when"],
            origin=origin,
            params=dict(data.get("params", {})),
            regions=tuple(regions) if regions is not None else None,
            mode=data.get("mode", "enforce"),
            severity=data.get("severity"),
            queue=data.get("queue"),
            description=data.get("description", ""),
        )


@dataclass(frozen=True)
class ListDef:
    name: str
    kind: str  # keywords | ids | hashes | map
    origin: Origin
    items: tuple[Any, ...] = ()
    entries: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any], origin: Origin) -> ListDef:
        return cls(
            name=data["name"],
            kind=data["kind"],
            origin=origin,
            items=tuple(data.get("items", ())),
            entries=dict(data.get("entries", {})),
        )


@dataclass(frozen=True)
class TestCase:
    name: str
    region: str
    item: dict[str, Any]
    action: str
    origin: Origin
    rules: tuple[str, ...] = ()
    not_rules: tuple[str, ...] = ()

    @classmethod
    def from_data(cls, data: dict[str, Any], origin: Origin) -> TestCase:
        expect = data["expect"]
        return cls(
            name=data["name"],
            region=data["region"],
            item=data["item"],
            action=expect["action"],
            origin=origin,
            rules=tuple(expect.get("rules", ())),
            not_rules=tuple(expect.get("not_rules", ())),
        )


@dataclass
class Bundle:
    name: str
    origin: Origin
    regions: tuple[str, ...] = ()
    declares_regions: bool = False
    precedence: tuple[str, ...] = DEFAULT_PRECEDENCE
    description: str = ""
    owner: str | None = None
    rules: list[Rule] = field(default_factory=list)
    lists: list[ListDef] = field(default_factory=list)
    tests: list[TestCase] = field(default_factory=list)

    def list_named(self, name: str) -> ListDef | None:
        return next((lst for lst in self.lists if lst.name == name), None)


def build_bundle(
    name: str,
    config: Config,
    meta: tuple[str, dict[str, Any]] | None,
    rule_files: list[tuple[str, list[Any]]],
    list_files: list[tuple[str, dict[str, Any]]],
    test_files: list[tuple[str, list[Any]]],
) -> Bundle:
    """A bundle from its schema-valid documents, as (repository path, data) pairs."""
    path, data = meta if meta else (f"strategies/{name}/bundle.yaml", {})
    declared = data.get("regions")
    bundle = Bundle(
        name=name,
        origin=Origin(path),
        regions=tuple(declared) if declared else config.regions,
        declares_regions=declared is not None,
        precedence=tuple(data.get("precedence", DEFAULT_PRECEDENCE)),
        description=data.get("description", ""),
        owner=data.get("owner"),
    )
    for rel, rules in rule_files:
        bundle.rules += [Rule.from_data(r, Origin(rel, (i,))) for i, r in enumerate(rules)]
    for rel, lst in list_files:
        bundle.lists.append(ListDef.from_data(lst, Origin(rel)))
    for rel, cases in test_files:
        bundle.tests += [TestCase.from_data(c, Origin(rel, (i,))) for i, c in enumerate(cases)]
    return bundle
