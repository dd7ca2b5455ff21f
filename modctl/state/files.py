"""Where things live on the state branch, and reading them back. Pure: no I/O.

releases/BUNDLE/VERSION.yaml    manifest          artifacts/BUNDLE/VERSION.json   artifact
regions/REGION/BUNDLE.yaml      region state      regions/REGION/_region.yaml     freeze
deploy/REGION/BUNDLE.json       effective config the platform loads
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modctl import yamlio
from modctl.errors import UsageError
from modctl.state.rollout import RegionState
from modctl.state.store import Snapshot


def manifest_file(bundle: str, version: str) -> str:
    return f"releases/{bundle}/{version}.yaml"


def artifact_file(bundle: str, version: str) -> str:
    return f"artifacts/{bundle}/{version}.json"


def deploy_file(region: str, bundle: str) -> str:
    return f"deploy/{region}/{bundle}.json"


TAGS = "modctl/"  # release tags live under refs/tags/modctl/


def tag_name(bundle: str, version: str) -> str:
    """The git tag on a release's source commit."""
    return f"{TAGS}{bundle}/{version}"


def region_file(region: str, bundle: str) -> str:
    return f"regions/{region}/{bundle}.yaml"


def freeze_file(region: str) -> str:
    return f"regions/{region}/_region.yaml"


def semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def versions(snapshot: Snapshot, bundle: str) -> list[str]:
    """A bundle's released versions, oldest first, from the file names alone."""
    prefix = f"releases/{bundle}/"
    found = [
        path[len(prefix) : -len(".yaml")]
        for path in snapshot.files
        if path.startswith(prefix) and path.endswith(".yaml") and "/" not in path[len(prefix) :]
    ]
    return sorted(found, key=semver)


def read_yaml(path: str, content: bytes) -> Any:
    """A state file's YAML; a file modctl did not write gets one clear line, not a traceback."""
    try:
        return yamlio.loads(yamlio.decode(content))
    except yamlio.YamlError as exc:
        raise UsageError(
            f"{path} on the state branch is unreadable ({exc}); it was not written by modctl: "
            "`modctl audit verify` names the commit"
        ) from None


def region_state(path: str, content: bytes) -> RegionState:
    data = read_yaml(path, content)
    try:
        return RegionState.from_dict(data)
    except (KeyError, TypeError, AttributeError):
        raise UsageError(
            f"{path} on the state branch is not a region state; it was not written by modctl: "
            "`modctl audit verify` names the commit"
        ) from None


def frozen(files: Mapping[str, bytes], region: str) -> bool:
    """Whether the state files `files` hold `region` frozen."""
    raw = files.get(freeze_file(region))
    return bool(raw and (read_yaml(freeze_file(region), raw) or {}).get("frozen"))


def manifests(snapshot: Snapshot, bundle: str | None = None) -> list[dict[str, Any]]:
    """Every release manifest on the state branch, oldest version first per bundle."""
    found = []
    for path, content in snapshot.files.items():
        parts = path.split("/")
        is_manifest = len(parts) == 3 and parts[0] == "releases" and parts[2].endswith(".yaml")
        if is_manifest and (bundle is None or parts[1] == bundle):
            found.append(read_yaml(path, content))
    return sorted(found, key=lambda m: (m["bundle"], semver(m["version"])))
