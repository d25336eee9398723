"""Neighbourhood enrichment: permutation z-scores of cell-type pair contacts on the spatial graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import scipy.sparse as sp

from tmescope import _keys
from tmescope._errors import InputError
from tmescope._registry import register
from tmescope._settings import settings
from tmescope.spatial._graph import get_graph
from tmescope.spatial._input import check_spatial, per_slide, slide_groups
from tmescope.spatial._threads import numba_threads

if TYPE_CHECKING:
    import anndata as ad

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO53 = 1.0 / 9007199254740992.0
#: permutations per task; fixed so that the work split (and the result) never depends on the thread count
PERM_CHUNK = 8


@numba.njit(cache=True, inline="always")
def _splitmix(state: np.ndarray) -> np.uint64:
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(cache=True)
def shuffle_segments(values: np.ndarray, bounds: np.ndarray, seed: np.uint64) -> None:
    """Fisher-Yates shuffle of ``values[bounds[s]:bounds[s+1]]`` for every segment, in place, from one seed."""
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed
    for s in range(bounds.shape[0] - 1):
        lo = bounds[s]
        for i in range(bounds[s + 1] - 1, lo, -1):
            u = float(_splitmix(state) >> _S11) * _TWO53
            j = lo + int(u * (i - lo + 1))
            tmp = values[i]
            values[i] = values[j]
            values[j] = tmp


@numba.njit(cache=True)
def pair_counts(indptr: np.ndarray, indices: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """``out[a, b]`` = number of graph edges from a cell of type ``a`` to a cell of type ``b`` (kernel)."""
    out = np.zeros((k, k), dtype=np.int64)
    for i in range(indptr.shape[0] - 1):
        a = labels[i]
        for p in range(indptr[i], indptr[i + 1]):
            out[a, labels[indices[p]]] += 1
    return out


@numba.njit(cache=True, parallel=True)
def _perm_counts(  # noqa: PLR0917 - numba kernel
    indptr: np.ndarray,
    indices: np.ndarray,
    labels: np.ndarray,
    order: np.ndarray,
    bounds: np.ndarray,
    seeds: np.ndarray,
    k: int,
) -> np.ndarray:
    """Type-pair edge counts of every permutation (n_perms x k x k); labels shuffled within ``bounds`` of ``order``."""
    n_perm = seeds.shape[0]
    n_chunks = (n_perm + PERM_CHUNK - 1) // PERM_CHUNK
    out = np.zeros((n_perm, k, k), dtype=np.int32)  # a slide has fewer than 2**31 edges
    base = labels[order]
    for c in numba.prange(n_chunks):
        lab = labels.copy()
        vals = base.copy()
        for p in range(c * PERM_CHUNK, min((c + 1) * PERM_CHUNK, n_perm)):
            vals[:] = base
            shuffle_segments(vals, bounds, seeds[p])
            for i in range(order.shape[0]):
                lab[order[i]] = vals[i]
            out[p] = pair_counts(indptr, indices, lab, k)
    return out


@numba.njit(cache=True, parallel=True)
def _perm_counts_packed(  # noqa: PLR0917 - numba kernel
    indptr: np.ndarray, indices: np.ndarray, labels: np.ndarray, bounds: np.ndarray, seeds: np.ndarray, k: int
) -> np.ndarray:
    """:func:`_perm_counts` for < 256 types, cells already in shuffle order (``order`` = identity)."""
    # up to four permutations share one pass over the edges: their labels (< 256 types) are packed into the bytes
    # of one uint32, so each random read of a neighbour's label serves four permutations
    n = labels.shape[0]
    n_perm = seeds.shape[0]
    n_chunks = (n_perm + PERM_CHUNK - 1) // PERM_CHUNK
    out = np.zeros((n_perm, k, k), dtype=np.int32)  # a slide has fewer than 2**31 edges
    for c in numba.prange(n_chunks):
        vals = np.empty(n, dtype=np.uint8)
        packed = np.empty(n, dtype=np.uint32)
        cnt = np.zeros((4, k, k), dtype=np.int64)
        p1 = min((c + 1) * PERM_CHUNK, n_perm)
        for g0 in range(c * PERM_CHUNK, p1, 4):
            m = min(4, p1 - g0)
            packed[:] = 0
            for q in range(m):
                vals[:] = labels
                shuffle_segments(vals, bounds, seeds[g0 + q])
                sh = np.uint32(8 * q)
                for i in range(n):
                    packed[i] |= np.uint32(vals[i]) << sh
            cnt[:] = 0
            for i in range(n):
                li = np.int64(packed[i])
                for e in range(indptr[i], indptr[i + 1]):
                    lj = np.int64(packed[indices[e]])
                    for q in range(m):
                        cnt[q, (li >> (8 * q)) & 255, (lj >> (8 * q)) & 255] += 1
            for q in range(m):
                out[g0 + q] = cnt[q]
    return out


def spatial_order(coords: np.ndarray, *, cell: float = 50.0) -> np.ndarray:
    """Positions of the cells sorted by ``cell``-µm bucket (row-major): neighbours sit close in memory."""
    if coords.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    ij = np.floor((coords - coords.min(axis=0)) / cell).astype(np.int64)
    key = ij[:, 0] * (int(ij[:, 1].max()) + 1) + ij[:, 1]
    return np.argsort(key, kind="stable")


def permutation_seeds(seed: int | np.random.SeedSequence, n_perms: int) -> np.ndarray:
    """One 64-bit seed per permutation, from that permutation's child ``SeedSequence``."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.array([c.generate_state(1, np.uint64)[0] for c in ss.spawn(n_perms)], dtype=np.uint64)


