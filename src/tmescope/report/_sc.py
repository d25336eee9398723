"""The single-cell page of the HTML report: UMAPs, composition per sample, state heatmap, inferred copy number.

It draws what the :mod:`tmescope.sc` analyses stored in the AnnData and computes nothing itself (seeded subsamples
of at most ``max_points`` cells keep the page light).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import MissingKeyError
from tmescope.pl import _sc as scfig
from tmescope.pl._spatial import color_map
from tmescope.report import _html as h
from tmescope.report._write import _check_outdir, write_single_page

if TYPE_CHECKING:
    import anndata as ad

logger = logging.getLogger(__name__)

#: State programs shown first on the state UMAP (when scored), then the others up to ``max_states``.
_PREFERRED_STATES = ("mycaf", "icaf", "apcaf", "exhaust", "cytotox", "m1", "m2", "mes", "ac_", "opc", "npc", "hypox")


def _subsample(n: int, max_points: int, seed: int, valid: np.ndarray) -> np.ndarray:
    pos = np.flatnonzero(valid)
    if pos.size > max_points:
        pos = np.sort(np.random.default_rng(seed).choice(pos, max_points, replace=False))
    return pos


def _umap_section(adata: ad.AnnData, *, max_points: int, max_states: int, seed: int) -> str:
    if _keys.OBSM_UMAP not in adata.obsm:
        return h.omitted("UMAP", "No obsm['X_umap']; run tmescope.sc.embed_cells(cells) (tmescope sc does).")
    coords = np.asarray(adata.obsm[_keys.OBSM_UMAP], dtype=float)
    pos = _subsample(adata.n_obs, max_points, seed, np.isfinite(coords).all(axis=1))
    note = f" ({pos.size:,} of {adata.n_obs:,} cells shown)" if pos.size < adata.n_obs else ""
    comp = pd.Categorical(adata.obs[_keys.OBS_COMPARTMENT].astype(str))
    colors = color_map([str(c) for c in comp.categories])
    parts = [
        h.figure(
            scfig.umap_categories(coords[pos], comp[pos], title=f"Compartments{note}", colors=colors),
            "umap-compartment",
            filename="umap_compartment",
        )
    ]
    if _keys.OBS_GBM_STATE in adata.obs:
        gbm = pd.Categorical(adata.obs[_keys.OBS_GBM_STATE].astype(str).replace({"nan": "not malignant"}))
        parts.append(
            h.figure(
                scfig.umap_categories(coords[pos], gbm[pos], title=f"Glioblastoma states (Neftel 2019){note}"),
                "umap-gbm",
                filename="umap_gbm_state",
            )
        )
    if _keys.OBS_CNV_CALL in adata.obs:
        call = pd.Categorical(adata.obs[_keys.OBS_CNV_CALL].astype(str))
        parts.append(
            h.figure(
                scfig.umap_categories(
                    coords[pos],
                    call[pos],
                    title=f"Copy-number call{note}",
                    colors={"malignant": "#d62728", "normal": "#1f77b4", "reference": "#bdbdbd"},
                ),
                "umap-cnv",
                filename="umap_cnv_call",
            )
        )
    if _keys.OBSM_SC_STATES in adata.obsm:
        states = pd.DataFrame(adata.obsm[_keys.OBSM_SC_STATES]).dropna(axis=1, how="all")
        cols = [str(c) for c in states.columns]
        first = [c for c in cols if any(p in c.lower() for p in _PREFERRED_STATES)]
        chosen = (first + [c for c in cols if c not in first])[:max_states]
        if chosen:
            parts.append(
                h.figure(
                    scfig.umap_scores(coords[pos], states.iloc[pos][chosen], title=f"Cell-state scores{note}"),
                    "umap-states",
                    filename="umap_states",
                )
            )
    return "\n".join(parts)


def _state_table(adata: ad.AnnData) -> pd.DataFrame | None:
    info = adata.uns.get(_keys.UNS_SC_STATES)
    if not isinstance(info, dict) or "summary" not in info or not len(info["summary"]):
        return None
    s = info["summary"].copy()
    s = s[np.isfinite(s["mean"].astype(float))]
    if s.empty:
        return None
    s["weighted"] = s["mean"].astype(float) * s["n_cells"].astype(float)
    s["n_cells"] = s["n_cells"].astype(float)
    kw = {"index": "compartment", "columns": "set", "aggfunc": "sum", "observed": True}
    total = s.pivot_table(values="weighted", **kw)
    cells = s.pivot_table(values="n_cells", **kw)
    return total / cells.where(cells > 0)


def write_sc_report(
    adata: ad.AnnData,
    outdir: str | Path,
    *,
    features: pd.DataFrame | None = None,
    title: str = "Single-cell tumour microenvironment",
    max_points: int = 20_000,
    max_cnv_cells: int = 1_500,
    max_states: int = 16,
    seed: int = 0,
) -> Path:
    """Write the single-cell report page (``index.html`` with its ``assets/``) from an analysed AnnData.

    Sections (each omitted, with a note, when its result is absent): UMAP coloured by compartment, by
    glioblastoma state and copy-number call when computed, and by state score (drop-down); compartments per
    sample (stacked bars); the state heatmap (compartment x state program, mean per-cell score); the inferred
    copy-number heatmap (cells grouped by call and compartment, along the genome).

    Parameters
    ----------
    adata
        Cells after :func:`tmescope.sc.annotate_compartments` (and optionally :func:`~tmescope.sc.score_states`,
        :func:`~tmescope.sc.infer_cnv` / :func:`~tmescope.sc.call_malignant`, :func:`~tmescope.sc.embed_cells`).
    outdir
        Report folder (written under a temporary name and renamed when complete).
    features
        The run's feature table (its composition rows give the bars); default: computed from ``obs``.
    title
        Page title.
    max_points, max_cnv_cells, max_states
        Most cells drawn per UMAP, rows of the CNV heatmap, state programs in the UMAP drop-down.
    seed
        Seed of the subsamples.

    Returns
    -------
    Path of ``outdir/index.html``.
    """
    from tmescope.sc._aggregate import composition

    if _keys.OBS_COMPARTMENT not in adata.obs:
        msg = "The AnnData has no obs['compartment']; run tmescope.sc.annotate_compartments(cells) first."
        raise MissingKeyError(msg)
    outdir = Path(outdir)
    _check_outdir(outdir)
    comp = composition(adata)
    colors = color_map([str(c) for c in pd.Categorical(adata.obs[_keys.OBS_COMPARTMENT].astype(str)).categories])
    n_samples = comp["sample"].nunique()
    body = [
        f"<h1>{h.e(title)}</h1>",
        f'<p class="lead">{adata.n_obs:,} cells, {n_samples} sample(s), '
        f"{adata.obs[_keys.OBS_COMPARTMENT].nunique()} compartments, {adata.n_vars:,} genes.</p>",
    ]
    toc = [("umap", "UMAP"), ("composition", "Composition"), ("states", "States")]
    sections = [
        h.section(
            "umap",
            "Cells on the UMAP",
            _umap_section(adata, max_points=max_points, max_states=max_states, seed=seed),
            howto="Each dot is a cell, placed so that cells with similar expression lie close together. Click a "
            "legend entry to hide a group, double-click to show it alone. The state map's menu (top right) picks "
            "the program that colours the cells.",
        ),
        h.section(
            "composition",
            "Compartments per sample",
            h.figure(scfig.composition_stacked(comp, colors=colors), "composition-bars", filename="composition")
            + h.table(
                comp[["sample", "compartment", "n_cells", "fraction", "ci_low", "ci_high"]],
                numeric=["n_cells", "fraction", "ci_low", "ci_high"],
                wrap=True,
            ),
            howto="One bar per sample (cells in brackets); blocks are the share of each compartment. The table "
            "gives 95 % Wilson intervals of each share.",
        ),
    ]
    states = _state_table(adata)
    sections.append(
        h.section(
            "states",
            "Cell states by compartment",
            h.figure(
                scfig.state_heatmap(states, title="Mean state score (per cell, z over all cells)"),
                "states-heat",
                filename="state_heatmap",
            )
            if states is not None
            else h.omitted("State heatmap", "No state scores; run tmescope.sc.score_states(cells)."),
            howto="Rows are compartments, columns state programs, each averaged only in the compartments where it "
            "means something (blank elsewhere). <b>Red</b>: higher than the average cell of the run, <b>blue</b> lower.",
        )
    )
    if _keys.OBSM_CNV in adata.obsm and _keys.OBS_CNV_CALL in adata.obs:
        info = adata.uns[_keys.UNS_CNV]
        groups = (
            adata.obs[_keys.OBS_CNV_CALL].astype(str) + " · " + adata.obs[_keys.OBS_COMPARTMENT].astype(str)
        ).to_numpy()
        pos = _subsample(adata.n_obs, max_cnv_cells, seed, np.ones(adata.n_obs, dtype=bool))
        cats = pd.Categorical(groups[pos])
        note = f" ({pos.size:,} of {adata.n_obs:,} cells shown)" if pos.size < adata.n_obs else ""
        calls = adata.obs[_keys.OBS_CNV_CALL].value_counts().reindex(["malignant", "normal", "reference"]).fillna(0)
        fig = scfig.cnv_heatmap(
            np.asarray(adata.obsm[_keys.OBSM_CNV])[pos],
            list(info["window_chrom"]),
            cats,
            title=f"Inferred copy number{note}",
        )
        params = info["params"]
        toc.append(("cnv", "Copy number"))
        sections.append(
            h.section(
                "cnv",
                "Inferred copy number and malignant cells",
                h.figure(fig, "cnv-heat", filename="cnv_heatmap")
                + h.table(calls.rename_axis("call").reset_index(name="cells"), numeric=["cells"]),
                howto="Rows are cells grouped by call and compartment, columns windows of "
                f"{params['window']} genes along the genome. <b>Red</b>: expression of the region above the reference "
                f"cells ({h.e(', '.join(map(str, params['reference_categories'])))}), as with a copy-number gain; "
                "<b>blue</b> below, as with a loss. Cells whose CNV score exceeds "
                f"{info.get('threshold', float('nan')):.4f} (calibrated on reference cells scored without themselves) "
                "are called malignant.",
            )
        )
    body.append('<nav class="toc">' + "".join(f'<a href="#{a}">{h.e(t)}</a>' for a, t in toc) + "</nav>")
    body += sections
    if features is not None and len(features):
        keep = features[features["feature"].astype(str).str.startswith(("composition.", "cnv.", "gbm_state.", "sc."))]
        if len(keep):
            body.append(
                h.section(
                    "features",
                    "Feature table (composition and calls)",
                    h.table(
                        keep[["sample", "feature", "value", "ci_low", "ci_high", "flag"]],
                        numeric=["value", "ci_low", "ci_high"],
                        wrap=True,
                    ),
                    howto="The rows of features.tsv that this page draws; the full table is next to the report.",
                )
            )
    write_single_page(outdir, title=title, body=body, nav='<a href="index.html">Single-cell TME</a>')
    logger.info("single-cell report written to %s", outdir)
    return outdir / "index.html"
