"""The cohort summary page of a chunked profile: drawn from the tidy feature table alone.

`tmescope profile --chunk-size` profiles cohorts too large for one AnnData, so it keeps no ``profile.h5ad`` and
writes no per-sample pages. This page summarises its ``features.parquet`` instead: TME subtypes and immune
phenotypes counted, cell fractions and key scores as distributions (quantiles and histograms computed here,
so the page stays light for 50,000 samples), and the samples carrying each flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tmescope._errors import InputError
from tmescope.pl._data import SUBTYPE_MEANING, SUBTYPE_ORDER, subtype_color
from tmescope.report import _html as h
from tmescope.report._write import _check_outdir, write_single_page

#: Scores drawn as histograms when present, in this order.
KEY_SCORES = (
    "immunotherapy.gep_18gene_ayers2017",
    "immunotherapy.cyt_rooney2015",
    "immunotherapy.ifng_6gene_ayers2017",
    "estimate.immune_score",
    "estimate.stromal_score",
    "estimate.purity",
)
#: Samples listed per flag (the table says how many more carry it).
LISTED = 25


def _labels(features: pd.DataFrame, name: str) -> pd.Series:
    rows = features[features["feature"] == name]
    return rows.set_index("sample")["label"].astype(str)


def _count_bars(counts: pd.Series, *, title: str, colors: list[str]) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=[str(i) for i in counts.index],
            y=counts.to_numpy(),
            marker_color=colors,
            text=[f"{v:,} ({v / max(counts.sum(), 1):.0%})" for v in counts.to_numpy()],
            textposition="outside",
            hovertemplate="%{x}: %{y:,} samples<extra></extra>",
        )
    )
    fig.update_layout(title=title, yaxis_title="samples", height=380, margin={"t": 60, "b": 40})
    return fig


def _subtype_section(features: pd.DataFrame) -> str:
    labels = _labels(features, "subtype.label")
    if labels.empty:
        return h.omitted("TME subtypes", "The feature table holds no subtype.label.")
    counts = labels.value_counts()
    order = [s for s in SUBTYPE_ORDER if s in counts.index] + sorted(set(counts.index) - set(SUBTYPE_ORDER))
    counts = counts.reindex(order)
    fig = _count_bars(counts, title="TME subtypes", colors=[subtype_color(s) for s in counts.index])
    meaning = pd.DataFrame(
        {"subtype": counts.index, "samples": counts.to_numpy(), "meaning": [SUBTYPE_MEANING.get(s, "") for s in order]}
    )
    return h.figure(fig, "summary-subtypes", filename="subtypes") + h.table(meaning, numeric=["samples"])


def _phenotype_section(features: pd.DataFrame) -> str:
    labels = _labels(features, "immune_phenotype.label")
    if labels.empty:
        return h.omitted("Immune phenotypes", "The feature table holds no immune_phenotype.label.")
    palette = {"inflamed": "#D55E00", "excluded": "#E69F00", "desert": "#999999"}
    counts = labels.value_counts()
    counts = counts.reindex([p for p in palette if p in counts.index] + sorted(set(counts.index) - set(palette)))
    fig = _count_bars(
        counts, title="Immune phenotype (bulk proxy)", colors=[palette.get(s, "#56B4E9") for s in counts.index]
    )
    return h.figure(fig, "summary-phenotypes", filename="immune_phenotypes")


def box_stats(values: np.ndarray) -> dict[str, float]:
    """Quartiles and Tukey fences (1.5 IQR, clipped to the data) of the finite values.

    Examples
    --------
    >>> box_stats(np.array([1.0, 2, 3, 4, 100]))["upperfence"]
    4.0
    """
    v = values[np.isfinite(values)]
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    low = float(v[v >= q1 - 1.5 * iqr].min())
    high = float(v[v <= q3 + 1.5 * iqr].max())
    return {"q1": float(q1), "median": float(med), "q3": float(q3), "lowerfence": low, "upperfence": high}


def _composition_section(features: pd.DataFrame) -> str:
    rows = features[features["feature"].str.startswith("composition.") & (features["feature"] != "composition.fit")]
    if rows.empty:
        return h.omitted("Cell composition", "The feature table holds no composition.* fractions.")
    fig = go.Figure()
    summary = []
    for name, part in rows.groupby("feature", sort=True):
        values = pd.to_numeric(part["value"], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).any():
            continue
        stats = box_stats(values)
        cell = str(name).removeprefix("composition.")
        fig.add_trace(go.Box(x=[cell], name=cell, **{k: [v] for k, v in stats.items()}, marker_color="#0072B2"))
        summary.append({"cell type": cell, **{k: stats[k] for k in ("q1", "median", "q3")}})
    fig.update_layout(
        title="Cell fractions across samples (box: quartiles; whiskers: 1.5 IQR)",
        yaxis_title="fraction of cells",
        showlegend=False,
        height=420,
    )
    table = pd.DataFrame(summary).rename(columns={"q1": "25%", "median": "median", "q3": "75%"})
    return h.figure(fig, "summary-composition", filename="composition") + h.table(
        table, numeric=["25%", "median", "75%"]
    )


def _scores_section(features: pd.DataFrame) -> str:
    present = [s for s in KEY_SCORES if s in set(features["feature"].unique())]
    if not present:
        return h.omitted("Key scores", "The feature table holds none of the key scores.")
    parts = []
    for i, name in enumerate(present):
        values = pd.to_numeric(features.loc[features["feature"] == name, "value"], errors="coerce").to_numpy(float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        counts, edges = np.histogram(values, bins=min(40, max(5, int(np.sqrt(values.size)))))
        centers = (edges[:-1] + edges[1:]) / 2
        fig = go.Figure(
            go.Bar(
                x=centers,
                y=counts,
                width=np.diff(edges),
                marker_color="#009E73",
                hovertemplate="%{x:.3g}: %{y:,} samples<extra></extra>",
            )
        )
        fig.update_layout(title=name, xaxis_title="value", yaxis_title="samples", height=300, bargap=0.02)
        parts.append(h.figure(fig, f"summary-score-{i}", filename=name.replace(".", "_")))
    return "\n".join(parts)


def _flags_section(features: pd.DataFrame) -> str:
    flagged = features[features["flag"].astype(str).str.len() > 0]
    if flagged.empty:
        return "<p>No feature of any sample is flagged.</p>"
    rows = []
    for (feature, flag), part in flagged.groupby(["feature", "flag"], sort=True):
        samples = sorted(set(part["sample"].astype(str)))
        more = f" … and {len(samples) - LISTED:,} more" if len(samples) > LISTED else ""
        rows.append(
            {"feature": feature, "flag": flag, "samples": len(samples), "which": ", ".join(samples[:LISTED]) + more}
        )
    table = pd.DataFrame(rows).sort_values(["samples", "feature"], ascending=[False, True])
    return h.table(table, numeric=["samples"], wrap=True)


def write_summary_report(
    features: pd.DataFrame,
    outdir: str | Path,
    *,
    title: str = "TME profile: cohort summary",
    info: dict[str, Any] | None = None,
) -> Path:
    """Write a one-page cohort summary (``outdir/index.html`` with ``assets/``) from a tidy feature table.

    Parameters
    ----------
    features
        Tidy feature table (:data:`tmescope.io.FEATURE_COLUMNS`), e.g. from :func:`tmescope.profile.profile_chunks`.
    outdir
        Report folder (written under a temporary name and renamed when complete).
    title
        Page title.
    info
        Run parameters shown under the title (e.g. reference, chunk size, scheduler).

    Returns
    -------
    Path of ``outdir/index.html``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tmescope.io import FEATURE_COLUMNS
    >>> rows = [{"sample": f"S{i}", "feature": "subtype.label", "label": "IE" if i % 2 else "D"} for i in range(4)]
    >>> table = pd.DataFrame(rows).reindex(columns=FEATURE_COLUMNS)
    >>> page = write_summary_report(table, pathlib.Path(tempfile.mkdtemp()) / "report")
    >>> "TME subtypes" in page.read_text()
    True
    """
    missing = [c for c in ("sample", "feature", "value", "label", "flag") if c not in features.columns]
    if missing:
        msg = f"The feature table lacks column(s) {missing}; pass a table from tmescope.io.read_features."
        raise InputError(msg)
    outdir = Path(outdir)
    _check_outdir(outdir)
    features = features.assign(
        label=features["label"].fillna("").astype(str), flag=features["flag"].fillna("").astype(str)
    )
    n_samples = features["sample"].nunique()
    details = "; ".join(f"{k}: {h.e(h.fmt(v))}" for k, v in (info or {}).items())
    body = [
        f"<h1>{h.e(title)}</h1>",
        f'<p class="lead">{n_samples:,} samples, {features["feature"].nunique():,} features per sample. '
        "Distributions are drawn from the feature table; per-sample pages are not written for chunked "
        f"profiles (profile a subset without --chunk-size for them).{' ' + details if details else ''}</p>",
        h.section(
            "subtypes",
            "TME subtypes",
            _subtype_section(features),
            howto="Bagaev et al. 2021 subtypes, each sample placed against the reference cohort.",
        ),
        h.section(
            "phenotypes",
            "Immune phenotype",
            _phenotype_section(features),
            howto="A bulk proxy of the spatial phenotype from CD8 and stromal TGF-β signals, not a measurement.",
        ),
        h.section(
            "composition",
            "Cell composition",
            _composition_section(features),
            howto="Deconvolved fractions of cells; 'other' is the uncharacterised share (tumour and stromal cells).",
        ),
        h.section("scores", "Key scores", _scores_section(features), howto="Number of samples in each value bin."),
        h.section(
            "flags",
            "Flags",
            _flags_section(features),
            howto="Features flagged for a sample (e.g. poor_fit: the deconvolution fits this sample worse than "
            "97.5% of real tumours; borderline: a rule's input sits near its threshold).",
        ),
        '<p class="downloads">Data: <a href="../features.tsv">features.tsv</a> · '
        '<a href="../provenance.json">provenance.json</a></p>',
    ]
    return write_single_page(outdir, title=title, body=body, nav='<a href="index.html">Cohort summary</a>')
