"""Interactive figures of a TME profile (plotly), built from what the analyses stored."""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tmescope import _keys
from tmescope._errors import MissingKeyError
from tmescope.pl import _data

if TYPE_CHECKING:
    from anndata import AnnData

_FONT = "-apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
#: Colours of cell types and feature families (Okabe–Ito and Tol's muted, then greys).
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#882255",
    "#44AA99",
    "#332288",
    "#AA4499",
    "#117733",
    "#DDCC77",
    "#88CCEE",
    "#661100",
    "#6699CC",
)
_OTHER_WORDS = ("other", "uncharacterized", "uncharacterised", "unknown", "tumor", "tumour", "malignant")


_OTHER_RE = re.compile(r"(?:^|[^a-z])(?:" + "|".join(_OTHER_WORDS) + r")(?:[^a-z]|$)")


def _is_other(name: str) -> bool:
    """Whether a category is the remainder ("other", "tumour", …) — whole words only, not "immunotherapy"."""
    return _OTHER_RE.search(str(name).lower()) is not None


def category_colors(names: list[str]) -> dict[str, str]:
    """A colour per category name; "other"/"tumour"/"unknown" categories are grey.

    Examples
    --------
    >>> category_colors(["T cells", "Other", "immunotherapy"])
    {'T cells': '#0072B2', 'Other': '#BBBBBB', 'immunotherapy': '#E69F00'}
    """
    out: dict[str, str] = {}
    i = 0
    for name in names:
        if _is_other(name):
            out[name] = "#BBBBBB"
        else:
            out[name] = PALETTE[i % len(PALETTE)]
            i += 1
    return out


def pretty(name: str) -> str:
    """A readable label from a column or feature name.

    Examples
    --------
    >>> pretty("T.cells.CD8")
    'T cells CD8'
    >>> pretty("Matrix_remodeling")
    'Matrix remodeling'
    >>> pretty("cd8_t")
    'CD8 T cells'
    """
    text = str(name)
    return _LABELS.get(text.lower(), text.replace("_", " ").replace(".", " ").strip())


#: Display names of the cell types the deconvolution writes in snake case.
_LABELS = {
    "b_cell": "B cells",
    "b_cells": "B cells",
    "cd8_t": "CD8 T cells",
    "cd4_t": "CD4 T cells",
    "nk": "NK cells",
    "nk_cell": "NK cells",
    "treg": "Tregs",
    "macrophage": "Macrophages",
    "macrophage_m1": "Macrophages M1",
    "macrophage_m2": "Macrophages M2",
    "monocyte": "Monocytes",
    "neutrophil": "Neutrophils",
    "dendritic_cell": "Dendritic cells",
    "endothelial": "Endothelial cells",
    "endothelial_cell": "Endothelial cells",
    "caf": "Fibroblasts (CAF)",
    "fibroblast": "Fibroblasts",
    "other": "Other (mostly tumour cells)",
}


#: Axis look shared by every figure (close to plotly_white).
_AXIS = {"gridcolor": "#EBF0F8", "linecolor": "#BCCCDC", "zerolinecolor": "#D5DEE8", "automargin": True}


