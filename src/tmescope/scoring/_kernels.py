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
def _left(sv: np.ndarray, v: float) -> int:  # pragma: no cover - compiled
    """Number of values in sorted ``sv`` strictly below ``v``."""
    lo = 0
    hi = sv.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if sv[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, nogil=True)
def _right(sv: np.ndarray, v: float) -> int:  # pragma: no cover - compiled
    """Number of values in sorted ``sv`` at or below ``v``."""
    lo = 0
    hi = sv.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if sv[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, nogil=True)
def _gallop_left(sv: np.ndarray, v: float, p: int) -> int:  # pragma: no cover - compiled
    """First index ``>= p`` of sorted ``sv`` holding a value ``>= v``: exponential then binary search from ``p``."""
    n = sv.size
    if p >= n or sv[p] >= v:
        return p
    lo = p
    step = 1
    hi = p + 1
    while hi < n and sv[hi] < v:
        lo = hi
        step <<= 1
        hi = lo + step
    hi = min(hi, n)
    lo += 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if sv[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, nogil=True)
def _gallop_right(sv: np.ndarray, v: float, p: int) -> int:  # pragma: no cover - compiled
    """First index ``>= p`` of sorted ``sv`` holding a value ``> v``: exponential then binary search from ``p``."""
    n = sv.size
    if p >= n or sv[p] > v:
        return p
    lo = p
    step = 1
    hi = p + 1
    while hi < n and sv[hi] <= v:
        lo = hi
        step <<= 1
        hi = lo + step
    hi = min(hi, n)
    lo += 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if sv[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, nogil=True)
def _bounds(
    sv: np.ndarray, usv: np.ndarray, uorder: np.ndarray, lo: np.ndarray, t: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """For each requested gene: how many values lie below it (``lo``) and how many equal it (``t``).

    ``usv`` holds the requested genes' values sorted, ``uorder`` their positions; a galloping merge over the
    sorted row ``sv``. Returns the distinct values, ascending, that a requested gene shares with another column.
    """
    p = 0
    prev = np.nan
    a = 0
    c = 0
    tied = np.empty(usv.size, dtype=np.float64)
    n_tied = 0
    for k in range(usv.size):
        v = usv[k]
        if v != prev:
            a = _gallop_left(sv, v, p)
            c = _gallop_right(sv, v, a) - a
            p = a
            prev = v
            if c > 1:
                tied[n_tied] = v
                n_tied += 1
        u = uorder[k]
        lo[u] = a
        t[u] = c
    return tied[:n_tied]


@numba.njit(cache=True, nogil=True)
def _count_above(x: np.ndarray, tv: np.ndarray, upos: np.ndarray, above: np.ndarray) -> None:  # pragma: no cover
    """For requested columns holding a value of ``tv``: how many later columns hold the same value."""
    n = x.size
    if tv.size <= 4:
        # few tied values (typically just 0): one plain, branch-light scan per value
        for v in tv:
            seen = 0
            for h in range(n - 1, -1, -1):
                if x[h] == v:
                    if upos[h] >= 0:
                        above[upos[h]] = seen
                    seen += 1
        return
    counts = np.zeros(tv.size, dtype=np.int64)
    lo_v = tv[0]
    hi_v = tv[-1]
    for h in range(n - 1, -1, -1):
        v = x[h]
        if v < lo_v or v > hi_v:
            continue
        j = _left(tv, v)
        if j < tv.size and tv[j] == v:
            if upos[h] >= 0:
                above[upos[h]] = counts[j]
            counts[j] += 1


@numba.njit(cache=True, nogil=True)
def rank_subset(  # noqa: PLR0917 - numba kernels take positional arrays
    x: np.ndarray,
    sv: np.ndarray,
    genes: np.ndarray,
    uorder: np.ndarray,
    usv: np.ndarray,
    upos: np.ndarray,
    q: np.ndarray,
    r: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """GSVA's ssGSEA ranks of ``genes`` (column indices) in one sample, from its sorted values ``sv``.

    ``r`` gets the average rank of ties truncated to an integer (``colRanks(ties="average")`` then
    ``mode(R) <- "integer"``); ``q`` gets ``n - p + 1``, where ``p`` is the position in R's stable
    ``order(R, decreasing=TRUE)``: tied genes keep their column order, so among ties the gene with the larger
    column index sits lower. ``uorder`` sorts ``x[genes]``; ``upos`` maps a column to its position in ``genes``
    (-1 if absent). Only the requested genes are ranked: one merge walk, plus one backward scan for ties.
    """
    m = genes.size
    lo = np.empty(m, dtype=np.int64)
    t = np.empty(m, dtype=np.int64)
    tv = _bounds(sv, usv, uorder, lo, t)
    above = np.zeros(m, dtype=np.int64)
    if tv.size:
        _count_above(x, tv, upos, above)
    for u in range(m):
        q[u] = lo[u] + 1 + above[u]
        r[u] = lo[u] + (t[u] + 1) // 2


@numba.njit(cache=True, nogil=True)
def rank_min_subset(
    sv: np.ndarray, uorder: np.ndarray, usv: np.ndarray, r: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Ascending ranks of ``genes`` with ties given the minimum rank (R's ``rank(ties.method="min")``)."""
    t = np.empty(r.size, dtype=np.int64)
    _bounds(sv, usv, uorder, r, t)
    for u in range(r.size):
        r[u] += 1


def sorted_rows(X: np.ndarray, genes: np.ndarray, n_jobs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row of ``X`` sorted; the order sorting ``X[:, genes]`` and those values sorted (NumPy sorts, threaded)."""
    sv = np.empty_like(X)
    order = np.empty((X.shape[0], genes.size), dtype=np.int64)
    usv = np.empty((X.shape[0], genes.size), dtype=X.dtype)

    def work(lo: int, hi: int) -> None:
        sv[lo:hi] = np.sort(X[lo:hi], axis=1)
        xg = X[lo:hi][:, genes]
        order[lo:hi] = np.argsort(xg, axis=1)
        usv[lo:hi] = np.take_along_axis(xg, order[lo:hi], axis=1)

    if n_jobs <= 1 or X.shape[0] < 2 * n_jobs:
        work(0, X.shape[0])
        return sv, order, usv
    bounds = np.linspace(0, X.shape[0], n_jobs + 1).astype(int)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(n_jobs) as pool:
        list(pool.map(work, bounds[:-1], bounds[1:]))
    return sv, order, usv


def union_sets(idx: np.ndarray, offsets: np.ndarray, n_genes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of the set members, the column → union position map, and the members as union positions."""
    genes = np.unique(idx)
    upos = np.full(n_genes, -1, dtype=np.int64)
    upos[genes] = np.arange(genes.size)
    return genes.astype(np.int64), upos, upos[idx]


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
