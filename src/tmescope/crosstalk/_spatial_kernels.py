"""Pure array kernels of spatially restricted crosstalk and of the local bivariate ligand–receptor score."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from tmescope.crosstalk._kernels import block_codes, permutation_blocks, run_blocks


@numba.njit(cache=True, nogil=True)
def _contact_scores(  # noqa: PLR0917 - numba kernels take arrays positionally
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    g_indptr: np.ndarray,
    g_indices: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    n_genes: int,
    subunits: np.ndarray,
    src: np.ndarray,
    tgt: np.ndarray,
    lig: np.ndarray,
    rec: np.ndarray,
) -> np.ndarray:
    """Contact-restricted CellPhoneDB score of every interaction under one labelling ``codes``.

    A sender cell of group s counts once per neighbour of group t (and likewise for receivers), so the ligand
    mean of (s, t) is the mean over the sender ends of the s–t edges of the graph.
    """
    n_cells = codes.shape[0]
    nb = np.zeros((n_cells, n_groups), dtype=np.float64)
    for i in range(n_cells):
        for k in range(g_indptr[i], g_indptr[i + 1]):
            nb[i, codes[g_indices[k]]] += 1.0
    acc = np.zeros((n_groups, n_groups, n_genes), dtype=np.float64)
    wsum = np.zeros((n_groups, n_groups), dtype=np.float64)
    for i in range(n_cells):
        s = codes[i]
        for t in range(n_groups):
            w = nb[i, t]
            if w == 0.0:
                continue
            wsum[s, t] += w
            for k in range(indptr[i], indptr[i + 1]):
                acc[s, t, indices[k]] += w * data[k]
    n_int = src.shape[0]
    out = np.zeros(n_int, dtype=np.float64)
    for k in range(n_int):
        s, t = src[k], tgt[k]
        if wsum[s, t] == 0.0:
            continue
        lm = np.inf
        for j in range(subunits.shape[1]):
            col = subunits[lig[k], j]
            if col < 0:
                break
            lm = min(lm, acc[s, t, col] / wsum[s, t])
        rm = np.inf
        for j in range(subunits.shape[1]):
            col = subunits[rec[k], j]
            if col < 0:
                break
            rm = min(rm, acc[t, s, col] / wsum[t, s])
        out[k] = 0.5 * (lm + rm)
    return out


@numba.njit(cache=True, nogil=True)
def _contact_exceedances(  # noqa: PLR0917
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    g_indptr: np.ndarray,
    g_indices: np.ndarray,
    perm_codes: np.ndarray,
    n_groups: int,
    n_genes: int,
    subunits: np.ndarray,
    src: np.ndarray,
    tgt: np.ndarray,
    lig: np.ndarray,
    rec: np.ndarray,
    observed: np.ndarray,
) -> np.ndarray:
    n_perm = perm_codes.shape[0]
    n_int = src.shape[0]
    hits = np.zeros((n_perm, n_int), dtype=np.uint8)
    for b in range(n_perm):
        sc = _contact_scores(
            indptr, indices, data, g_indptr, g_indices, perm_codes[b], n_groups, n_genes, subunits, src, tgt, lig, rec
        )
        for k in range(n_int):
            if sc[k] >= observed[k]:
                hits[b, k] = 1
    out = np.zeros(n_int, dtype=np.int64)
    for b in range(n_perm):
        for k in range(n_int):
            out[k] += hits[b, k]
    return out


def _block_hits(shared: tuple[Any, ...], block: Any) -> np.ndarray:
    """Exceedance counts of one block of permutations (chunk function of :func:`contact_pvalues`)."""
    args, codes, n_groups, n_genes, sub, ids, observed = shared
    perm = block_codes(block, codes)
    return _contact_exceedances(*args, perm, n_groups, n_genes, sub, *ids, observed)  # type: ignore[call-arg]


def contact_weights(graph: sp.csr_matrix, codes: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """(groups x groups) x cells matrix: row (s, t) holds, for every cell of group s, its number of t neighbours."""
    n = codes.shape[0]
    onehot = sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, n_groups))
    nb = (graph @ onehot).toarray()  # cells x groups
    rows = (codes[:, None] * n_groups + np.arange(n_groups)[None, :]).ravel()
    cols = np.repeat(np.arange(n), n_groups)
    w = sp.csr_matrix((nb.ravel(), (rows, cols)), shape=(n_groups * n_groups, n))
    w.eliminate_zeros()
    return w


def contact_pvalues(  # noqa: PLR0917
    x: sp.csr_matrix,
    graph: sp.csr_matrix,
    codes: np.ndarray,
    n_groups: int,
    subunits: np.ndarray,
    src: np.ndarray,
    tgt: np.ndarray,
    lig: np.ndarray,
    rec: np.ndarray,
    *,
    n_perms: int,
    seed: int | np.random.SeedSequence,
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Contact-restricted score and permutation p-value (labels shuffled, graph and expression fixed).

    Returns
    -------
    (score, p-value) per interaction; the score is NaN where the two groups share no edge.

    Examples
    --------
    >>> x = sp.csr_matrix(np.array([[2.0, 0], [0, 2], [1, 0], [0, 1]]))
    >>> g = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=float))
    >>> codes = np.array([0, 1, 0, 1])
    >>> a, b = np.array([0]), np.array([1])
    >>> s, p = contact_pvalues(x, g, codes, 2, np.array([[0], [1]]), a, b, a, b, n_perms=20, seed=0)
    >>> float(s[0])
    1.5
    """
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    args = (x.indptr, x.indices, x.data, graph.indptr.astype(np.int64), graph.indices.astype(np.int64))
    sub = np.ascontiguousarray(subunits, dtype=np.int64)
    ids = [np.ascontiguousarray(a, dtype=np.int64) for a in (src, tgt, lig, rec)]
    observed = _contact_scores(*args, codes, n_groups, x.shape[1], sub, *ids)  # type: ignore[call-arg]
    shared = (args, codes, n_groups, x.shape[1], sub, ids, observed)
    blocks = permutation_blocks(n_perms, seed)
    hits = run_blocks(
        _block_hits, shared, blocks, n_jobs=n_jobs, desc="spatial permutations", key="contact_permutations"
    )
    w = contact_weights(graph, codes, n_groups)
    edges = np.asarray(w.sum(axis=1)).ravel().reshape(n_groups, n_groups)
    no_edge = edges[src, tgt] == 0
    return np.where(no_edge, np.nan, observed), np.where(no_edge, np.nan, hits / max(n_perms, 1))


def local_bivariate(lig: np.ndarray, rec: np.ndarray, weights: sp.csr_matrix) -> np.ndarray:
    r"""Local bivariate Moran's I of ligand at a cell and receptor around it (cells x pairs).

    ``lig`` and ``rec`` are cells x pairs expression of the ligand and receptor entities; each column is z-scored
    over the cells and ``weights`` is row-normalised, so :math:`I_i = z(L)_i \sum_j w_{ij} z(R)_j`
    :cite:`anselin1995`. Columns with no variance give 0.

    Examples
    --------
    >>> w = sp.csr_matrix(np.array([[0, 1.0, 0], [0.5, 0, 0.5], [0, 1.0, 0]]))
    >>> local_bivariate(np.array([[2.0], [0.0], [0.0]]), np.array([[0.0], [3.0], [0.0]]), w).round(2).ravel().tolist()
    [2.0, 0.5, -1.0]
    """

    def z(a: np.ndarray) -> np.ndarray:
        mu, sd = a.mean(0), a.std(0)
        return np.divide(a - mu, sd, out=np.zeros_like(a, dtype=np.float64), where=sd > 0)

    return z(lig) * np.asarray(weights @ z(rec))
