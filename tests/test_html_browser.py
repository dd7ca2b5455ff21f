"""The HTML reports open in a real browser: headless Chromium renders each page, its screenshot
is a picture of some size, and the charts' titles are in the page's DOM. Skipped, saying why,
only where no Chromium is installed (.ci/run installs Debian's where it can)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLE, reference_workspace, run
from tests.metrics_seeded import write_per_rule

BROWSER = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BROWSER is None,
        reason="no Chromium on this machine: `apt-get install chromium` (Debian) runs this test",
    ),
]


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert BROWSER is not None
    return subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--window-size=1200,1600",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def reports(root: Path, runner: CliRunner) -> dict[str, tuple[str, ...]]:
    """Each report as an HTML file in `root`, with the chart titles it must show."""
    rules = [r.id for r in reference_workspace().bundle("ipr-counterfeit").rules]
    metrics = write_per_rule(
        root / "m.csv", "ipr-counterfeit", rules, high="lux-unauthorized-cheap"
    )
    commands = {
        "effectiveness": (
            ["report", "effectiveness", "ipr-counterfeit", "--metrics", str(metrics)],
            ("Overturn rate per rule, with intervals", "Volume across releases"),
        ),
        "gaps": (
            ["report", "gaps", "ipr-counterfeit", "ipr-brand-misuse", "--data", str(SAMPLE)],
            ("Gaps by category and region", "Missed infringing listings by reason"),
        ),
        "sweep": (
            [
                "backtest",
                "ipr-counterfeit",
                "--data",
                str(SAMPLE),
                "--sweep",
                "lux-unauthorized-cheap.max_price_ratio=0.1:0.6:0.1",
            ],
            ("Precision-recall curve of the sweep", "F1 and flagged listings per value"),
        ),
    }
    found = {}
    for name, (args, titles) in commands.items():
        code, out = run(runner, root, *args, "--output", "html")
        assert code == 0, out
        (root / f"{name}.html").write_text(out, encoding="utf-8")
        found[name] = titles
    return found


def test_every_html_report_renders_its_charts_in_chromium(
    reference_repo: Path, runner: CliRunner, tmp_path: Path
) -> None:
    for name, titles in reports(reference_repo, runner).items():
        page = reference_repo / f"{name}.html"
        shot = tmp_path / f"{name}.png"
        chromium(page, tmp_path / "profile", f"--screenshot={shot}")
        assert shot.stat().st_size > 50_000, name  # charts, tables: far from a blank page
        assert png_size(shot) == (1200, 1600)
        dom = chromium(page, tmp_path / "profile", "--dump-dom").stdout.decode()
        assert dom.count("<svg") == 2, name
        for title in titles:
            assert f">{title}</text>" in dom, (name, title)  # drawn in the chart itself
            assert f'aria-label="{title}"' in dom, (name, title)


def test_markup_in_listings_stays_text_in_the_browser(
    reference_repo: Path, runner: CliRunner, tmp_path: Path
) -> None:
    """Titles, categories, brands and ids are the sellers' own words: in the page they are
    text, never an element the browser would run or load."""
    script, image = "<script>document.title='owned'</script>", "<img src=x onerror=alert(1)>"
    rows = [
        {
            "id": f"L-SG-{i:07d}{script if i == 0 else ''}",
            "region": "SG",
            "title": f"Guccci {script} bag replica",
            "price": 50.0,
            "brand": image,
            "category": script if i % 2 else image,
            "label": "infringing" if i < 6 else "clean",
        }
        for i in range(10)
    ]
    data = reference_repo / "hostile.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["report", "gaps", "ipr-counterfeit", "--data", str(data), "--output", "html"]
    code, out = run(runner, reference_repo, *args)
    assert code == 0, out
    page = reference_repo / "hostile.html"
    page.write_text(out, encoding="utf-8")
    dom = chromium(page, tmp_path / "profile", "--dump-dom").stdout.decode()
    assert "<title>Gaps of ipr-counterfeit</title>" in dom
    assert "<script" not in dom
    assert "<img" not in dom
    assert "&lt;img src=x onerror=alert(1)&gt;" in dom
