"""Single-sample GSEA (Barbie et al. 2009) exactly as computed by R GSVA's ``ssgsea`` method."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from tmescope._errors import InputError
from tmescope._registry import register
from tmescope.scoring._kernels import check_matrix, pack_sets, rank_subset, sorted_rows, union_sets

if TYPE_CHECKING:
    from collections.abc import Sequence


@numba.njit(parallel=True, cache=True, nogil=True)
def _ssgsea_es(  # noqa: PLR0917 - numba kernels take positional arrays
    X: np.ndarray,
    SV: np.ndarray,
    UO: np.ndarray,
    USV: np.ndarray,
    genes: np.ndarray,
    upos: np.ndarray,
    members: np.ndarray,
    offsets: np.ndarray,
    powtab: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    n_obs, n = X.shape
    n_sets = offsets.size - 1
    out = np.empty((n_obs, n_sets), dtype=np.float64)
    total = n * (n + 1) / 2.0
    for i in numba.prange(n_obs):
        q = np.empty(genes.size, dtype=np.int64)
        r = np.empty(genes.size, dtype=np.int64)
        rank_subset(X[i], SV[i], genes, UO[i], USV[i], upos, q, r)
        for j in range(n_sets):
            a = offsets[j]
            b = offsets[j + 1]
            m = b - a
            if m in (0, n):
                out[i, j] = np.nan
                continue
            num = 0.0
            den = 0.0
            sq = 0.0
            for k in range(a, b):
                u = members[k]
                w = powtab[r[u] - 1]
                num += w * q[u]
                den += w
                sq += q[u]
            # closed form of GSVA's random walk: sum of the in-set step CDF minus sum of the out-set step CDF
            out[i, j] = num / den - (total - sq) / (n - m)
    return out


def ssgsea_es(
    X: np.ndarray, gene_sets: Sequence[Sequence[int] | np.ndarray], *, alpha: float = 0.25, n_jobs: int = 1
) -> np.ndarray:
    """Unnormalised ssGSEA enrichment scores of a float64 C-contiguous matrix, shape (n_obs, n_sets)."""
    idx, offsets = pack_sets(gene_sets, X.shape[1])
    genes, upos, members = union_sets(idx, offsets, X.shape[1])
    powtab = np.arange(1, X.shape[1] + 1, dtype=np.float64) ** float(alpha)
    sv, uo, usv = sorted_rows(X, genes, n_jobs)
    return _ssgsea_es(X, sv, uo, usv, genes, upos, members, offsets, powtab)


def normalize_es(es: np.ndarray) -> np.ndarray:
    """GSVA's ssGSEA normalisation: divide by the range (max − min) of every finite score in the matrix."""
    finite = es[np.isfinite(es)]
    if finite.size == 0:
        return es.copy()
    span = float(finite.max() - finite.min())
    if span == 0.0:
        msg = "Cannot normalise ssGSEA scores: every score is identical (range 0). Use normalize=False."
        raise InputError(msg)
    return es / span


@register(
    name="ssgsea",
    topic="scoring",
    modality="bulk, single-cell, spatial",
    citation="Barbie DA et al. Nature 2009;462:108-112; Hanzelmann S et al. BMC Bioinformatics 2013;14:7 (GSVA)",
    scale="any monotone scale (rank-based); log2(TPM+1) by convention",
)
def ssgsea(
    X: np.ndarray,
    gene_sets: Sequence[Sequence[int] | np.ndarray],
    *,
    alpha: float = 0.25,
    normalize: bool = False,
) -> np.ndarray:
    """Single-sample GSEA scores, identical to R GSVA's ``gsva(method="ssgsea")``.

    Genes are ranked within each observation (ties: average rank truncated to an integer, tied genes
    kept in column order, as GSVA does); the score of a set is the sum over the ranked list of the
    difference between the rank-weighted empirical CDF of the set's genes (weights ``rank**alpha``) and
    the CDF of the other genes (Barbie et al. 2009).

    Parameters
    ----------
    X
        Dense expression matrix, shape (n_obs, n_genes): observations (samples or cells) in rows.
    gene_sets
        One array of integer column indices per gene set (duplicates are counted once).
    alpha
        Weight exponent of the ranks (GSVA's ``tau``; 0.25 as in Barbie et al. 2009).
    normalize
        Divide every score by the range (max − min) of all scores in the matrix, as GSVA's
        ``ssgsea.norm=TRUE`` does. The result then depends on every sample and every set scored together.

    Returns
    -------
    Scores, shape (n_obs, n_sets); NaN for an empty set or a set holding every gene.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    >>> ssgsea(X, [np.array([0, 1])]).round(3).ravel().tolist()
    [2.514, -2.457]
    """
    arr = check_matrix(X)
    es = ssgsea_es(arr, gene_sets, alpha=alpha)
    return normalize_es(es) if normalize else es
