"""`modctl validate`: read the selected files, check schemas and semantics, locate findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modctl import yamlio
from modctl.findings import Finding, Report, Severity
from modctl.lint import bundle as bundle_lint
from modctl.lint import config as config_lint
from modctl.lint import logic
from modctl.lint.catalogue import finding
from modctl.model import DEFAULT_STATE_BRANCH, Bundle, Config, build_bundle
from modctl.source.files import Cache, Loaded, parse_all, read_all
from modctl.source.repo import CONFIG_NAME, Selection, select


@dataclass
class Analysis:
    """Located findings, and the models of everything that passed its schema."""

    findings: list[Finding]
    config: Config | None = None
    bundles: dict[str, Bundle] = field(default_factory=dict)


def validate(
    root: Path, paths: list[Path] | None = None, *, use_cache: bool = True, jobs: int | None = None
) -> Report:
    selection = select(root, paths or [])
    loaded = read_all(selection.root, selection.files)
    cache = Cache.of(selection.root) if use_cache else None
    extra = [f"bundle {name}" for name in selection.bundles] + [s.rel for s in selection.stray]
    if cache is not None:
        cached = cache.report(loaded, extra)
        if cached is not None:
            return Report(
                findings=cached + _state_branch(selection.root, loaded), files=sorted(loaded)
            )
    parse_all(loaded, cache, jobs)
    report = Report(analyse(selection, loaded).findings, files=sorted(loaded))
    if cache is not None and not report.errors:
        cache.remember(loaded, extra, report.findings, prune=selection.whole_repo)
    # Not cached: it depends on the repository's branches, not on the files.
    report.findings += _state_branch(selection.root, loaded)
    return report


def _state_branch(root: Path, loaded: dict[str, Loaded]) -> list[Finding]:
    """C008 when `state.branch` is the checked-out branch or one that holds modctl.yaml."""
    config = loaded.get(CONFIG_NAME)
    if config is None or not config.raw:
        return []
    try:
        data = config.data if config.data is not None else yamlio.loads(yamlio.decode(config.raw))
        branch = str(((data or {}).get("state") or {}).get("branch") or DEFAULT_STATE_BRANCH)
    except (yamlio.YamlError, AttributeError):
        return []
    from modctl.gitio import Git

    git = Git(root)
    ref = f"refs/heads/{branch}"
    where = git.worktree_of(ref)
    if where:
        why = f"the branch checked out in {where}"
    elif git.call("cat-file", "-e", f"{ref}:{CONFIG_NAME}").status == 0:
        why = f"a branch that holds {CONFIG_NAME}, where bundles live"
    else:
        return []
    message = (
        f"state.branch {branch!r} is {why}; modctl moves the state branch without a checkout, "
        "so give it a branch of its own (the default is modctl-state)"
    )
    located = finding("C008", CONFIG_NAME, message, ("state", "branch"))
    source = yamlio.SourceMap(yamlio.decode(config.raw))
    return [located.located(*source.position(located.pointer))]


def analyse(
    selection: Selection, loaded: dict[str, Loaded], *, errors_only: bool = False
) -> Analysis:
    """Semantic checks over parsed files; findings (only errors with `errors_only`, which
    saves locating warnings nobody reads) sorted and located."""
    found = [f for item in loaded.values() for f in item.findings]
    found += [
        finding("B007", s.rel, "not bundle.yaml nor under rules/, lists/ or tests/; ignored")
        for s in selection.stray
    ]
    analysis = Analysis([])
    config_doc = loaded[CONFIG_NAME]
    if config_doc.ok:
        config = analysis.config = Config.from_data(config_doc.data, CONFIG_NAME)
        found += config_lint.check(config)
        for name in selection.bundles:
            built, bundle_findings = _check_bundle(name, selection, loaded, config)
            found += bundle_findings
            if built is not None:
                analysis.bundles[name] = built
    found += _check_playbooks(selection, loaded, analysis.config)
    if errors_only:
        found = [f for f in found if f.severity is Severity.ERROR]
    analysis.findings = sorted(_locate(found, loaded), key=Finding.sort_key)
    return analysis


def _check_playbooks(
    selection: Selection, loaded: dict[str, Loaded], config: Config | None
) -> list[Finding]:
    """The semantic checks of every schema-valid playbook; regions are checked against
    `modctl.yaml` when it could be read."""
    from modctl.emergency import lint

    regions = config.regions if config is not None else None
    return [
        f
        for s in selection.files
        if s.kind == "playbook" and loaded[s.rel].ok
        for f in lint.check(loaded[s.rel].data, s.rel, regions)
    ]


def _check_bundle(
    name: str, selection: Selection, loaded: dict[str, Loaded], config: Config
) -> tuple[Bundle | None, list[Finding]]:
    docs = [loaded[s.rel] for s in selection.files if s.bundle == name]
    meta = [d for d in docs if d.source.kind == "bundle"]
    if not meta:
        missing = finding(
            "B001",
            f"strategies/{name}",
            f"bundle {name!r} has no bundle.yaml; create strategies/{name}/bundle.yaml "
            f"with `name: {name}`",
        )
        return None, [missing]
    if not all(d.ok for d in docs):
        return None, []  # schema errors first: semantic checks would only repeat them
    found = []
    meta_doc = meta[0]
    if meta_doc.data["name"] != name:
        found.append(
            finding(
                "B002",
                meta_doc.source.rel,
                f"name {meta_doc.data['name']!r} differs from the folder name {name!r}",
                ("name",),
            )
        )

    def of(kind: str) -> list[tuple[str, object]]:
        return [(d.source.rel, d.data) for d in docs if d.source.kind == kind]

    bundle = build_bundle(
        name,
        config,
        (meta_doc.source.rel, meta_doc.data),
        of("rules"),  # type: ignore[arg-type]
        of("list"),  # type: ignore[arg-type]
        of("tests"),  # type: ignore[arg-type]
    )
    return bundle, found + bundle_lint.check(bundle, config) + logic.check(bundle)


def _locate(found: list[Finding], loaded: dict[str, Loaded]) -> list[Finding]:
    maps: dict[str, yamlio.SourceMap | None] = {}
    out = []
    for item in found:
        if item.line:
            out.append(item)
            continue
        if item.path not in maps:
            doc = loaded.get(item.path)
            maps[item.path] = (
                yamlio.SourceMap(doc.raw.decode("utf-8-sig")) if doc and doc.raw else None
            )
        source_map = maps[item.path]
        line, column = source_map.position(item.pointer, key=item.at_key) if source_map else (1, 1)
        out.append(item.located(line, column))
    return out
