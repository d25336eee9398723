"""MCP-counter-style marker abundance (Becht et al. 2016)."""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmescope._errors import CoverageWarning, InputError
from tmescope._keys import OBSM_MCP
from tmescope._logging import warn
from tmescope._registry import register
from tmescope.bulk._common import check_adata, data_path, on_scale

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["POPULATIONS", "mcp_counter", "mcp_counter_kernel"]

#: MCP-counter population -> column name written by :func:`mcp_counter`.
POPULATIONS = {
    "T cells": "t_cells",
    "CD8 T cells": "cd8_t_cells",
    "Cytotoxic lymphocytes": "cytotoxic_lymphocytes",
    "NK cells": "nk_cells",
    "B lineage": "b_lineage",
    "Monocytic lineage": "monocytic_lineage",
    "Myeloid dendritic cells": "myeloid_dendritic_cells",
    "Neutrophils": "neutrophils",
    "Endothelial cells": "endothelial_cells",
    "Fibroblasts": "fibroblasts",
}
UNS_MCP = "mcp_counter"


@cache
def _markers() -> dict[str, tuple[str, ...]]:
    table = pd.read_csv(data_path("mcpcounter_markers.tsv"), sep="\t")
    return {POPULATIONS[p]: tuple(g["gene"]) for p, g in table.groupby("population", sort=False)}


def mcp_counter_kernel(L: np.ndarray, marker_sets: list[np.ndarray]) -> np.ndarray:
    """Mean of each marker set's log2 expression per sample (NaN for an empty set).

    Examples
    --------
    >>> mcp_counter_kernel(np.array([[1.0, 3.0, 8.0]]), [np.array([0, 1]), np.array([], int)]).tolist()
    [[2.0, nan]]
    """
    out = np.full((L.shape[0], len(marker_sets)), np.nan)
    for j, idx in enumerate(marker_sets):
        if len(idx):
            out[:, j] = L[:, idx].mean(axis=1)
    return out


@register(
    name="mcp_counter",
    topic="bulk",
    modality="bulk expression",
    citation="Becht et al. 2016, Genome Biol 17:218 (MCP-counter markers, CC0)",
    scale="log2(x + 1); linear input is log-transformed",
)
def mcp_counter(adata: ad.AnnData, *, layer: str | None = None, copy: bool = False) -> pd.DataFrame:
    """Marker-based abundance of 10 immune and stromal populations (MCP-counter style).

    The score of a population is the mean log2(x + 1) expression of its MCP-counter markers present in
    the data. Scores are in arbitrary units: comparable across samples for one population, **not**
    across populations (no fraction). A population with fewer than half of its markers present
    (rounded up) is NaN, with a :class:`~tmescope._errors.CoverageWarning`.

    Parameters
    ----------
    adata
        Samples x genes with HGNC symbols; linear (TPM, counts) or declared log2(x + 1).
    layer
        Layer to use instead of ``adata.X``.
    copy
        Work on a copy of ``adata`` (the input is left unchanged).

    Returns
    -------
    Scores (samples x ``t_cells``, ``cd8_t_cells``, ``cytotoxic_lymphocytes``, ``nk_cells``,
    ``b_lineage``, ``monocytic_lineage``, ``myeloid_dendritic_cells``, ``neutrophils``,
    ``endothelial_cells``, ``fibroblasts``); written to ``adata.obsm['mcp_counter']`` and the
    per-population marker coverage to ``adata.uns['mcp_counter']``.

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> from tmescope.bulk._mcp import _markers
    >>> genes = sorted({g for gs in _markers().values() for g in gs})
    >>> a = ad.AnnData(np.full((1, len(genes)), 3.0), var=pd.DataFrame(index=genes))
    >>> a.uns["tmescope_input"] = {"scale": "linear"}
    >>> float(mcp_counter(a)["fibroblasts"].iloc[0])
    2.0
    """
    check_adata(adata, func="mcp_counter")
    if copy:
        adata = adata.copy()
    L = on_scale(adata, layer, target="log2p1", func="mcp_counter")
    markers = _markers()
    names = list(POPULATIONS.values())
    sets, coverage = [], {}
    low = []
    for name in names:
        genes = markers[name]
        idx = adata.var_names.get_indexer(pd.Index(genes))
        idx = idx[idx >= 0]
        coverage[name] = f"{idx.size}/{len(genes)}"
        if idx.size < math.ceil(len(genes) / 2):
            low.append(f"{name} ({idx.size}/{len(genes)})")
            idx = idx[:0]
        sets.append(idx)
    finite = np.isfinite(L).all(axis=0)
    sets = [idx[finite[idx]] for idx in sets]
    if all(len(s) == 0 for s in sets):
        msg = "`mcp_counter`: no population has enough of its markers in `adata.var_names`; are the genes HGNC symbols?"
        raise InputError(msg)
    if low:
        warn(f"`mcp_counter`: too few markers present, score set to NaN for {', '.join(low)}.", CoverageWarning)
    df = pd.DataFrame(mcp_counter_kernel(L, sets), index=adata.obs_names.copy(), columns=names)
    adata.obsm[OBSM_MCP] = df
    adata.uns[UNS_MCP] = {"coverage": coverage, "unit": "mean log2(x + 1) of markers (arbitrary units)"}
    return df
