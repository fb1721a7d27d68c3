"""Charts for the audit report, drawn by matplotlib straight to inline SVG (no pyplot, no
files, no network): text stays text, so the report is searchable and prints sharply."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

PALETTE = {
    "eligible": "#2e7d32", "needs-review": "#f9a825", "insufficient-information": "#78909c",
    "not-eligible": "#c62828",
    "supported": "#2e7d32", "needs documentation": "#f9a825", "not supported": "#c62828",
}
_STYLE: dict[str, Any] = {"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 10,
          "axes.spines.top": False, "axes.spines.right": False}


def stacked_bars(title: str, counts: Mapping[str, Mapping[str, int]], order: Sequence[str], unit: str) -> str:
    """One horizontal bar per row (therapy), split by category, each part labelled with its count."""
    rows = list(counts)
    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]  # keys typed as Literal
        figure = Figure(figsize=(8, 0.7 * len(rows) + 1.6))
        axes = figure.add_subplot()
        left = [0] * len(rows)
        for category in order:
            values = [counts[r].get(category, 0) for r in rows]
            if not any(values):
                continue
            bars = axes.barh(rows, values, left=left, label=category, color=PALETTE.get(category, "#5c6bc0"))
            axes.bar_label(bars, labels=[str(v) if v else "" for v in values], label_type="center",
                           color="white", fontweight="bold")
            left = [a + b for a, b in zip(left, values)]
        axes.invert_yaxis()
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(unit)
        axes.set_title(title, loc="left", fontweight="bold")
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(rows) < 3 else -0.2),
                    ncols=4, frameon=False)
        return _svg(figure, title)


def ranked_bars(title: str, counts: Sequence[tuple[str, int]], unit: str, color: str = "#c62828",
                kinds: Mapping[str, str] | None = None, kind_colors: Mapping[str, str] | None = None) -> str:
    """Horizontal bars, largest first; optionally coloured by kind with a legend."""
    labels = [label for label, _ in counts]
    values = [value for _, value in counts]
    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]  # keys typed as Literal
        figure = Figure(figsize=(8, 0.38 * len(labels) + 1.3))
        axes = figure.add_subplot()
        colors = [(kind_colors or {}).get((kinds or {}).get(label, ""), color) for label in labels]
        bars = axes.barh(labels, values, color=colors)
        axes.bar_label(bars, padding=3)
        axes.invert_yaxis()
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(unit)
        axes.set_title(title, loc="left", fontweight="bold")
        axes.margins(x=0.12)
        if kinds and kind_colors:
            from matplotlib.patches import Patch
            used = [k for k in kind_colors if k in set(kinds.values())]
            axes.legend(handles=[Patch(color=kind_colors[k], label=k) for k in used], frameon=False,
                        loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return _svg(figure, title)


def _svg(figure: Figure, salt: str) -> str:
    figure.set_layout_engine("tight")
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    # Inline: drop the XML declaration and DOCTYPE, keep the <svg> element.
    return text[text.index("<svg"):]
