"""Pure array kernels of the ligand–receptor analyses (no AnnData).

The permutation test follows CellPhoneDB :cite:`efremova2020`: cell labels are shuffled, per-group gene means are
recomputed, a complex takes the minimum over its subunits, and the interaction score is the mean of the ligand
mean in the sender group and the receptor mean in the receiver group. The p-value is the share of permutations
whose score reaches the observed one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import scipy.sparse as sp  # noqa: TC002 - used at run time by the kernels

if TYPE_CHECKING:
    from collections.abc import Callable

#: Permutations per block; each block draws from its own child ``SeedSequence``, so neither the number of jobs
#: nor the order in which blocks run can change a result.
BLOCK = 64
#: Permutations that share one pass over the matrix inside the kernel (the kernel is unrolled for exactly 8).
BATCH = 8


@numba.njit(cache=True, nogil=True)
def _entity_means(acc: np.ndarray, inv_counts: np.ndarray, subunits: np.ndarray, out: np.ndarray) -> None:
    n_groups = acc.shape[0]
    for g in range(n_groups):
        for e in range(subunits.shape[0]):
            best = np.inf
            for j in range(subunits.shape[1]):
                col = subunits[e, j]
                if col < 0:
                    break
                v = acc[g, col] * inv_counts[g]
                best = min(best, v)
            out[g, e] = best


@numba.njit(cache=True, nogil=True)
def _exceedances(  # noqa: PLR0917 - numba kernels take arrays positionally
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    perm_codes: np.ndarray,
    n_groups: int,
    n_genes: int,
    inv_counts: np.ndarray,
    subunits: np.ndarray,
    src: np.ndarray,
    tgt: np.ndarray,
    lig: np.ndarray,
    rec: np.ndarray,
    observed: np.ndarray,
) -> np.ndarray:
    """Per interaction, how many of the permutations in ``perm_codes`` (n_cells x B) score at least ``observed``.

    Permutations are processed :data:`BATCH` (8) at a time so that each row of the matrix is read once per batch.
    """
    n_cells = perm_codes.shape[0]
    n_perm = perm_codes.shape[1]
    n_ent = subunits.shape[0]
    n_int = src.shape[0]
    hits = np.zeros((n_perm, n_int), dtype=np.uint8)
    n_tasks = (n_perm + BATCH - 1) // BATCH
    width = n_groups * n_genes
    for task in range(n_tasks):
        lo = task * BATCH
        nb = min(BATCH, n_perm - lo)
        # One flat accumulator per permutation slot; slots past ``nb`` (last task) take label 0 and are ignored.
        acc = np.zeros(BATCH * width, dtype=np.float64)
        for i in range(n_cells):
            o0 = perm_codes[i, lo] * n_genes
            o1 = width + (perm_codes[i, lo + 1] if nb > 1 else 0) * n_genes
            o2 = 2 * width + (perm_codes[i, lo + 2] if nb > 2 else 0) * n_genes
            o3 = 3 * width + (perm_codes[i, lo + 3] if nb > 3 else 0) * n_genes
            o4 = 4 * width + (perm_codes[i, lo + 4] if nb > 4 else 0) * n_genes
            o5 = 5 * width + (perm_codes[i, lo + 5] if nb > 5 else 0) * n_genes
            o6 = 6 * width + (perm_codes[i, lo + 6] if nb > 6 else 0) * n_genes
            o7 = 7 * width + (perm_codes[i, lo + 7] if nb > 7 else 0) * n_genes
            for k in range(indptr[i], indptr[i + 1]):
                col = indices[k]
                v = np.float64(data[k])
                acc[o0 + col] += v
                acc[o1 + col] += v
                acc[o2 + col] += v
                acc[o3 + col] += v
                acc[o4 + col] += v
                acc[o5 + col] += v
                acc[o6 + col] += v
                acc[o7 + col] += v
        ent = np.empty((n_groups, n_ent), dtype=np.float64)
        for b in range(nb):
            _entity_means(acc[b * width : (b + 1) * width].reshape(n_groups, n_genes), inv_counts, subunits, ent)
            for k in range(n_int):
                score = 0.5 * (ent[src[k], lig[k]] + ent[tgt[k], rec[k]])
                if score >= observed[k]:
                    hits[lo + b, k] = 1
    out = np.zeros(n_int, dtype=np.int64)
    for b in range(n_perm):
        for k in range(n_int):
            out[k] += hits[b, k]
    return out


def group_sums(x: sp.csr_matrix, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group sums of the rows of ``x`` (float64, groups x genes), accumulated in cell order."""
    acc = np.zeros((n_groups, x.shape[1]), dtype=np.float64)
    _accumulate(x.indptr, x.indices, x.data, codes, acc)
    return acc