def _base_layout(*, title: str, height: int) -> dict[str, Any]:
    # The "none" template plus a few explicit settings look like plotly_white at a fraction of the cost
    # (copying a full template costs ~50 ms per figure, which adds up over hundreds of sample pages).
    return {
        "template": "none",
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "title": {"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}},
        "font": {"family": _FONT, "size": 12, "color": "#222"},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
        "legend": {"bgcolor": "rgba(255,255,255,0.8)"},
        "hoverlabel": {"font": {"family": _FONT}},
    }


def _style(fig: go.Figure, *, title: str, height: int) -> go.Figure:
    fig.update_layout(**_base_layout(title=title, height=height))
    fig.update_xaxes(**_AXIS)
    fig.update_yaxes(**_AXIS)
    return fig


def _figure(data: list[dict[str, Any]], *, title: str, height: int, **layout: Any) -> go.Figure:
    """A figure built in one validated step from plain dicts (several times faster than adding traces)."""
    base = _base_layout(title=title, height=height)
    for axis in ("xaxis", "yaxis"):
        layout[axis] = {**_AXIS, **layout.get(axis, {})}
    return go.Figure(data=data, layout={**base, **layout})


def subtype_distribution(adata: AnnData, *, key: str = _keys.OBS_SUBTYPE) -> go.Figure:
    """Bar chart of how many samples fall into each TME subtype.

    Parameters
    ----------
    adata
        Profile AnnData with the subtype in ``adata.obs[key]``.
    key
        ``obs`` column holding the subtype.

    Returns
    -------
    A plotly Figure (one bar per subtype, labelled with count and share).

    Examples
    --------
    >>> import anndata as ad
    >>> adata = ad.AnnData(obs=pd.DataFrame({"tme_subtype": ["IE", "D", "D"]}, index=["a", "b", "c"]))
    >>> [bar.name for bar in subtype_distribution(adata).data]
    ['IE', 'D']
    """
    labels = _data.subtypes(adata, key=key)
    counts = labels.value_counts()
    levels = _data.subtype_levels(labels)
    n = len(labels)
    fig = go.Figure()
    for level in levels:
        c = int(counts.get(level, 0))
        meaning = _data.SUBTYPE_MEANING.get(level, "")
        fig.add_trace(
            go.Bar(
                x=[level],
                y=[c],
                name=level,
                marker_color=_data.subtype_color(level),
                text=[f"{c} ({c / n:.0%})"],
                textposition="outside",
                hovertemplate=f"<b>{level}</b>: %{{y}} of {n} samples<br>{meaning}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="samples", rangemode="tozero")
    fig.update_xaxes(title_text="TME subtype", categoryorder="array", categoryarray=levels)
    fig.update_layout(showlegend=False, bargap=0.35)
    return _style(fig, title=f"TME subtypes of {n} samples", height=380)


def _strip(fig: go.Figure, order: list[str], labels: pd.Series, *, row: int) -> None:
    """An annotation strip of subtype colours above a samples-on-x panel."""
    for level in _data.subtype_levels(labels):
        members = [s for s in order if labels[s] == level]
        fig.add_trace(
            go.Bar(
                x=members,
                y=[1] * len(members),
                customdata=members,
                name=level,
                legendgroup="subtype",
                legendgrouptitle_text="TME subtype",
                marker={"color": _data.subtype_color(level), "line": {"width": 0}},
                hovertemplate=f"%{{x}}: {level}<extra></extra>",
            ),
            row=row,
            col=1,
        )
    fig.update_yaxes(visible=False, range=[0, 1], row=row, col=1)


def _sample_axis(fig: go.Figure, order: list[str], *, rows: int) -> None:
    show = len(order) <= 60
    for r in range(1, rows + 1):
        fig.update_xaxes(
            type="category",
            categoryorder="array",
            categoryarray=order,
            showticklabels=show and r == rows,
            tickangle=-60,
            row=r,
            col=1,
        )
    fig.update_xaxes(title_text="samples" + ("" if show else " (hover for names; click to open)"), row=rows, col=1)


def composition_order(frac: pd.DataFrame, labels: pd.Series | None) -> list[str]:
    """Sample order for stacked composition bars: by subtype, then by the most variable cell type."""
    cols = [c for c in frac.columns if not _is_other(c)] or list(frac.columns)
    key_col = frac[cols].var().fillna(0).idxmax()
    frame = pd.DataFrame({"v": frac[key_col].fillna(0).to_numpy()}, index=frac.index)
    if labels is not None:
        rank = {s: i for i, s in enumerate(_data.subtype_levels(labels))}
        frame["g"] = labels.reindex(frac.index).map(rank).to_numpy()
        frame = frame.sort_values(["g", "v"], ascending=[True, False], kind="stable")
    else:
        frame = frame.sort_values("v", ascending=False, kind="stable")
    return [str(s) for s in frame.index]


def composition_bars(
    adata: AnnData, *, key: str = _keys.OBSM_FRACTIONS, groupby: str | None = _keys.OBS_SUBTYPE
) -> go.Figure:
    """Stacked bars of cell-type fractions per sample, samples ordered by subtype.

    Parameters
    ----------
    adata
        Profile AnnData with fractions in ``adata.obsm[key]``.
    key
        ``obsm`` key of the samples x cell types fractions.
    groupby
        ``obs`` column used to order samples and draw the annotation strip; ``None`` (or an absent
        column) orders samples by their fractions only.

    Returns
    -------
    A plotly Figure: an annotation strip of subtypes above one stacked bar per sample.
    """
    frac = _data.fractions(adata, key=key)
    labels = _data.subtypes(adata, key=groupby) if groupby and groupby in adata.obs.columns else None
    order = composition_order(frac, labels)
    rows = 2 if labels is not None else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.05, 0.95] if rows == 2 else [1.0],
        vertical_spacing=0.01,
    )
    if labels is not None:
        _strip(fig, order, labels, row=1)
    colors = category_colors(list(frac.columns))
    data = frac.loc[order]
    for col in frac.columns:
        fig.add_trace(
            go.Bar(
                x=order,
                y=data[col].to_numpy(),
                customdata=order,
                name=pretty(col),
                legendgroup="cells",
                legendgrouptitle_text="cell type",
                marker={"color": colors[col], "line": {"width": 0}},
                hovertemplate=f"%{{x}}<br>{pretty(col)}: %{{y:.1%}}<extra></extra>",
            ),
            row=rows,
            col=1,
        )
    fig.update_layout(barmode="stack", bargap=0.08)
    fig.update_yaxes(title_text="fraction of cells", tickformat=".0%", row=rows, col=1)
    _sample_axis(fig, order, rows=rows)
    return _style(fig, title="Cell-type composition per sample, ordered by TME subtype", height=520)


def heatmap_order(
    scaled: pd.DataFrame, labels: pd.Series | None, *, cluster_signatures: bool = False
) -> tuple[list[str], list[str]]:
    """Sample and signature order of the heat map: samples clustered (within the plot), signatures as stored."""
    samples = [str(s) for s in scaled.index[_data.cluster_order(scaled.to_numpy())]]
    sigs = list(scaled.columns)
    if cluster_signatures:
        sigs = [sigs[i] for i in _data.cluster_order(scaled.to_numpy().T)]
    return samples, sigs


def signature_heatmap(
    adata: AnnData,
    *,
    key: str = _keys.OBSM_SUBTYPE_SCALED,
    groupby: str | None = _keys.OBS_SUBTYPE,
    cluster_signatures: bool = False,
) -> go.Figure:
    """Heat map of the scaled functional signatures, samples clustered, with a subtype annotation strip.

    Parameters
    ----------
    adata
        Profile AnnData with scaled signatures in ``adata.obsm[key]`` (samples x signatures).
    key
        ``obsm`` key of the scaled scores.
    groupby
        ``obs`` column drawn as the annotation strip; ``None`` for none.
    cluster_signatures
        Cluster the signatures too; by default they keep their stored order (the functional modules of
        Bagaev et al. 2021).

    Returns
    -------
    A plotly Figure: subtype strip above a signatures x samples heat map (blue low, red high).
    """
    scaled = _data.obsm_frame(
        adata,
        key,
        what="scaled signature scores",
        fix="run `tmescope.subtype.classify_subtype(adata)` (part of `tmescope profile`)",
    )
    labels = _data.subtypes(adata, key=groupby) if groupby and groupby in adata.obs.columns else None
    samples, sigs = heatmap_order(scaled, labels, cluster_signatures=cluster_signatures)
    z = scaled.loc[samples, sigs].to_numpy().T
    finite = np.abs(z[np.isfinite(z)])
    lim = float(np.quantile(finite, 0.98)) if finite.size else 1.0
    lim = lim if lim > 0 else 1.0
    rows = 2 if labels is not None else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.04, 0.96] if rows == 2 else [1.0],
        vertical_spacing=0.01,
    )
    if labels is not None:
        _strip(fig, samples, labels, row=1)
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=samples,
            y=[pretty(s) for s in sigs],
            colorscale="RdBu_r",
            zmid=0,
            zmin=-lim,
            zmax=lim,
            colorbar={"title": {"text": "scaled<br>score"}, "len": 0.55, "y": 0.0, "yanchor": "bottom"},
            hovertemplate="%{x}<br>%{y}: %{z:.2f}<extra></extra>",
            hoverongaps=False,
        ),
        row=rows,
        col=1,
    )
    fig.update_yaxes(autorange="reversed", row=rows, col=1)
    fig.update_layout(bargap=0, legend={"y": 1.0, "yanchor": "top", "x": 1.02})
    _sample_axis(fig, samples, rows=rows)
    return _style(
        fig,
        title="Functional signatures (scaled) — samples clustered",
        height=max(420, 150 + 18 * len(sigs)),
    )


