"""The demo's folder and what the demo itself does in it between commands: the repository and
its remote, the rule change on a branch, the merge, and the metrics file.

The folder holds the strategy repository (`repo/`), the bare repository that is its remote
(`remote.git/`) and a copy of the shipped sample listings. Every git process starts through
`gitio`; every edit of a YAML file goes through `yamledit`, so the files keep their comments.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from modctl import printable, yamledit, yamlio
from modctl.context import utcnow
from modctl.demo import metrics
from modctl.errors import ModctlError, UsageError
from modctl.gitio import Git

MAIN = "main"
IDENTITY = {"user.name": "modctl demo", "user.email": "demo@example.com"}
SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "sample-listings.jsonl"


@dataclass(frozen=True)
class Place:
    """Where the demo runs; `created` when the demo made the folder (it then removes it whole)."""

    folder: Path
    created: bool

    @property
    def repo(self) -> Path:
        return self.folder / "repo"

    @property
    def remote(self) -> Path:
        return self.folder / "remote.git"

    @property
    def sample(self) -> Path:
        return self.folder / SAMPLE.name


def claim(directory: Path | None) -> Place:
    """A fresh temporary folder, or `directory` when it is empty or does not exist yet."""
    if directory is None:
        return Place(Path(tempfile.mkdtemp(prefix="modctl-demo-")).resolve(), created=True)
    shown = printable.cut(str(directory), 300)
    try:
        if directory.is_dir():
            if any(directory.iterdir()):
                raise UsageError(
                    f"--dir {shown} is not empty; give an empty or new folder, or leave --dir out"
                )
            return Place(directory.resolve(), created=False)
        if directory.exists() or directory.is_symlink():
            raise UsageError(f"--dir {shown} is not a folder; give an empty or new folder")
        directory.mkdir(parents=True)
    except OSError as exc:
        raise UsageError(f"--dir {shown}: {exc.strerror or exc}") from None
    return Place(directory.resolve(), created=True)


def clear(place: Place) -> None:
    """Leave nothing behind: the folder gone if the demo made it, else empty again."""
    if place.created:
        shutil.rmtree(place.folder, ignore_errors=True)
        return
    for child in place.folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def prepare(place: Place) -> None:
    """An empty git repository on branch main, with the demo's identity (so that the demo runs
    where git knows nobody, and signs nothing) and a bare repository as its remote `origin`;
    and the sample listings beside it."""
    Git(place.folder).run("init", "--bare", "--quiet", str(place.remote))
    place.repo.mkdir()
    git = Git(place.repo)
    git.run("init", "--quiet")
    git.run("symbolic-ref", "HEAD", f"refs/heads/{MAIN}")
    for key, value in {**IDENTITY, "commit.gpgsign": "false", "tag.gpgsign": "false"}.items():
        git.run("config", key, value)
    git.run("remote", "add", "origin", str(place.remote))
    shutil.copyfile(SAMPLE, place.sample)


def settle(place: Place) -> None:
    """The demo's settings in modctl.yaml, committed: the state branch on the remote, and no
    bake time, so that each step can be promoted at once."""
    path = place.repo / "modctl.yaml"
    with _editing("modctl.yaml"):
        document = yamledit.Document(path.read_text(encoding="utf-8"))
        document.set_value(("rollout", "min_bake"), "0s")
        document.add_key(("state",), "remote", "origin", after="branch")
    path.write_text(document.text, encoding="utf-8")
    git = Git(place.repo)
    git.commit_paths(["modctl.yaml"], "Demo settings: the state branch on origin, min_bake 0s")
    git.run("push", "--quiet", "--no-verify", "origin", MAIN)


@dataclass(frozen=True)
class Wave:
    name: str
    regions: list[str]
    steps: list[int]


def waves() -> list[Wave]:
    """The waves of the modctl.yaml `init` writes, in order."""
    from modctl.source.scaffold import reference_root

    config = yamlio.loads((reference_root() / "modctl.yaml").read_text(encoding="utf-8"))
    return [
        Wave(str(w["name"]), [str(r) for r in w["regions"]], [int(s) for s in w["steps"]])
        for w in config["rollout"]["waves"]
    ]


@dataclass(frozen=True)
class Change:
    """The rule change the demo proposes: one parameter of one rule, on a branch."""

    bundle: str
    rule: str
    param: str
    value: float
    branch: str

    def make(self, place: Place) -> None:
        """Edit the rule on a new branch and commit it there; the branch stays checked out."""
        git = Git(place.repo)
        git.run("checkout", "--quiet", "-b", self.branch)
        rel, text, index = self._find(place)
        rule = yamlio.loads(text)[index]
        before = rule["params"][self.param]
        with _editing(rel):
            document = yamledit.Document(text)
            document.set_value((index, "params", self.param), self.value)
            old, new = f"{round(before * 100)}%", f"{round(self.value * 100)}%"
            if old in str(rule.get("description", "")):
                document.set_value((index, "description"), rule["description"].replace(old, new))
        (place.repo / rel).write_text(document.text, encoding="utf-8")
        git.commit_paths([rel], f"{self.rule}: {self.param} {before} -> {self.value}")

    def _find(self, place: Place) -> tuple[str, str, int]:
        """The rules file holding the rule, its text, and the rule's index in it."""
        folder = place.repo / "strategies" / self.bundle / "rules"
        for path in sorted(folder.glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            for index, rule in enumerate(yamlio.loads(text)):
                if rule.get("id") == self.rule:
                    return path.relative_to(place.repo).as_posix(), text, index
        raise ModctlError(f"no rule {self.rule} in strategies/{self.bundle}/rules")

    def leave(self, place: Place) -> None:
        """Back to main, which does not have the change yet."""
        Git(place.repo).run("checkout", "--quiet", MAIN)

    def merge(self, place: Place) -> None:
        Git(place.repo).run("merge", "--quiet", "--ff-only", self.branch)
        Git(place.repo).run("push", "--quiet", "--no-verify", "origin", MAIN)


def write_metrics(place: Place, bundle: str, region: str) -> Path:
    """`metrics/canary.csv` (the source modctl.yaml names): the seeded counts of `metrics`, over
    one window from the start of the canary in `region` until now."""
    from modctl.state.files import region_file, region_state

    spec = f"modctl-state:{region_file(region, bundle)}"
    state = region_state(spec, Git(place.repo).run("cat-file", "blob", spec))
    if state.canary is None:
        raise ModctlError(f"{bundle} has no canary in {region}")
    start = state.canary.since
    end = utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    path = place.repo / "metrics" / "canary.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(metrics.csv_text(region, bundle, start, end), encoding="utf-8")
    return path


@contextlib.contextmanager
def _editing(rel: str) -> Iterator[None]:
    try:
        yield
    except yamledit.EditError as exc:
        raise ModctlError(f"{rel}: {exc.message}") from None