@numba.njit(cache=True, nogil=True)
def _accumulate(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, codes: np.ndarray, acc: np.ndarray) -> None:
    for i in range(codes.shape[0]):
        g = codes[i]
        for k in range(indptr[i], indptr[i + 1]):
            acc[g, indices[k]] += data[k]


def group_stats(x: sp.csr_matrix, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group sums of x, of x², of non-zero indicators and of expm1(x) in one pass (4 x groups x genes, float64).

    Examples
    --------
    >>> s = group_stats(sp.csr_matrix(np.array([[1.0, 0], [2, 3]])), np.array([0, 0]), 1)
    >>> s[:, 0].tolist()
    [[3.0, 3.0], [5.0, 9.0], [2.0, 1.0], [8.107337927389695, 19.085536923187668]]
    """
    acc = np.zeros((4, n_groups, x.shape[1]), dtype=np.float64)
    _accumulate_stats(x.indptr, x.indices, x.data, np.ascontiguousarray(codes), acc)
    return acc


@numba.njit(cache=True, nogil=True)
def _accumulate_stats(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, codes: np.ndarray, acc: np.ndarray
) -> None:
    for i in range(codes.shape[0]):
        g = codes[i]
        for k in range(indptr[i], indptr[i + 1]):
            v = np.float64(data[k])
            if v == 0.0:
                continue
            col = indices[k]
            acc[0, g, col] += v
            acc[1, g, col] += v * v
            acc[2, g, col] += 1.0
            acc[3, g, col] += np.expm1(v)


def entity_means(means: np.ndarray, subunits: np.ndarray) -> np.ndarray:
    """Complex means: minimum over subunits of the per-group gene means (groups x entities)."""
    out = np.empty((means.shape[0], subunits.shape[0]), dtype=np.float64)
    _entity_means(means, np.ones(means.shape[0]), subunits, out)
    return out


def permutation_blocks(
    n_perms: int, seed: int | np.random.SeedSequence, *, permutations: np.ndarray | None = None
) -> list[Any]:
    """The blocks of a permutation test, :data:`BLOCK` permutations each.

    A block is ``(child SeedSequence, size)``, or a slice of explicitly given ``permutations`` (n_perms x n_cells).
    """
    if permutations is not None:
        return [permutations[lo : lo + BLOCK] for lo in range(0, permutations.shape[0], BLOCK)]
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    children = ss.spawn(-(-n_perms // BLOCK))
    return [(child, min(BLOCK, n_perms - b * BLOCK)) for b, child in enumerate(children)]


def block_codes(block: Any, codes: np.ndarray) -> np.ndarray:
    """Permuted labels (permutations x cells) of one block from :func:`permutation_blocks`."""
    if isinstance(block, np.ndarray):
        return block
    child, size = block
    return draw_permutations(codes, child, size)


def run_blocks(
    func: Callable[[Any, Any], np.ndarray], shared: Any, blocks: list[Any], *, n_jobs: int, desc: str, key: str
) -> np.ndarray:
    """Sum of ``func(shared, block)`` (integer counts) over the blocks of a permutation test.

    Every block has its own random stream and integer counts add up exactly, so neither the number of threads,
    nor the order in which blocks finish, nor where they run changes the sum. Blocks run through
    :func:`tmescope._execution.map_chunks`: on ``n_jobs`` threads, or as tasks on ``tmescope.settings.client``
    (``shared`` is then sent once per worker, not once per block).
    """
    from tmescope._execution import map_chunks

    ids, lo = [], 0
    for block in blocks:
        size = block.shape[0] if isinstance(block, np.ndarray) else block[1]
        ids.append(f"permutations {lo + 1}..{lo + size}")
        lo += size
    parts = map_chunks(func, blocks, ids=ids, key=key, desc=desc, n_jobs=n_jobs, shared=shared)
    return np.sum(np.asarray(parts, dtype=np.int64), axis=0)


def draw_permutations(codes: np.ndarray, seed_seq: np.random.SeedSequence, n: int) -> np.ndarray:
    """``n`` shuffles of the label codes from one block's generator: row b gives every cell's permuted label."""
    rng = np.random.default_rng(seed_seq)
    out = np.empty((n, codes.shape[0]), dtype=codes.dtype)
    for b in range(n):
        out[b, rng.permutation(codes.shape[0])] = codes
    return out


def _block_hits(shared: tuple[Any, ...], block: Any) -> np.ndarray:
    """Exceedance counts of one block of permutations (chunk function of :func:`permutation_pvalues`)."""
    indptr, indices, data, codes, n_groups, n_genes, inv_counts, subunits, ids, observed = shared
    # cells x permutations, smallest integer type: each cell's labels in one cache line
    perm = np.ascontiguousarray(block_codes(block, codes).T, dtype=codes.dtype)
    return _exceedances(indptr, indices, data, perm, n_groups, n_genes, inv_counts, subunits, *ids, observed)  # type: ignore[call-arg]


def permutation_pvalues(  # noqa: PLR0917
    x: sp.csr_matrix,
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
    permutations: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CellPhoneDB-style permutation test of interactions (sender ``src``, receiver ``tgt``, entities ``lig``/``rec``).

    Parameters
    ----------
    x
        Cells x genes CSR matrix of non-negative, log-normalised expression (only the genes of ``subunits``).
    codes
        Group code (0 … n_groups-1) of every row of ``x``.
    subunits
        Entities x max-subunits gene column indices, padded with -1.
    n_perms, seed
        Number of permutations; seed (or ``SeedSequence``) from which one child per block of :data:`BLOCK`
        permutations is spawned.
    n_jobs
        Threads, each running whole blocks; results do not depend on it.
    permutations
        Optional explicit permuted label codes (n_perms x n_cells), e.g. to reproduce another tool's shuffles.

    Returns
    -------
    (observed score per interaction, p-value per interaction). The observed score is 0 where the ligand or the
    receptor mean is 0.

    Examples
    --------
    >>> x = sp.csr_matrix(np.array([[2.0, 0], [1, 0], [0, 3], [0, 1]]))
    >>> codes = np.array([0, 0, 1, 1])
    >>> sub = np.array([[0], [1]])
    >>> obs, p = permutation_pvalues(
    ...     x, codes, 2, sub, np.array([0]), np.array([1]), np.array([0]), np.array([1]), n_perms=100, seed=0
    ... )
    >>> float(obs[0]), bool(0 < p[0] < 0.5)
    (1.75, True)
    """
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    counts = np.bincount(codes, minlength=n_groups).astype(np.float64)
    inv_counts = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)
    ent = entity_means(group_sums(x, codes, n_groups) * inv_counts[:, None], subunits)
    lmean, rmean = ent[src, lig], ent[tgt, rec]
    observed = 0.5 * (lmean + rmean)
    # The test itself compares against the unmasked mean, as CellPhoneDB does; zero-masking is for reporting.
    # No copies of the matrix: numba compiles for its own index and value types; sums are float64 whatever they are.
    indptr, indices, data = x.indptr, x.indices, x.data
    subunits = np.ascontiguousarray(subunits, dtype=np.int64)
    ids = [np.ascontiguousarray(a, dtype=np.int64) for a in (src, tgt, lig, rec)]

    small = np.int8 if n_groups <= 127 else np.int16 if n_groups <= 32767 else np.int32
    shared = (indptr, indices, data, codes.astype(small), n_groups, x.shape[1], inv_counts, subunits, ids, observed)
    blocks = permutation_blocks(n_perms, seed, permutations=permutations)
    if permutations is not None:
        n_perms = permutations.shape[0]
    hits = run_blocks(_block_hits, shared, blocks, n_jobs=n_jobs, desc="permutations", key="crosstalk_permutations")
    score = np.where((lmean == 0) | (rmean == 0), 0.0, observed)
    return score, hits / max(n_perms, 1)
