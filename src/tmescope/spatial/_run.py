"""The whole spatial module in one call, as run by ``tmescope spatial``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from tmescope import _keys
from tmescope._errors import InputError
from tmescope.spatial._cooccurrence import co_occurrence
from tmescope.spatial._enrichment import nhood_enrichment
from tmescope.spatial._features import spatial_features
from tmescope.spatial._graph import GraphMethod, spatial_neighbors
from tmescope.spatial._neighborhoods import cellular_neighborhoods
from tmescope.spatial._tme import infiltration, mixing_score

if TYPE_CHECKING:
    from collections.abc import Sequence

    import anndata as ad
    import pandas as pd


def analyze_spatial(
    adata: ad.AnnData,
    *,
    tumor_types: Sequence[str] | None = None,
    immune_types: Sequence[str] | None = None,
    cd8_types: Sequence[str] | None = None,
    graph: GraphMethod = "delaunay",
    n_neighs: int = 6,
    radius: float | None = None,
    max_edge: float | None = 50.0,
    n_perms: int = 1000,
    interval: Sequence[float] | None = None,
    cn_k: int = 10,
    n_neighborhoods: int = 10,
    cooccurrence_tile_size: float | None = None,
    seed: int = 0,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Graph, enrichment, co-occurrence, neighbourhoods, infiltration and mixing score of every slide.

    Parameters
    ----------
    adata
        AnnData from :func:`read_spatial`; results are written into it.
    tumor_types
        Tumour cell types; without them the interface, infiltration and mixing steps are skipped.
    immune_types, cd8_types
        See :func:`infiltration`.
    graph, n_neighs, radius, max_edge
        See :func:`spatial_neighbors` (default: Delaunay with edges up to 50 µm).
    n_perms
        Permutations of :func:`nhood_enrichment`.
    interval
        Distances (µm) of :func:`co_occurrence`.
    cn_k, n_neighborhoods
        Window size and number of :func:`cellular_neighborhoods`.
    cooccurrence_tile_size
        ``tile_size`` of :func:`co_occurrence` (µm; ``None``: whole slides); the counts do not depend on it. (The
        phenotype tiles of :func:`infiltration` are another thing.)
    seed, n_jobs
        Seed of every random step; threads (results never depend on them).

    Returns
    -------
    The tidy feature table (samples = slides) and the seconds spent in each step.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tmescope.spatial import read_spatial
    >>> r = np.random.default_rng(0)
    >>> t = pd.DataFrame({"x": r.uniform(0, 800, 3000), "y": r.uniform(0, 800, 3000)})
    >>> t["cell_type"] = np.where(t["x"] < 400, "Tumor", r.choice(["CD8 T", "Fibroblast"], 3000))
    >>> a = read_spatial(t, unit="um")
    >>> feats, _ = analyze_spatial(a, tumor_types=["Tumor"], n_perms=50, n_neighborhoods=3)
    >>> feats.query("feature == 'spatial.immune_phenotype'")["label"].item()
    'excluded'
    """
    timing: dict[str, float] = {}

    def step(name: str, fn: Any, *args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args, **kw)
        timing[name] = round(time.perf_counter() - t0, 3)
        return out

    cats = list(adata.obs[_keys.OBS_CELL_TYPE].cat.categories)
    if len(cats) < 2:
        msg = f"Spatial analyses need at least two cell types; the data has {cats}."
        raise InputError(msg)
    step(
        "graph",
        spatial_neighbors,
        adata,
        method=graph,
        n_neighs=n_neighs,
        radius=radius,
        max_edge=max_edge if graph == "delaunay" else None,
        n_jobs=n_jobs,
    )
    step("nhood_enrichment", nhood_enrichment, adata, n_perms=n_perms, seed=seed, n_jobs=n_jobs)
    step(
        "co_occurrence",
        co_occurrence,
        adata,
        interval=None if interval is None else np.asarray(interval),
        n_jobs=n_jobs,
        tile_size=cooccurrence_tile_size,
    )
    n_cn = min(n_neighborhoods, adata.n_obs)
    step(
        "cellular_neighborhoods", cellular_neighborhoods, adata, k=cn_k, n_neighborhoods=n_cn, seed=seed, n_jobs=n_jobs
    )
    mixing = None
    if tumor_types:
        step(
            "infiltration",
            infiltration,
            adata,
            tumor_types=tumor_types,
            immune_types=immune_types,
            cd8_types=cd8_types,
        )
        mixing = step("mixing_score", mixing_score, adata, tumor_types=tumor_types, immune_types=immune_types)
        adata.uns[_keys.UNS_INFILTRATION]["mixing"] = mixing
    features = step("features", spatial_features, adata, mixing=mixing)
    return features, timing
