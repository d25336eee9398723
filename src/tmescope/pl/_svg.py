"""The per-sample static figure written directly as SVG.

A report of hundreds of samples needs one figure per sample; drawing each with matplotlib costs about
0.3 s, written as SVG text it costs milliseconds. The figure shows the same data, order and colours as
the interactive per-sample figures: composition with intervals (left) and every feature ranked by its
cohort percentile (right). Text stays text, so the file is editable in any vector editor.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import numpy as np

from tmescope.pl._figures import category_colors, pretty

if TYPE_CHECKING:
    import pandas as pd

_FONT = "Helvetica, Arial, sans-serif"
_PAD = 16.0


def _text_width(text: str, size: float) -> float:
    return len(text) * size * 0.56


def _t(x: float, y: float, text: str, *, size: float = 11, anchor: str = "start", weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" font-weight="{weight}">'
        f"{escape(text)}</text>"
    )


def _nice_max(value: float) -> tuple[float, float]:
    """Axis end and tick step for fractions up to ``value``."""
    for step in (0.05, 0.1, 0.2, 0.25):
        end = step * np.ceil(max(value, 1e-9) / step)
        if end / step <= 6:
            return float(min(end, 1.0) if value <= 1 else end), step
    return float(np.ceil(value)), 0.25


def _composition_panel(
    x0: float, y0: float, cells: list[str], values: np.ndarray, bounds: tuple[np.ndarray | None, np.ndarray | None]
) -> tuple[list[str], float, float]:
    """Dot-and-interval panel; returns SVG parts, its width and height."""
    size, row = 11.0, 24.0
    low, high = bounds
    labels = [pretty(c) for c in cells]
    label_w = max(_text_width(s, size) for s in labels) + 10
    plot_w = 260.0
    top = max(np.nanmax(values), np.nanmax(high) if high is not None else 0.0)
    end, step = _nice_max(float(top))
    colors = category_colors(cells)
    px = lambda v: x0 + label_w + plot_w * float(v) / end  # noqa: E731
    parts = [_t(x0, y0 + 12, "Composition (with interval)", size=12, weight="bold")]
    y_axis = y0 + 24 + row * len(cells)
    for k in range(round(end / step) + 1):
        v = k * step
        parts.append(f'<line x1="{px(v):.1f}" y1="{y0 + 22:.1f}" x2="{px(v):.1f}" y2="{y_axis:.1f}" stroke="#e5e5e5"/>')
        parts.append(_t(px(v), y_axis + 14, f"{v:.0%}", size=10, anchor="middle"))
    parts.append(_t(x0 + label_w + plot_w / 2, y_axis + 30, "fraction of cells", size=10, anchor="middle"))
    for i, (cell, label) in enumerate(zip(cells, labels, strict=True)):
        yc = y0 + 24 + row * (i + 0.5)
        parts.append(_t(x0 + label_w - 8, yc + 4, label, size=size, anchor="end"))
        if low is not None and high is not None and np.isfinite(low[i]) and np.isfinite(high[i]):
            parts.append(
                f'<line x1="{px(low[i]):.1f}" y1="{yc:.1f}" x2="{px(high[i]):.1f}" y2="{yc:.1f}" '
                'stroke="#555" stroke-width="1.5"/>'
            )
        if np.isfinite(values[i]):
            parts.append(
                f'<circle cx="{px(values[i]):.1f}" cy="{yc:.1f}" r="5" fill="{colors[cell]}" stroke="#333" '
                'stroke-width="0.6"/>'
            )
    return parts, label_w + plot_w + 20, y_axis + 36 - y0


def _percentile_panel(x0: float, y0: float, width: float, ranked: pd.DataFrame) -> tuple[list[str], float]:
    """Lollipop panel of percentiles; returns SVG parts and its height."""
    size, row = 10.0, 15.0
    names = [f"{f} ⚠" if fl else str(f) for f, fl in zip(ranked["feature"], ranked["flag"], strict=True)]
    label_w = max(_text_width(s, size) for s in names) + 10
    plot_w = max(200.0, width - label_w - 10)
    fams = sorted(set(ranked["family"]))
    colors = category_colors(fams)
    px = lambda v: x0 + label_w + plot_w * float(v) / 100  # noqa: E731
    parts = [_t(x0, y0 + 12, "Features by cohort percentile", size=12, weight="bold")]
    legend_x = x0 + label_w
    for fam in fams:
        parts.append(f'<circle cx="{legend_x + 5:.1f}" cy="{y0 + 30:.1f}" r="4" fill="{colors[fam]}"/>')
        parts.append(_t(legend_x + 13, y0 + 34, fam, size=10))
        legend_x += _text_width(fam, 10) + 30
    top = y0 + 44
    y_axis = top + row * len(names)
    for v in (0, 25, 50, 75, 100):
        dash = ' stroke-dasharray="3,3" stroke="#666"' if v == 50 else ' stroke="#e5e5e5"'
        parts.append(f'<line x1="{px(v):.1f}" y1="{top:.1f}" x2="{px(v):.1f}" y2="{y_axis:.1f}"{dash}/>')
        parts.append(_t(px(v), y_axis + 14, str(v), size=10, anchor="middle"))
    parts.append(
        _t(x0 + label_w + plot_w / 2, y_axis + 30, "cohort percentile (50 = cohort median)", size=10, anchor="middle")
    )
    for i, (name, p, fam, flag) in enumerate(
        zip(names, ranked["percentile"], ranked["family"], ranked["flag"], strict=True)
    ):
        yc = top + row * (i + 0.5)
        parts.append(_t(x0 + label_w - 8, yc + 3.5, name, size=size, anchor="end"))
        parts.append(f'<line x1="{px(50):.1f}" y1="{yc:.1f}" x2="{px(p):.1f}" y2="{yc:.1f}" stroke="#aaa"/>')
        fill = "white" if flag else colors[fam]
        parts.append(
            f'<circle cx="{px(p):.1f}" cy="{yc:.1f}" r="4" fill="{fill}" stroke="{colors[fam]}" stroke-width="1.5"/>'
        )
    return parts, y_axis + 36 - y0


def sample_svg(
    sample: str,
    *,
    cells: list[str] | None = None,
    values: np.ndarray | None = None,
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
    ranked: pd.DataFrame | None = None,
) -> str:
    """The per-sample figure as an SVG document.

    Examples
    --------
    >>> svg = sample_svg("s1", cells=["B cells", "Other"], values=np.array([0.2, 0.8]))
    >>> svg.startswith("<svg") and "B cells" in svg
    True
    """
    width = 1000.0
    parts: list[str] = []
    y0 = _PAD + 26
    x = _PAD
    heights = [0.0]
    if cells and values is not None:
        comp, w, hgt = _composition_panel(x, y0, cells, values, (low, high))
        parts += comp
        heights.append(hgt)
        x += w
    if ranked is not None and not ranked.empty:
        perc, hgt = _percentile_panel(x, y0, width - x - _PAD, ranked)
        parts += perc
        heights.append(hgt)
    height = y0 + max(heights) + _PAD
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{_FONT}" fill="#222">'
        f'<rect width="100%" height="100%" fill="white"/>'
        + _t(_PAD, _PAD + 10, f"Sample {sample}", size=15, weight="bold")
    )
    return head + "".join(parts) + "</svg>\n"
