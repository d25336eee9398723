"""singscore (Foroutan et al. 2018): mean within-sample rank of a set, scaled by its theoretical bounds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from tmescope._registry import register
from tmescope.scoring._kernels import check_matrix, pack_sets, rank_min_subset, sorted_rows, union_sets

if TYPE_CHECKING:
    from collections.abc import Sequence


@numba.njit(parallel=True, cache=True, nogil=True)
def _singscore(  # noqa: PLR0917 - numba kernels take positional arrays
    X: np.ndarray,
    SV: np.ndarray,
    UO: np.ndarray,
    USV: np.ndarray,
    genes: np.ndarray,
    members: np.ndarray,
    offsets: np.ndarray,
    shift: float,
) -> np.ndarray:  # pragma: no cover - compiled
    n_obs, n = X.shape
    n_sets = offsets.size - 1
    out = np.empty((n_obs, n_sets), dtype=np.float64)
    for i in numba.prange(n_obs):
        r = np.empty(genes.size, dtype=np.int64)
        rank_min_subset(SV[i], UO[i], USV[i], r)
        for j in range(n_sets):
            a = offsets[j]
            b = offsets[j + 1]
            m = b - a
            if m in (0, n):
                out[i, j] = np.nan
                continue
            tot = 0.0
            for k in range(a, b):
                tot += r[members[k]]
            low = (m + 1) / 2.0
            high = (2.0 * n - m + 1) / 2.0
            val = (tot / m - low) / (high - low)
            out[i, j] = val - shift
    return out


def singscore_raw(
    X: np.ndarray, gene_sets: Sequence[Sequence[int] | np.ndarray], *, center: bool = True, n_jobs: int = 1
) -> np.ndarray:
    """Singscore of a float64 C-contiguous matrix without input checks."""
    idx, offsets = pack_sets(gene_sets, X.shape[1])
    genes, _, members = union_sets(idx, offsets, X.shape[1])
    sv, uo, usv = sorted_rows(X, genes, n_jobs)
    return _singscore(X, sv, uo, usv, genes, members, offsets, 0.5 if center else 0.0)


@register(
    name="singscore",
    topic="scoring",
    modality="bulk, single-cell, spatial",
    citation="Foroutan M et al. BMC Bioinformatics 2018;19:404",
    scale="any monotone scale (rank-based)",
)
def singscore(X: np.ndarray, gene_sets: Sequence[Sequence[int] | np.ndarray], *, center: bool = True) -> np.ndarray:
    """Unidirectional singscore of each set in each observation.

    Genes are ranked within each observation (ascending, ties get the minimum rank, as singscore's
    ``rankGenes``); the score is the mean rank of the set's genes scaled between its theoretical minimum
    ``(m + 1) / 2`` and maximum ``(2n − m + 1) / 2``, then centred by subtracting 0.5 (Foroutan et al. 2018).

    Parameters
    ----------
    X
        Dense expression matrix, shape (n_obs, n_genes).
    gene_sets
        One array of integer column indices per gene set.
    center
        Subtract 0.5 so scores lie in [−0.5, 0.5] (singscore's ``centerScore=TRUE``).

    Returns
    -------
    Scores, shape (n_obs, n_sets); NaN for an empty set.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]])
    >>> singscore(X, [np.array([0, 1]), np.array([3, 4])]).ravel().tolist()
    [0.5, -0.5]
    """
    return singscore_raw(check_matrix(X), gene_sets, center=bool(center))
