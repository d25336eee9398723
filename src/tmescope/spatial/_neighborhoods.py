"""Cellular neighbourhoods (Schürch et al. 2020): clusters of the cell-type composition around each cell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmescope import _keys
from tmescope._errors import InputError
from tmescope._registry import register
from tmescope._settings import settings
from tmescope.spatial._graph import knn_edges
from tmescope.spatial._input import check_spatial, per_slide, slide_groups

if TYPE_CHECKING:
    import anndata as ad


def window_composition(
    coords: np.ndarray, codes: np.ndarray, k_types: int, groups: list[np.ndarray], *, k: int, n_jobs: int = 1
) -> np.ndarray:
    """Share of each cell type among each cell and its ``k - 1`` nearest cells of the same slide (kernel)."""
    n = coords.shape[0]
    out = np.zeros((n, k_types), dtype=np.float32)
    parts = per_slide(
        _slide_windows, groups, load=lambda pos: (coords[pos], codes[pos], k_types, k, n_jobs), key="cn_windows"
    )
    for pos, part in zip(groups, parts, strict=True):
        out[pos] = part
    return out


def _slide_windows(args: tuple[Any, ...]) -> np.ndarray:
    """Window composition of one slide (chunk function of :func:`window_composition`)."""
    coords, codes, k_types, k, n_jobs = args
    n = coords.shape[0]
    r, c, _ = knn_edges(coords, k - 1, n_jobs=n_jobs)
    r = np.r_[np.arange(n), r]
    c = np.r_[np.arange(n), c]
    m = sp.csr_matrix((np.ones(r.size, dtype=np.float32), (r, codes[c])), shape=(n, k_types))
    dense = m.toarray()
    return dense / dense.sum(axis=1, keepdims=True)


def name_neighborhoods(centers: np.ndarray, overall: np.ndarray, categories: list[str], *, top: int = 2) -> list[str]:
    """Name each neighbourhood by its most enriched cell types (share / overall share >= 1.5), kernel."""
    names: list[str] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        enr = centers / overall[None, :]
    for i, row in enumerate(enr):
        order = [j for j in np.argsort(-row, kind="stable") if row[j] >= 1.5 and centers[i, j] >= 0.05][:top]
        if not order:
            order = [int(np.argmax(centers[i]))]
        base = " + ".join(categories[j] for j in order)
        names.append(f"CN{i + 1} {base}")
    return names


@register(
    name="cellular_neighborhoods",
    topic="spatial",
    modality="spatial",
    citation="Schürch C.M. et al. Cell 2020;182:1341 (k-NN windows clustered by k-means)",
    scale="coordinates in µm + cell types",
)
def cellular_neighborhoods(
    adata: ad.AnnData,
    *,
    cell_type_key: str | None = None,
    k: int = 10,
    n_neighborhoods: int = 10,
    seed: int | None = None,
    n_jobs: int | None = None,
    fit_cells: int = 200_000,
    copy: bool = False,
) -> ad.AnnData | None:
    """Cellular neighbourhoods: k-means on the cell-type composition of each cell's ``k``-nearest window.

    Each cell's window is the cell and its ``k - 1`` nearest cells on the same slide (Schürch 2020 used 10);
    the composition vectors are clustered with seeded MiniBatch k-means into ``n_neighborhoods`` groups, each
    named after the cell types enriched in it (share at least 1.5 times the overall share).

    Parameters
    ----------
    adata
        AnnData from :func:`read_spatial`.
    cell_type_key
        ``obs`` column of cell types.
    k
        Window size (cells, including the centre cell).
    n_neighborhoods
        Number of neighbourhoods.
    seed
        Seed of the k-means (default ``tmescope.settings.seed``).
    n_jobs
        Threads of the neighbour search; the result never depends on it.
    fit_cells
        Most windows the k-means learns its centres from (a seeded sample); all cells are then assigned.
    copy
        Return a changed copy instead of writing into ``adata``.

    Returns
    -------
    None (or the copy); writes ``obs["cellular_neighborhood"]`` (categorical of names),
    ``obsm["cn_composition"]`` (cells x types shares, types in the order of ``categories``) and
    ``uns["cellular_neighborhoods"]`` with ``names``, ``categories``, ``composition`` (neighbourhood x type mean
    shares), ``enrichment`` (share / overall share), ``slides`` and ``frequencies`` (slide x neighbourhood
    fraction of cells) as arrays.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tmescope.spatial import read_spatial
    >>> r = np.random.default_rng(0)
    >>> t = pd.DataFrame({"x": r.uniform(0, 100, 500), "y": r.uniform(0, 100, 500)})
    >>> t["cell_type"] = np.where(t["x"] < 50, "A", "B")
    >>> a = read_spatial(t, unit="um")
    >>> cellular_neighborhoods(a, n_neighborhoods=2, seed=0)
    >>> sorted(n.split()[1] for n in a.obs["cellular_neighborhood"].cat.categories)
    ['A', 'B']
    """
    from sklearn.cluster import MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    if not isinstance(k, int | np.integer) or k < 2:
        msg = f"k must be an integer >= 2 (the window holds the cell and its k - 1 neighbours); received {k!r}."
        raise InputError(msg)
    if not isinstance(n_neighborhoods, int | np.integer) or not 2 <= n_neighborhoods <= adata.n_obs:
        msg = f"n_neighborhoods must be an integer between 2 and the number of cells; received {n_neighborhoods!r}."
        raise InputError(msg)
    if copy:
        adata = adata.copy()
    coords, types = check_spatial(adata, cell_type_key=cell_type_key)
    cats = [str(c) for c in types.categories]
    groups = [pos for _, pos in slide_groups(adata)]
    comp = window_composition(coords, types.codes, len(cats), groups, k=k, n_jobs=n_jobs or settings.n_jobs)
    seed = settings.seed if seed is None else seed
    km = MiniBatchKMeans(
        n_clusters=int(n_neighborhoods),
        random_state=int(seed),
        n_init=3,
        batch_size=4096,
        max_iter=100,
    )
    # the centres are learnt on at most `fit_cells` windows (a seeded sample) and every cell is assigned to its
    # nearest centre: the neighbourhoods of 10^6 cells take seconds, not minutes
    # one OpenMP thread: the problem is small, and idle spinning threads make it many times slower on a busy machine
    with threadpool_limits(limits=1):
        if comp.shape[0] > fit_cells:
            pick = np.sort(np.random.default_rng(seed).choice(comp.shape[0], fit_cells, replace=False))
            km.fit(comp[pick])
        else:
            km.fit(comp)
        labels = km.predict(comp)
    centers = np.vstack(
        [
            comp[labels == i].mean(axis=0) if np.any(labels == i) else km.cluster_centers_[i]
            for i in range(len(km.cluster_centers_))
        ]
    )
    # order neighbourhoods by size so that the numbering is stable and meaningful
    sizes = np.bincount(labels, minlength=centers.shape[0])
    order = np.argsort(-sizes, kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(order.size)
    labels = remap[labels]
    centers = centers[order]
    overall = comp.mean(axis=0)
    names = name_neighborhoods(centers, overall, cats)
    adata.obs[_keys.OBS_CN] = pd.Categorical.from_codes(labels, categories=names)
    adata.obsm[_keys.OBSM_CN_COMPOSITION] = comp
    with np.errstate(divide="ignore", invalid="ignore"):
        enrichment = centers / overall[None, :]
    slides = adata.obs[_keys.OBS_SLIDE].astype(str).to_numpy() if _keys.OBS_SLIDE in adata.obs else "slide"
    freq = pd.crosstab(pd.Series(slides, name="slide"), pd.Series(np.asarray(names, dtype=object)[labels], name="cn"))
    freq = freq.reindex(columns=names, fill_value=0)
    adata.uns[_keys.UNS_CN] = {
        "names": names,
        "categories": cats,
        "composition": centers,
        "enrichment": enrichment,
        "slides": [str(s) for s in freq.index],
        "frequencies": freq.div(freq.sum(axis=1), axis=0).to_numpy(),
        "k": int(k),
        "seed": int(seed),
    }
    return adata if copy else None