def slide_seed(seed: int, slide: int) -> np.random.SeedSequence:
    """The ``SeedSequence`` of slide number ``slide``: the same whatever other slides the data hold."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(slide),))


def slide_permutation_counts(
    indptr: np.ndarray,
    indices: np.ndarray,
    codes: np.ndarray,
    k: int,
    *,
    seeds: np.ndarray,
    coords: np.ndarray | None = None,
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Observed type-pair counts (k x k) and the counts of every label permutation (n_perms x k x k) of one slide.

    Pure kernel of one slide's graph (CSR ``indptr``/``indices`` over the slide's cells) and cell-type ``codes``;
    permutation ``p`` shuffles the labels with ``seeds[p]``. With ``coords``, cells are first put in a spatial
    order (a fixed function of the data) so that neighbours' labels are read from cache.
    """
    n = codes.shape[0]
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    labels16 = np.ascontiguousarray(codes, dtype=np.int16 if k < 32767 else np.int32)
    observed = pair_counts(indptr, indices, labels16, k)
    order = spatial_order(coords) if coords is not None else np.arange(n, dtype=np.int64)
    bounds = np.array([0, n], dtype=np.int64)
    with numba_threads(n_jobs):
        if k <= 255:
            # relabel the graph in `order`, so that the shuffle walks the cells in memory order
            inv = np.empty(n, dtype=np.int64)
            inv[order] = np.arange(n)
            deg = np.diff(indptr)[order]
            new_ptr = np.r_[0, np.cumsum(deg)].astype(np.int64)
            starts = np.repeat(indptr[:-1][order], deg)
            offs = np.arange(new_ptr[-1]) - np.repeat(new_ptr[:-1], deg)
            new_idx = inv[indices[starts + offs]].astype(np.int32)
            lab8 = np.ascontiguousarray(codes[order], dtype=np.uint8)
            perms = _perm_counts_packed(new_ptr, new_idx, lab8, bounds, seeds, k)
        else:
            perms = _perm_counts(indptr, indices, labels16, order, bounds, seeds, k)
    return observed, perms


