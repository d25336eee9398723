"""Shared pieces of the scoring kernels: gene-set packing, per-sample ranking and thread control."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numba
import numpy as np

from tmescope._errors import InputError, InputTypeError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


def check_matrix(X: object, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as a 2-D float64 C-contiguous array of finite values, or raise a helpful error."""
    if not isinstance(X, np.ndarray):
        msg = f"`{name}` must be a dense numpy array (n_obs, n_genes); received {type(X).__name__}."
        msg += " Use `tmescope.scoring.score_signatures` for AnnData or sparse input."
        raise InputTypeError(msg)
    if X.ndim != 2:
        msg = f"`{name}` must be 2-D (n_obs, n_genes); received an array with shape {X.shape}."
        raise InputError(msg)
    arr = np.ascontiguousarray(X, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        msg = (
            f"`{name}` holds NaN or infinite values (first at row {bad[0]}, column {bad[1]}); "
            "gene-set scores need finite expression values. Impute or drop those genes first."
        )
        raise InputError(msg)
    return arr


def pack_sets(gene_sets: Sequence[Sequence[int] | np.ndarray], n_genes: int) -> tuple[np.ndarray, np.ndarray]:
    """Flatten integer index arrays into one index vector plus offsets (CSR-like), checking bounds.

    Duplicated indices inside one set are kept once, in first-seen order.
    """
    parts: list[np.ndarray] = []
    offsets = np.zeros(len(gene_sets) + 1, dtype=np.int64)
    for j, s in enumerate(gene_sets):
        idx = np.asarray(s)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            msg = f"gene set {j} must be an array of integer column indices; received dtype {idx.dtype}."
            raise InputTypeError(msg)
        idx = idx.astype(np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= n_genes):
            msg = f"gene set {j} has column indices outside 0..{n_genes - 1} (min {idx.min()}, max {idx.max()})."
            raise InputError(msg)
        _, first = np.unique(idx, return_index=True)
        idx = idx[np.sort(first)]
        parts.append(idx)
        offsets[j + 1] = offsets[j] + idx.size
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return flat.astype(np.int64), offsets


@numba.njit(cache=True, nogil=True)
def rank_gsva(x: np.ndarray, q: np.ndarray, r: np.ndarray) -> None:  # pragma: no cover - compiled
    """Rank one sample the way GSVA's ssgsea does.

    ``r`` gets the average rank of ties truncated to an integer (``colRanks(ties="average")`` then
    ``mode(R) <- "integer"``); ``q`` gets ``n - p + 1`` where ``p`` is the position in R's
    ``order(R, decreasing=TRUE)``, which is stable, so tied genes keep their column order.
    """
    n = x.size
    order = np.argsort(x, kind="mergesort")
    s = 0
    while s < n:
        v = x[order[s]]
        e = s + 1
        while e < n and x[order[e]] == v:
            e += 1
        t = e - s
        rv = s + (t + 1) // 2
        for k in range(t):
            g = order[s + k]
            # the lowest column index of a tie comes first in the decreasing order, i.e. last from the bottom
            q[g] = s + t - k
            r[g] = rv
        s = e


@contextlib.contextmanager
def numba_threads(n_jobs: int | None) -> Iterator[int]:
    """Run the enclosed numba kernels on ``n_jobs`` threads (None or -1: all available)."""
    n_max = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    n = n_max if n_jobs is None or n_jobs < 0 else max(1, min(int(n_jobs), n_max))
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(old)
