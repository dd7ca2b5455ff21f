"""Time an emergency `modctl rollback`, and `modctl rollout status` on a large state branch.

    python benchmarks/rollback_bench.py [--repeat 5]

Prints, each beside its baseline measured in the same run:
  - `modctl rollback` on a state branch with 10 and with 10,000 earlier commits (the history must
    not slow it down);
  - the raw git plumbing a rollback commit needs, as a shell script;
  - `modctl rollout status` with 50 bundles in 12 regions;
  - CLI start-up: `modctl --version` beside a bare `python -c pass`, and `modctl --help` beside
    the `--help` of a one-command Typer app.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REGIONS = ["SG", "MY", "TH", "ID", "PH", "VN", "GB", "US", "DE", "FR", "JP", "KR"]
CONFIG = f"""version: 1
regions: [{", ".join(REGIONS)}]
fields: {{title: string, price: number}}
rollout:
  waves:
    - {{name: pilot, regions: [SG], steps: [10, 100]}}
    - {{name: rest, regions: [{", ".join(REGIONS[1:])}], steps: [50, 100]}}
  min_bake: 1h
"""
RULES = "- {id: r, when: {field: title, contains_any: [gucci]}, action: takedown}\n"
TESTS = "- {name: t, region: SG, item: {title: gucci}, expect: {action: takedown, rules: [r]}}\n"

RAW_ROLLBACK = r"""set -e
ref=refs/heads/modctl-state
old=$(git rev-parse --verify -q "$ref")
git ls-tree -r -z "$old" >/dev/null
state=$(git cat-file blob "$old:regions/SG/b00.yaml")
blob=$(printf '%s\n# rolled back\n' "$state" | git hash-object -w --stdin)
deploy=$(printf '{"rolled": "back"}' | git hash-object -w --stdin)
export GIT_INDEX_FILE=$(mktemp -u)
git read-tree "$old"
printf '100644 %s\tregions/SG/b00.yaml\n100644 %s\tdeploy/SG/b00.json\n' "$blob" "$deploy" | git update-index --index-info
tree=$(git write-tree)
rm -f "$GIT_INDEX_FILE"
new=$(printf 'rollback\n\nModctl-Action: rollback\nModctl-Actor: bench@example.com\n' | git commit-tree "$tree" -p "$old")
git update-ref "$ref" "$new" "$old"
"""


# modctl runs from compiled bytecode, as an installed package does: an inherited
# PYTHONDONTWRITEBYTECODE would make every run compile every module again.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def git(root: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True, check=True)
    return done.stdout.decode()


def modctl(root: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "modctl", "--repo", str(root), *args],
        check=True,
        capture_output=True,
        env=ENV,
    )
    return time.perf_counter() - start


def best(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=ENV)
        times.append(time.perf_counter() - start)
    return min(times)


def startup(tmp: Path, repeat: int) -> dict[str, float]:
    """The installed console script against the floors it is measured by."""
    modctl_script = str(Path(sys.executable).parent / "modctl")
    app = tmp / "one_command.py"
    app.write_text(
        "import typer\napp = typer.Typer()\n@app.command()\ndef main() -> None:\n    pass\napp()\n"
    )
    return {
        "version": best([modctl_script, "--version"], repeat),
        "python": best([sys.executable, "-c", "pass"], repeat),
        "help": best([modctl_script, "--help"], repeat),
        "typer": best([sys.executable, str(app), "--help"], repeat),
    }


def build(root: Path, bundles: int) -> None:
    root.mkdir(parents=True)
    git(root, "init", "-q")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "config", "user.name", "bench")
    (root / "modctl.yaml").write_text(CONFIG)
    for b in range(bundles):
        folder = root / "strategies" / f"b{b:02d}"
        (folder / "rules").mkdir(parents=True)
        (folder / "tests").mkdir()
        (folder / "bundle.yaml").write_text(f"name: b{b:02d}\n")
        (folder / "rules" / "r.yaml").write_text(RULES)
        (folder / "tests" / "t.yaml").write_text(TESTS)
    git(root, "add", ".")
    git(root, "commit", "-qm", "strategies")
    for version in ("0.1.0", "0.1.1"):
        modctl(root, "release", "cut", "b00", "--version", version)
        modctl(root, "rollout", "start", "b00", version, "--region", "SG")
        modctl(root, "rollout", "promote", "b00", "--region", "SG", "--full", "--force")


def pad_history(root: Path, commits: int) -> None:
    """Add earlier state commits quickly, with git fast-import, each with trailers."""
    tip = git(root, "rev-parse", "refs/heads/modctl-state").strip()
    stream = []
    for i in range(commits):
        message = f"note {i}\n\nModctl-Action: note\nModctl-Actor: bench@example.com\n".encode()
        content = f"note {i}\n".encode()
        stream.append(b"commit refs/heads/modctl-state\n")
        stream.append(f"committer bench <bench@example.com> {1700000000 + i} +0000\n".encode())
        stream.append(f"data {len(message)}\n".encode() + message)
        if i == 0:
            stream.append(f"from {tip}\n".encode())
        stream.append(f"M 100644 inline notes/n.txt\ndata {len(content)}\n".encode() + content)
    git(root, "fast-import", "--quiet", "--force", stdin=b"".join(stream))


def state_of_many(root: Path, bundles: int) -> None:
    """Region states for every bundle in every region, as a rollout would leave them."""
    tip = git(root, "rev-parse", "refs/heads/modctl-state").strip()
    message = b"seed states\n\nModctl-Action: note\nModctl-Actor: bench@example.com\n"
    stream = [
        b"commit refs/heads/modctl-state\n",
        b"committer bench <bench@example.com> 1800000000 +0000\n",
        f"data {len(message)}\n".encode() + message,
        f"from {tip}\n".encode(),
    ]
    for b in range(1, bundles):
        for region in REGIONS:
            body = (
                f"bundle: b{b:02d}\nregion: {region}\nstable: 0.1.0\nhistory: []\n"
                "canary:\n  version: 0.1.1\n  weight: 50\n  step: 0\n  since: '2026-01-01T00:00:00Z'\n"
                "  paused: false\n"
            ).encode()
            stream.append(
                f"M 100644 inline regions/{region}/b{b:02d}.yaml\ndata {len(body)}\n".encode()
                + body
            )
    git(root, "fast-import", "--quiet", "--force", stdin=b"".join(stream))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modctl-rollback-") as tmp:
        results: dict[str, float] = {}
        for commits in (10, 10_000):
            root = Path(tmp) / f"h{commits}"
            build(root, 1)
            pad_history(root, commits)
            times = []
            for _ in range(args.repeat):
                times.append(modctl(root, "rollback", "b00", "--region", "SG", "--to", "0.1.0"))
                modctl(root, "rollback", "b00", "--region", "SG", "--to", "0.1.1")
            results[f"rollback, {commits:,} earlier commits"] = min(times)
            if commits == 10:
                raw = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    subprocess.run(
                        ["bash", "-c", RAW_ROLLBACK], cwd=root, check=True, capture_output=True
                    )
                    raw.append(time.perf_counter() - start)
                results["raw git plumbing for one rollback commit"] = min(raw)
        many = Path(tmp) / "many"
        build(many, 50)
        state_of_many(many, 50)
        results["rollout status, 50 bundles x 12 regions"] = min(
            modctl(many, "rollout", "status") for _ in range(args.repeat)
        )
        shutil.rmtree(many)
        start = startup(Path(tmp), args.repeat * 4)
    small = results["rollback, 10 earlier commits"]
    large = results["rollback, 10,000 earlier commits"]
    raw_git = results["raw git plumbing for one rollback commit"]
    status = results["rollout status, 50 bundles x 12 regions"]
    print(f"{'measure':44} {'seconds':>8}  {'baseline':>8}  ratio  target")
    print(f"{'rollback, 10 earlier commits':44} {small:8.3f}  {'':>8}  {'':5}  < 0.3 s")
    print(
        f"{'rollback, 10,000 vs 10 earlier commits':44} {large:8.3f}  {small:8.3f}  {large / small:5.2f}  <= 1.2"
    )
    print(
        f"{'rollback vs raw git plumbing script':44} {small:8.3f}  {raw_git:8.3f}  {small / raw_git:5.1f}  <= 5"
    )
    print(
        f"{'rollout status, 50 bundles x 12 regions':44} {status:8.3f}  {'':>8}  {'':5}  well under 1 s"
    )
    version, python = start["version"], start["python"]
    print(
        f"{'modctl --version vs python -c pass':44} {version:8.3f}  {python:8.3f}  {version / python:5.1f}  <= 5"
    )
    helptext, typer_app = start["help"], start["typer"]
    print(
        f"{'modctl --help vs a one-command Typer app':44} {helptext:8.3f}  {typer_app:8.3f}  {helptext / typer_app:5.2f}  <= 1"
    )


if __name__ == "__main__":
    main()
