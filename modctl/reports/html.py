"""One self-contained HTML page per report: inline CSS, charts drawn by matplotlib as inline SVG
(text kept as text, so titles and labels can be searched and read by screen readers), no script
and nothing fetched from the network. matplotlib is imported only here, and only when a report
is rendered as HTML: no other command pays for it.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from modctl import printable
from modctl.errors import UsageError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH, HEIGHT = 8.0, 4.2  # inches, at 72 SVG units each
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 70rem; padding: 0 1rem; color: #1b1f24; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.5rem; text-align: left; }
td { max-width: 30rem; overflow-wrap: anywhere; } p { overflow-wrap: anywhere; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flagged td { background: #fff1f0; }
figure { margin: 1.5rem 0; } figure svg { max-width: 100%; height: auto; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.85rem; }
pre { background: #f6f8fa; padding: 0.5rem; overflow-x: auto; white-space: pre-wrap; }
p.lead { color: #57606a; }
"""
RED, BLUE, GREY, GREEN = "#cf222e", "#0969da", "#57606a", "#1a7f37"


def escape(value: Any) -> str:
    """A value from outside as HTML text: markup escaped, controls shown as modctl shows them."""
    return html.escape(printable.escape(str(value)))


LABEL = 60  # characters of a value in a chart; the tables beside it show it whole


def label(value: Any) -> str:
    """A value from outside as chart text: controls shown escaped, cut to its first LABEL
    characters (a longer one would squeeze the chart to nothing), and `$` kept from starting
    matplotlib's math mode."""
    text = printable.escape(str(value))
    if len(text) > LABEL:
        text = text[: LABEL - 1] + "\u2026"
    return text.replace("$", r"\$")


def page(title: str, lead: str, blocks: Sequence[str]) -> str:
    body = "\n".join(blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<h1>{escape(title)}</h1>\n<p class="lead">{escape(lead)}</p>\n{body}\n</body>\n</html>'
    )


def heading(text: str) -> str:
    return f"<h2>{escape(text)}</h2>"


def paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def commands(items: Sequence[tuple[str, str]]) -> str:
    """Suggestions: each evidence line and its command."""
    return "\n".join(
        f"<p>{escape(evidence)}</p>\n<pre><code>{escape(command)}</code></pre>"
        for evidence, command in items
    )


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], flagged: Sequence[bool] = ()
) -> str:
    def td(value: Any) -> str:
        text = str(value)
        numeric = bool(re.fullmatch(r"[-+]?[\d,.]+%?|n/a", text))
        return f'<td class="num">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"

    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    lines = []
    for i, row in enumerate(rows):
        mark = ' class="flagged"' if i < len(flagged) and flagged[i] else ""
        lines.append(f"<tr{mark}>{''.join(td(v) for v in row)}</tr>")
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(lines)
        + "\n</tbody></table>"
    )


def require() -> None:
    """UsageError, saying what to install, where matplotlib is missing: checked before a
    report is made, which may take minutes, as well as when it is drawn."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise UsageError(
            "--output html draws its charts with matplotlib, which is not installed; install "
            "it with: pip install 'modctl[html]'"
        ) from None


def chart(
    title: str, draw: Callable[[Axes], None], *, height: float = HEIGHT, caption: str = ""
) -> str:
    """A figure with one chart, titled `title` (in the page and in the SVG), as inline SVG."""
    require()
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",  # text stays text: searchable, selectable, readable aloud
            "svg.hashsalt": "modctl",  # the same report gives the same bytes
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontweight="bold")
    draw(axes)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "modctl"})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML declaration nor DOCTYPE inside HTML
    below = f"\n<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure aria-label="{escape(title)}">\n{svg}{below}\n</figure>'
