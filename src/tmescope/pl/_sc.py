"""Figures of the single-cell results (plotly): UMAPs, composition per sample, state and CNV heatmaps."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from tmescope.pl._spatial import color_map

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

_LAYOUT = {"template": "plotly_white", "margin": {"l": 50, "r": 10, "t": 50, "b": 40}}


def umap_categories(
    coords: np.ndarray, labels: pd.Categorical, *, title: str, colors: dict[str, str] | None = None
) -> go.Figure:
    """Cells on the UMAP coloured by a category, one WebGL trace per category (click a legend entry to hide it)."""
    cats = [str(c) for c in labels.categories]
    colors = colors or color_map(cats)
    codes = np.asarray(labels.codes)
    size = 3.0 if len(codes) > 20_000 else 5.0
    fig = go.Figure()
    for i, c in enumerate(cats):
        m = codes == i
        if not m.any():
            continue
        fig.add_trace(
            go.Scattergl(
                x=np.round(coords[m, 0], 3),
                y=np.round(coords[m, 1], 3),
                mode="markers",
                name=f"{c} ({int(m.sum()):,})",
                marker={"size": size, "color": colors.get(c, "#999999")},
                hoverinfo="name",
            )
        )
    fig.update_layout(
        title=title,
        height=560,
        xaxis={"title": "UMAP 1", "showticklabels": False},
        yaxis={"title": "UMAP 2", "showticklabels": False},
        legend={"itemsizing": "constant", "font": {"size": 10}},
        **_LAYOUT,
    )
    return fig


def umap_scores(coords: np.ndarray, scores: pd.DataFrame, *, title: str) -> go.Figure:
    """Cells on the UMAP coloured by one of several continuous scores, chosen from a drop-down menu."""
    names = [str(c) for c in scores.columns]
    values = scores.to_numpy(dtype=float)
    size = 3.0 if len(values) > 20_000 else 5.0

    def limits(v: np.ndarray) -> tuple[float, float]:
        finite = v[np.isfinite(v)]
        if not finite.size:
            return -1.0, 1.0
        return float(np.percentile(finite, 2)), float(np.percentile(finite, 98))

    lo, hi = limits(values[:, 0])
    fig = go.Figure(
        go.Scattergl(
            x=np.round(coords[:, 0], 3),
            y=np.round(coords[:, 1], 3),
            mode="markers",
            marker={
                "size": size,
                "color": np.round(values[:, 0], 3),
                "colorscale": "Viridis",
                "cmin": lo,
                "cmax": hi,
                "colorbar": {"title": "score"},
            },
            hovertemplate="%{marker.color:.2f}<extra></extra>",
        )
    )
    buttons = []
    for j, name in enumerate(names):
        lo, hi = limits(values[:, j])
        buttons.append(
            {
                "label": name,
                "method": "restyle",
                "args": [{"marker.color": [np.round(values[:, j], 3).tolist()], "marker.cmin": lo, "marker.cmax": hi}],
            }
        )
    fig.update_layout(
        title=title,
        height=560,
        xaxis={"title": "UMAP 1", "showticklabels": False},
        yaxis={"title": "UMAP 2", "showticklabels": False},
        updatemenus=[{"buttons": buttons, "x": 0.3, "xanchor": "left", "y": 1.12, "yanchor": "top"}],
        **_LAYOUT,
    )
    return fig


def composition_stacked(
    comp: pd.DataFrame, *, title: str = "Compartments per sample", colors: dict[str, str] | None = None
) -> go.Figure:
    """Stacked bars: share of each compartment in each sample (tidy ``sample``, ``compartment``, ``fraction``)."""
    table = comp.pivot_table(index="sample", columns="compartment", values="fraction", aggfunc="sum", observed=True)
    table = table.fillna(0.0)
    order = table.sum(axis=0).sort_values(ascending=False).index
    colors = {**color_map([str(c) for c in order]), **(colors or {})}
    counts = comp.groupby("sample", observed=True)["n_total"].first() if "n_total" in comp else None
    fig = go.Figure()
    for c in order:
        fig.add_trace(
            go.Bar(
                x=[str(s) for s in table.index],
                y=table[c].to_numpy(),
                name=str(c),
                marker_color=colors[str(c)],
                hovertemplate=f"%{{x}}<br>{c}: %{{y:.1%}}<extra></extra>",
            )
        )
    ticks = [f"{s} ({int(counts[s]):,})" if counts is not None else str(s) for s in table.index]
    fig.update_layout(
        title=title,
        barmode="stack",
        height=460,
        yaxis={"title": "fraction of cells", "tickformat": ".0%", "range": [0, 1]},
        xaxis={"tickvals": [str(s) for s in table.index], "ticktext": ticks},
        legend={"font": {"size": 10}},
        **_LAYOUT,
    )
    return fig


def state_heatmap(table: pd.DataFrame, *, title: str) -> go.Figure:
    """Compartments (rows) x state programs (columns): mean per-cell score, blank where a program is not scored."""
    v = table.to_numpy(dtype=float)
    finite = v[np.isfinite(v)]
    lim = float(np.percentile(np.abs(finite), 98)) if finite.size else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=np.round(v, 3),
            x=[str(c) for c in table.columns],
            y=[str(r) for r in table.index],
            zmin=-lim,
            zmax=lim,
            colorscale="RdBu_r",
            colorbar={"title": "mean"},
            hovertemplate="%{y} · %{x}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=max(480, 28 * len(table.index) + 380),  # room for the long program names below
        xaxis={"tickangle": -45, "tickfont": {"size": 9}},
        yaxis={"autorange": "reversed"},
        **_LAYOUT,
    )
    return fig


def cnv_heatmap(cnv: np.ndarray, window_chrom: Sequence[str], groups: pd.Categorical, *, title: str) -> go.Figure:
    """Inferred copy number of cells (rows, grouped) along the genome (columns, chromosomes marked)."""
    order = np.argsort(np.asarray(groups.codes), kind="stable")
    z = np.round(np.asarray(cnv, dtype=float)[order], 3)
    chrom = np.asarray(window_chrom).astype(str)
    starts = [0, *(np.flatnonzero(chrom[1:] != chrom[:-1]) + 1).tolist()]
    ends = [*starts[1:], len(chrom)]
    finite = np.abs(z[np.isfinite(z)])
    lim = float(np.percentile(finite, 99)) if finite.size and np.percentile(finite, 99) > 0 else 0.1
    labels = np.asarray(groups.astype(str))[order]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            zmin=-lim,
            zmax=lim,
            colorscale="RdBu_r",
            colorbar={"title": "CNV"},
            hovertemplate="window %{x}, cell %{y}: %{z:.3f}<extra></extra>",
        )
    )
    for s in starts[1:]:
        fig.add_vline(x=s - 0.5, line={"color": "#444", "width": 0.6})
    bounds = [0, *(np.flatnonzero(labels[1:] != labels[:-1]) + 1).tolist(), len(labels)]
    for b in bounds[1:-1]:
        fig.add_hline(y=b - 0.5, line={"color": "#111", "width": 1.2})
    ytick = [(a + b - 1) / 2 for a, b in itertools.pairwise(bounds)]
    fig.update_layout(
        title=title,
        height=620,
        xaxis={
            "tickvals": [(a + b - 1) / 2 for a, b in zip(starts, ends, strict=True)],
            "ticktext": [c.removeprefix("chr") for c in chrom[starts]],
            "tickfont": {"size": 9},
            "title": "chromosome",
        },
        yaxis={"tickvals": ytick, "ticktext": [labels[int(t)] for t in ytick], "autorange": "reversed"},
        **_LAYOUT,
    )
    return fig