def _slide_chunk(args: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
    """One slide's observed and permuted counts (chunk function of :func:`nhood_zscores`)."""
    indptr, indices, codes, k, seeds, coords, n_jobs = args
    return slide_permutation_counts(indptr, indices, codes, k, seeds=seeds, coords=coords, n_jobs=n_jobs)


def nhood_zscores(
    graph: sp.csr_matrix,
    codes: np.ndarray,
    k: int,
    groups: list[np.ndarray],
    *,
    n_perms: int = 1000,
    seed: int = 0,
    n_jobs: int = 1,
    coords: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Z-scores and observed counts of type-pair contacts against label permutations within each group (kernel).

    ``z = (observed - mean(permuted)) / std(permuted)`` with the population standard deviation, as in squidpy.
    Each group (slide) is one chunk of :func:`tmescope._execution.map_chunks` with its own seeds
    (:func:`slide_seed`); permutation ``p`` of the data is permutation ``p`` of every slide, so its count is the sum
    of the slides' counts. Counts are exact integers: the result is the same for any ``n_jobs``, in-process or on
    a cluster.
    """
    graph = sp.csr_matrix(graph)

    def load(item: tuple[int, np.ndarray]) -> tuple[Any, ...]:
        i, pos = item
        sub = graph[pos][:, pos]
        seeds = permutation_seeds(slide_seed(seed, i), n_perms)
        return sub.indptr, sub.indices, codes[pos], k, seeds, None if coords is None else coords[pos], n_jobs

    parts = per_slide(_slide_chunk, list(enumerate(groups)), load=load, key="nhood_enrichment")
    observed = np.zeros((k, k), dtype=np.int64)
    total = np.zeros((n_perms, k, k), dtype=np.int64)
    for obs, perms in parts:
        observed += obs
        total += perms
    mean = total.sum(axis=0) / n_perms
    var = np.maximum((total * total).sum(axis=0) / n_perms - mean**2, 0.0)  # exact int64 sums of squares
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (observed - mean) / np.sqrt(var)
    z[var <= 0] = np.nan
    return z, observed


@register(
    name="nhood_enrichment",
    topic="spatial",
    modality="spatial",
    citation="Neighbourhood enrichment z-scores as in squidpy.gr.nhood_enrichment (Palla et al. 2022)",
    scale="spatial graph + cell types",
    gives_pvalues=False,
)
def nhood_enrichment(
    adata: ad.AnnData,
    *,
    cell_type_key: str | None = None,
    n_perms: int = 1000,
    seed: int | None = None,
    n_jobs: int | None = None,
    copy: bool = False,
) -> ad.AnnData | None:
    """Neighbourhood enrichment of every pair of cell types (permutation z-scores).

    Counts the graph edges from cells of type A to cells of type B, then compares the count with ``n_perms``
    random relabellings of the cells (labels shuffled within each slide; each permutation has its own child
    ``SeedSequence``). The statistic is the one of ``squidpy.gr.nhood_enrichment``.

    Parameters
    ----------
    adata
        AnnData with a graph from :func:`spatial_neighbors`.
    cell_type_key
        ``obs`` column of cell types (default ``"cell_type"``).
    n_perms
        Number of permutations.
    seed
        Seed (default ``tmescope.settings.seed``).
    n_jobs
        Threads; the result never depends on it.
    copy
        Return a changed copy instead of writing into ``adata``.

    Returns
    -------
    None (or the copy); writes ``uns["nhood_enrichment"]`` with ``zscore`` and ``count`` (types x types arrays,
    rows and columns in the order of ``categories``), ``categories``, ``n_perms`` and ``seed``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tmescope.spatial import read_spatial, spatial_neighbors
    >>> r = np.random.default_rng(0)
    >>> t = pd.DataFrame({"x": r.uniform(0, 100, 300), "y": r.uniform(0, 100, 300)})
    >>> t["cell_type"] = np.where(t["x"] < 50, "A", "B")
    >>> a = read_spatial(t, unit="um"); spatial_neighbors(a)
    >>> nhood_enrichment(a, n_perms=100)
    >>> bool(a.uns["nhood_enrichment"]["zscore"][0, 0] > 3)  # A next to A
    True
    """
    if not isinstance(n_perms, int | np.integer) or n_perms < 2:
        msg = f"n_perms must be an integer >= 2; received {n_perms!r}."
        raise InputError(msg)
    if copy:
        adata = adata.copy()
    coords, types = check_spatial(adata, cell_type_key=cell_type_key)
    g = get_graph(adata)
    seed = settings.seed if seed is None else seed
    cats = [str(c) for c in types.categories]
    groups = [pos for _, pos in slide_groups(adata)]
    z, count = nhood_zscores(
        g,
        types.codes,
        len(cats),
        groups,
        n_perms=int(n_perms),
        seed=seed,
        n_jobs=n_jobs or settings.n_jobs,
        coords=coords,
    )
    adata.uns[_keys.UNS_NHOOD_ENRICHMENT] = {
        "zscore": z,
        "count": count,
        "categories": cats,
        "n_perms": int(n_perms),
        "seed": int(seed),
    }
    return adata if copy else None
