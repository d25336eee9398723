"""A small synthetic single-cell dataset with planted ligand–receptor signals, for examples and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from anndata import AnnData

#: Planted signals: cell type -> genes it expresses highly.
_MARKERS = {
    "fibroblast": ["CXCL12", "TGFB1", "COL1A1", "FN1"],
    "T cell": ["CXCR4", "PDCD1", "TGFBR1", "TGFBR2"],
    "macrophage": ["CSF1R", "CCR2", "ITGB1", "ITGA5"],
    "tumour": ["CD274", "CSF1", "CCL2", "VEGFA"],
}
_BACKGROUND = ["KDR", "CD44", "SPP1", "ACTB", "B2M", "MALAT1", "CD47", "SIRPA", "ITGAV", "ITGB5"]


def toy_cells(*, n_cells: int = 400, seed: int = 0, n_samples: int = 1) -> AnnData:
    """Synthetic log-normalised cells of four types with planted ligand–receptor signals and x/y positions.

    Fibroblasts express CXCL12 and TGFB1, T cells CXCR4, PDCD1 and TGFBR1/2, tumour cells CD274, CSF1 and CCL2,
    macrophages CSF1R and CCR2. Cells of the same type sit together in space (``obsm["spatial"]``, micrometres).

    Returns
    -------
    AnnData with ``obs["cell_type"]``, ``obs["sample"]`` and ``obsm["spatial"]``.

    Examples
    --------
    >>> toy_cells(n_cells=40).shape
    (40, 26)
    """
    import anndata as ad

    rng = np.random.default_rng(seed)
    types = list(_MARKERS)
    genes = [g for t in types for g in _MARKERS[t]] + _BACKGROUND
    labels = np.array(types)[np.arange(n_cells) % len(types)]
    counts = rng.poisson(0.05, size=(n_cells, len(genes))).astype(float)
    for j, t in enumerate(types):
        cols = np.array([genes.index(g) for g in _MARKERS[t]])
        rows = np.flatnonzero(labels == t)
        counts[np.ix_(rows, cols)] += rng.poisson(4.0, size=(rows.size, len(cols)))
        del j
    x = np.log1p(counts).astype(np.float32)
    centres = {t: np.array([i % 2, i // 2], dtype=float) * 200.0 for i, t in enumerate(types)}
    xy = np.stack([centres[t] for t in labels]) + rng.normal(0, 40.0, size=(n_cells, 2))
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical(labels, categories=types),
            "sample": [f"S{i % n_samples + 1}" for i in rng.permutation(n_cells)],
        },
        index=[f"cell{i}" for i in range(n_cells)],
    )
    out = ad.AnnData(x, obs=obs, var=pd.DataFrame(index=genes))
    out.obsm["spatial"] = xy
    return out
