"""Mean z-score: each gene standardised across observations, averaged over the set's genes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from tmescope._errors import InputError
from tmescope._registry import register
from tmescope.scoring._kernels import check_matrix, pack_sets

if TYPE_CHECKING:
    from collections.abc import Sequence


@numba.njit(parallel=True, cache=True, nogil=True)
def _mean_z(
    X: np.ndarray, idx: np.ndarray, offsets: np.ndarray, mean: np.ndarray, inv_sd: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    # one plain sequential sum per (observation, set): the result cannot depend on how rows are chunked
    n_obs = X.shape[0]
    n_sets = offsets.size - 1
    out = np.empty((n_obs, n_sets), dtype=np.float64)
    for i in numba.prange(n_obs):
        for j in range(n_sets):
            a = offsets[j]
            b = offsets[j + 1]
            if b == a:
                out[i, j] = np.nan
                continue
            tot = 0.0
            for k in range(a, b):
                g = idx[k]
                tot += (X[i, g] - mean[g]) * inv_sd[g]
            out[i, j] = tot / (b - a)
    return out


def gene_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (ddof=1, as R's ``scale``) of every column; sd 0 where fewer than 2 rows."""
    mean = X.mean(axis=0)
    sd = X.std(axis=0, ddof=1) if X.shape[0] > 1 else np.zeros(X.shape[1])
    return mean, sd


@register(
    name="mean_z",
    topic="scoring",
    modality="bulk, single-cell, spatial",
    citation="Lee E et al. PLoS Comput Biol 2008;4:e1000217 (z-score set scoring, here the mean of z)",
    scale="log scale (e.g. log2(TPM+1)); relative to the cohort scored",
)
def mean_z(
    X: np.ndarray,
    gene_sets: Sequence[Sequence[int] | np.ndarray],
    *,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
) -> np.ndarray:
    """Mean z-score of each set in each observation.

    Each gene is standardised across observations, ``z = (x − mean) / sd`` (sd with ddof=1); the score is the
    mean of ``z`` over the set's genes. Genes with sd 0 contribute ``z = 0``. The score is relative to the
    cohort that gives ``mean`` and ``std`` (by default ``X`` itself).

    Parameters
    ----------
    X
        Dense expression matrix, shape (n_obs, n_genes), usually log-scale.
    gene_sets
        One array of integer column indices per gene set.
    mean, std
        Per-gene mean and standard deviation of the reference cohort (length n_genes); computed from ``X`` when
        omitted. Pass them to score chunks or new samples against a fixed cohort.

    Returns
    -------
    Scores, shape (n_obs, n_sets); NaN for an empty set.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> mean_z(X, [np.array([0, 1])]).ravel().tolist()
    [-1.0, 0.0, 1.0]
    """
    arr = check_matrix(X)
    n_genes = arr.shape[1]
    if mean is None or std is None:
        m0, s0 = gene_stats(arr)
        mean = m0 if mean is None else mean
        std = s0 if std is None else std
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    if mean.shape != (n_genes,) or std.shape != (n_genes,):
        msg = f"`mean` and `std` must have one value per gene ({n_genes}); received {mean.shape} and {std.shape}."
        raise InputError(msg)
    idx, offsets = pack_sets(gene_sets, n_genes)
    inv = np.where(std > 0, 1.0 / np.where(std > 0, std, 1.0), 0.0)
    return _mean_z(arr, idx, offsets, mean, inv)