def embedding(
    adata: AnnData,
    *,
    basis: str = _keys.OBSM_EMBEDDING,
    color: str | None = _keys.OBS_SUBTYPE,
    reference: bool = True,
) -> go.Figure:
    """Map of samples (the stored 2-D embedding), coloured by subtype.

    Parameters
    ----------
    adata
        Profile AnnData with a 2-D embedding in ``adata.obsm[basis]``.
    basis
        ``obsm`` key of the embedding.
    color
        ``obs`` column colouring the points; ``None`` for one colour.
    reference
        Draw the reference cases stored by the subtype call (``uns["tme_subtype"]["reference_embedding"]``)
        faintly behind the samples, when present.

    Returns
    -------
    A plotly Figure with one scatter trace per subtype (hover shows the sample ID).
    """
    emb = _data.embedding_frame(adata, basis=basis)
    ok = np.isfinite(emb.to_numpy()).all(axis=1)
    if not ok.any():
        msg = f"No sample embedding: every row of `adata.obsm[{basis!r}]` has missing coordinates."
        raise MissingKeyError(msg)
    emb = emb.loc[ok]
    labels = (
        _data.subtypes(adata, key=color).reindex(emb.index)
        if color and color in adata.obs.columns
        else pd.Series("samples", index=emb.index)
    )
    conf = None
    if _keys.OBS_SUBTYPE_CONFIDENCE in adata.obs.columns:
        conf = pd.Series(
            pd.to_numeric(adata.obs[_keys.OBS_SUBTYPE_CONFIDENCE], errors="coerce").to_numpy(),
            index=adata.obs_names.astype(str),
        ).reindex(emb.index)
    fig = go.Figure()
    info = adata.uns.get(_keys.UNS_SUBTYPE, {})
    ref = _data.as_table(info.get("reference_embedding")) if reference and isinstance(info, dict) else None
    if ref is not None and {"x", "y"} <= set(ref.columns):
        ref_labels = ref["subtype"].astype(str) if "subtype" in ref.columns else pd.Series("reference", index=ref.index)
        for level in _data.subtype_levels(ref_labels):
            sel = ref.loc[(ref_labels == level).to_numpy()]
            fig.add_trace(
                go.Scatter(
                    x=sel["x"].to_numpy(dtype=float),
                    y=sel["y"].to_numpy(dtype=float),
                    mode="markers",
                    name=f"reference {level}",
                    legendgroup="reference",
                    legendgrouptitle_text="reference cases",
                    marker={"color": _data.subtype_color(level), "size": 4, "opacity": 0.18},
                    hoverinfo="skip",
                )
            )
    for level in _data.subtype_levels(labels):
        sel = labels.index[(labels == level).to_numpy()]
        text = [
            f"{escape(str(s), quote=False)}<br>subtype {level}"
            + (f", confidence {conf[s]:.0%}" if conf is not None and np.isfinite(conf[s]) else "")
            for s in sel
        ]
        fig.add_trace(
            go.Scatter(
                x=emb.loc[sel].iloc[:, 0].to_numpy(),
                y=emb.loc[sel].iloc[:, 1].to_numpy(),
                mode="markers",
                name=level,
                legendgroup="samples",
                legendgrouptitle_text="this cohort",
                customdata=[str(s) for s in sel],
                text=text,
                marker={"color": _data.subtype_color(level), "size": 9, "line": {"color": "white", "width": 0.8}},
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text=str(emb.columns[0]), zeroline=False)
    fig.update_yaxes(title_text=str(emb.columns[1]), zeroline=False)
    return _style(fig, title="Map of samples by their signatures, coloured by TME subtype", height=520)


def composition_intervals(
    adata: AnnData,
    *,
    sample: str,
    key: str = _keys.OBSM_FRACTIONS,
    low_key: str = _keys.OBSM_FRACTIONS_LOW,
    high_key: str = _keys.OBSM_FRACTIONS_HIGH,
) -> go.Figure:
    """One sample's cell-type fractions with their intervals, largest first.

    Parameters
    ----------
    adata
        Profile AnnData with fractions (and optionally interval bounds) in ``obsm``.
    sample
        Sample ID (an entry of ``adata.obs_names``).
    key, low_key, high_key
        ``obsm`` keys of the fractions and of the lower and upper interval bounds.

    Returns
    -------
    A plotly Figure: a point per cell type with a horizontal interval bar.
    """
    frames = _data.interval_frames(adata, key=key, low_key=low_key, high_key=high_key)
    return _interval_figure(frames, _data.sample_position(adata, sample))


def _interval_figure(frames: tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None], pos: int) -> go.Figure:
    """Composition of the sample in row ``pos`` from already-read fractions and bounds."""
    frac, low, high = frames
    sid = frac.index[pos]
    sample = sid
    values = frac.iloc[pos]
    if values.isna().all():
        msg = f"No cell-type fractions for sample {sample!r}: the stored row is empty."
        raise MissingKeyError(msg)
    order = values.sort_values(ascending=True, kind="stable").index
    x = values[order].to_numpy()
    err: dict[str, object] = {}
    if low is not None and high is not None:
        lo = low.loc[sid, order].to_numpy()
        hi = high.loc[sid, order].to_numpy()
        err = {
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": np.clip(hi - x, 0, None),
                "arrayminus": np.clip(x - lo, 0, None),
                "color": "#555",
                "thickness": 1.5,
                "width": 4,
            },
            "customdata": np.column_stack([lo, hi]),
            "hovertemplate": "%{y}: %{x:.1%} (interval %{customdata[0]:.1%} to %{customdata[1]:.1%})<extra></extra>",
        }
    else:
        err = {"hovertemplate": "%{y}: %{x:.1%}<extra></extra>"}
    colors = category_colors(list(frac.columns))
    trace = {
        "type": "scatter",
        "x": x,
        "y": [pretty(c) for c in order],
        "mode": "markers",
        "marker": {"color": [colors[c] for c in order], "size": 11, "line": {"color": "#333", "width": 0.6}},
        "showlegend": False,
        **err,
    }
    note = "" if err.get("error_x") is not None else " (no intervals stored)"
    return _figure(
        [trace],
        title=f"Cell-type composition of {escape(str(sid), quote=False)}{note}",
        height=max(300, 110 + 28 * len(order)),
        xaxis={"title": {"text": "fraction of cells"}, "tickformat": ".0%", "rangemode": "tozero"},
        yaxis={"type": "category", "range": [-0.7, len(order) - 0.3]},
    )


