"""A seeded UMAP of the cells for the report (a subsample beyond ``max_cells``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from tmescope import _keys
from tmescope.sc._annotate import exact_neighbors

if TYPE_CHECKING:
    from anndata import AnnData


def embed_cells(
    adata: AnnData,
    *,
    max_cells: int = 50_000,
    n_top_genes: int = 2000,
    n_pcs: int = 30,
    n_neighbors: int = 15,
    seed: int = 0,
) -> None:
    """Compute a 2-D UMAP of the cells (HVGs, PCA, exact neighbour graph, UMAP), seeded.

    An existing ``obsm["X_umap"]`` (e.g. the user's own) is kept. Beyond ``max_cells`` a seeded subsample is
    embedded and the other cells get NaN coordinates (the report draws only embedded cells).

    Parameters
    ----------
    adata
        Log-normalised cells (as written by :func:`prepare_cells`).
    max_cells
        Most cells embedded.
    n_top_genes, n_pcs, n_neighbors
        Highly variable genes, principal components and neighbours of the UMAP graph.
    seed
        Seed of the subsample, PCA and UMAP.

    Returns
    -------
    None
        Writes ``obsm["X_umap"]`` (cells x 2) and ``uns["sc_umap"]`` (parameters, number of cells embedded).
    """
    import scanpy as sc
    from anndata import AnnData

    if _keys.OBSM_UMAP in adata.obsm:
        return
    n = adata.n_obs
    pos = np.arange(n)
    if n > max_cells:
        pos = np.sort(np.random.default_rng(seed).choice(n, max_cells, replace=False))
    coords = np.full((n, 2), np.nan, dtype=np.float32)
    if pos.size >= 4:
        work = AnnData(
            X=sparse.csr_matrix(adata.X[pos], dtype=np.float32), obs=pd.DataFrame(index=adata.obs_names[pos])
        )
        work.var_names = adata.var_names.copy()
        expressed = np.asarray((work.X > 0).sum(axis=0)).ravel() > 0
        work = work[:, expressed].copy()
        if work.n_vars > n_top_genes:
            sc.pp.highly_variable_genes(work, n_top_genes=n_top_genes, flavor="seurat", subset=True)
        work.X = np.asarray(work.X.toarray(), dtype=np.float32)
        sc.pp.scale(work, max_value=10.0)
        n_comps = max(1, min(n_pcs, work.n_vars - 1, work.n_obs - 1))
        sc.pp.pca(work, n_comps=n_comps, svd_solver="arpack", random_state=seed)
        exact_neighbors(work, n_neighbors=n_neighbors, n_comps=n_comps, seed=seed)
        sc.tl.umap(work, random_state=seed)
        coords[pos] = work.obsm["X_umap"]
    adata.obsm[_keys.OBSM_UMAP] = coords
    adata.uns[_keys.UNS_SC_UMAP] = {
        "n_embedded": int(pos.size),
        "params": {"max_cells": max_cells, "n_top_genes": n_top_genes, "n_pcs": n_pcs, "n_neighbors": n_neighbors},
        "seed": int(seed),
    }
