"""Figures of the spatial results (plotly; maps use WebGL ``scattergl`` so 10^6 cells stay interactive)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

_PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
    "#6baed6",
    "#fd8d3c",
    "#74c476",
    "#9e9ac8",
    "#969696",
    "#9ecae1",
    "#fdae6b",
    "#a1d99b",
    "#bcbddc",
]
COMPARTMENT_COLORS = {"core": "#d7191c", "interface": "#fdae61", "stroma": "#bdbdbd"}
PHENOTYPE_COLORS = {"inflamed": "#d7191c", "excluded": "#fdae61", "desert": "#2c7bb6", "no_tumor": "#e0e0e0"}


def color_map(categories: Sequence[str]) -> dict[str, str]:
    """One stable colour per category."""
    return {c: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(categories)}


def category_map(
    xy: np.ndarray,
    labels: pd.Categorical,
    *,
    title: str,
    colors: dict[str, str] | None = None,
    marker_size: float = 2.0,
) -> go.Figure:
    """Cells coloured by a category, one WebGL trace per category (click a legend entry to hide it).

    ``xy`` in µm; axes are drawn in mm with equal scale.
    """
    cats = [str(c) for c in labels.categories]
    colors = colors or color_map(cats)
    codes = np.asarray(labels.codes)
    fig = go.Figure()
    for i, c in enumerate(cats):
        m = codes == i
        if not m.any():
            continue
        fig.add_trace(
            go.Scattergl(
                # float32 halves the page (the arrays are embedded as binary); 0.1 µm precision is kept
                x=(xy[m, 0] / 1000.0).astype(np.float32),
                y=(xy[m, 1] / 1000.0).astype(np.float32),
                mode="markers",
                name=f"{c} ({int(m.sum()):,})",
                marker={"size": marker_size, "color": colors.get(c, "#999999")},
                hoverinfo="name",
            )
        )
    fig.update_layout(
        title=title,
        height=620,
        xaxis={"title": "x (mm)", "scaleanchor": "y", "scaleratio": 1},
        yaxis={"title": "y (mm)"},
        legend={"itemsizing": "constant", "font": {"size": 10}},
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
        template="plotly_white",
    )
    return fig


def square_heatmap(
    values: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    title: str,
    zmax: float | None = None,
    colorscale: str = "RdBu_r",
    label: str = "z",
) -> go.Figure:
    """A heatmap (e.g. enrichment z-scores) with a symmetric colour range."""
    v = np.asarray(values, dtype=float)
    lim = zmax if zmax is not None else float(np.nanpercentile(np.abs(v), 98)) if np.isfinite(v).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=v,
            x=list(cols),
            y=list(rows),
            zmin=-lim,
            zmax=lim,
            colorscale=colorscale,
            colorbar={"title": label},
            hovertemplate="%{y} → %{x}: %{z:.2f}<extra></extra>",
        )
    )
    size = max(420, 16 * len(rows) + 200)
    fig.update_layout(
        title=title, height=size, yaxis={"autorange": "reversed"}, template="plotly_white", margin={"t": 50}
    )
    return fig


def density_bars(densities: pd.DataFrame, *, title: str) -> go.Figure:
    """Cells per mm² of each type in the tumour core, interface and stroma (one slide's tidy table)."""
    fig = go.Figure()
    for comp, color in COMPARTMENT_COLORS.items():
        d = densities[densities["compartment"] == comp]
        fig.add_trace(go.Bar(x=d["cell_type"], y=d["density"], name=comp, marker_color=color))
    fig.update_layout(title=title, barmode="group", yaxis={"title": "cells / mm²"}, template="plotly_white", height=420)
    return fig


def tile_map(tiles: pd.DataFrame, tile_size: float, *, title: str) -> go.Figure:
    """Immune phenotype of every tile of one slide, drawn as squares."""
    fig = go.Figure()
    for ph, color in PHENOTYPE_COLORS.items():
        t = tiles[tiles["phenotype"] == ph]
        if t.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=(t["x0"] + tile_size / 2) / 1000.0,
                y=(t["y0"] + tile_size / 2) / 1000.0,
                mode="markers",
                name=ph,
                marker={"symbol": "square", "size": 14, "color": color, "line": {"width": 0.5, "color": "#555"}},
                customdata=np.c_[t["cd8_tumor"].to_numpy(), t["cd8_margin"].to_numpy()],
                hovertemplate=ph + "<br>CD8 in tumour %{customdata[0]:.0f}/mm², margin %{customdata[1]:.0f}/mm²"
                "<extra></extra>",
            )
        )
    fig.update_layout(
        title=title,
        height=520,
        xaxis={"title": "x (mm)", "scaleanchor": "y", "scaleratio": 1},
        yaxis={"title": "y (mm)"},
        template="plotly_white",
    )
    return fig