def feature_percentiles(features: pd.DataFrame, *, sample: str) -> go.Figure:
    """Every feature of one sample ranked by its cohort percentile (lollipop chart).

    Parameters
    ----------
    features
        Tidy feature table (:data:`tmescope.io.FEATURE_COLUMNS`) with a ``percentile`` column.
    sample
        Sample ID.

    Returns
    -------
    A plotly Figure: one horizontal lollipop per feature from the cohort median (50) to its percentile,
    coloured by feature family; flagged features are marked with an open symbol and "⚠".

    Examples
    --------
    >>> table = pd.DataFrame({"sample": ["s1", "s1"], "feature": ["composition.b", "signature.mhci"],
    ...                       "value": [0.1, 0.5], "percentile": [80.0, 20.0]})
    >>> list(feature_percentiles(table, sample="s1").data[1].y)
    ['composition.b']
    """
    rows = _data.sample_features(features, sample).ranked
    if rows.empty:
        msg = f"No cohort percentiles for sample {sample!r}: the `percentile` column of its feature rows is empty."
        raise MissingKeyError(msg)
    return _percentile_figure(rows, sample=str(sample))


def _fmt_value(value: float, unit: str) -> str:
    if not np.isfinite(value):
        return "–"
    text = f"{value:.3g}"
    return f"{text} {unit}".strip() if unit else text


def _percentile_figure(rows: pd.DataFrame, *, sample: str) -> go.Figure:
    labels = [f"{f} ⚠" if flag else f for f, flag in zip(rows["feature"], rows["flag"], strict=True)]
    families = sorted(set(rows["family"]))
    colors = category_colors(families)
    seg_x: list[float | None] = []
    seg_y: list[str | None] = []
    for lab, p in zip(labels, rows["percentile"], strict=True):
        seg_x += [50.0, float(p), None]
        seg_y += [lab, lab, None]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": seg_x,
            "y": seg_y,
            "mode": "lines",
            "line": {"color": "#AAAAAA", "width": 1.5},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    ]
    hover = [
        f"<b>{escape(str(f), quote=False)}</b><br>value {escape(_fmt_value(v, u), quote=False)}"
        + (f" (interval {lo:.3g} to {hi:.3g})" if np.isfinite(lo) and np.isfinite(hi) else "")
        + f"<br>percentile {p:.0f}<br>method {escape(m, quote=False) or '–'}"
        + (f"<br>flag: {fl}" if fl else "")
        for f, v, u, lo, hi, p, m, fl in zip(
            rows["feature"],
            rows["value"],
            rows["unit"],
            rows["ci_low"],
            rows["ci_high"],
            rows["percentile"],
            rows["method"],
            rows["flag"],
            strict=True,
        )
    ]
    fam = rows["family"].to_numpy()
    flagged = (rows["flag"] != "").to_numpy()
    pct = rows["percentile"].to_numpy()
    for name in families:
        # Unflagged points first: the legend draws the family with its first point's symbol.
        sel = np.flatnonzero(fam == name)
        sel = sel[np.argsort(flagged[sel], kind="stable")]
        data.append(
            {
                "type": "scatter",
                "x": pct[sel],
                "y": [labels[i] for i in sel],
                "mode": "markers",
                "name": name,
                "text": [hover[i] for i in sel],
                "hovertemplate": "%{text}<extra></extra>",
                "marker": {
                    "color": colors[name],
                    "size": 9,
                    "symbol": np.where(flagged[sel], "circle-open", "circle"),
                    "line": {"width": 1.5, "color": colors[name]},
                },
            }
        )
    return _figure(
        data,
        title=f"Every feature of {escape(sample, quote=False)}, ranked by cohort percentile",
        height=max(320, 130 + 17 * len(labels)),
        xaxis={
            "title": {"text": "cohort percentile (50 = median of the cohort)"},
            "range": [-2, 102],
            "dtick": 10,
            "zeroline": False,
        },
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels[::-1],
            # autorange pads categories by the marker size, which leaves a blank band
            "range": [-0.7, len(labels) - 0.3],
            "tickfont": {"size": 11},
        },
        legend={"title": {"text": "feature family"}, "bgcolor": "rgba(255,255,255,0.8)"},
        shapes=[
            {
                "type": "line",
                "x0": 50,
                "x1": 50,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": "#666", "dash": "dot", "width": 1},
            }
        ],
    )
