"""Co-occurrence of cell types over distance thresholds (the ratio of squidpy.gr.co_occurrence)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from tmescope import _keys
from tmescope._errors import InputError
from tmescope._logging import warn
from tmescope._registry import register
from tmescope._settings import settings
from tmescope.spatial._input import check_spatial, per_slide, slide_groups
from tmescope.spatial._threads import numba_threads

if TYPE_CHECKING:
    import anndata as ad

#: cells per task of the pair-counting kernel; fixed so that the split never depends on the thread count
CELL_CHUNK = 4096
#: more co-occurrence tiles than this draw a warning (the halos multiply the work)
MAX_TILES = 2000
DEFAULT_INTERVAL = tuple(float(x) for x in np.linspace(0.0, 200.0, 21))


@numba.njit(cache=True, parallel=True)
def _count_pairs(  # noqa: PLR0917 - numba kernel
    x: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    thr2: np.ndarray,
    bucket_start: np.ndarray,
    bucket_of: np.ndarray,
    nbx: int,
    nby: int,
    k: int,
    core: np.ndarray,
) -> np.ndarray:
    # cells are sorted by bucket, so the inner loop reads contiguous memory; an ordered pair (i, j) is counted only
    # when i is a core cell (all cells, unless the cells are a tile plus its halo)
    n = x.shape[0]
    n_bins = thr2.shape[0]
    tmax = thr2[n_bins - 1]
    n_chunks = (n + CELL_CHUNK - 1) // CELL_CHUNK
    out = np.zeros((n_chunks, k * k * n_bins), dtype=np.int64)
    for c in numba.prange(n_chunks):
        acc = out[c]
        for i in range(c * CELL_CHUNK, min((c + 1) * CELL_CHUNK, n)):
            bi = bucket_of[i]
            gx = bi // nby
            gy = bi - gx * nby
            li = labels[i]
            xi = x[i]
            yi = y[i]
            # each unordered pair once: later cells of this bucket and the next one in the row, then the three
            # buckets of the next row; both orders are counted
            for part in range(2):
                if part == 0:
                    q0 = i + 1
                    q1 = bucket_start[gx * nby + min(gy + 2, nby)]
                else:
                    if gx + 1 >= nbx:
                        break
                    q0 = bucket_start[(gx + 1) * nby + max(gy - 1, 0)]
                    q1 = bucket_start[(gx + 1) * nby + min(gy + 2, nby)]
                for j in range(q0, q1):
                    dx = xi - x[j]
                    dy = yi - y[j]
                    d2 = dx * dx + dy * dy
                    if d2 > tmax:
                        continue
                    # first threshold >= d2 (binary search)
                    lo_r = 0
                    hi_r = n_bins - 1
                    while lo_r < hi_r:
                        mid = (lo_r + hi_r) >> 1
                        if d2 <= thr2[mid]:
                            hi_r = mid
                        else:
                            lo_r = mid + 1
                    lj = labels[j]
                    if core[i]:
                        acc[(li * k + lj) * n_bins + lo_r] += 1
                    if core[j]:
                        acc[(lj * k + li) * n_bins + lo_r] += 1
    total = out.sum(axis=0).reshape((k, k, n_bins))
    for r in range(1, n_bins):
        total[:, :, r] += total[:, :, r - 1]
    return total


def cooccurrence_counts(
    coords: np.ndarray,
    codes: np.ndarray,
    k: int,
    interval: np.ndarray,
    *,
    n_jobs: int = 1,
    core: np.ndarray | None = None,
) -> np.ndarray:
    """Ordered pairs of cells (i != j) of types (a, b) closer than each threshold ``interval[1:]`` (kernel).

    With ``core`` (boolean per cell), only pairs whose first cell is a core cell are counted: the cells of a tile
    plus a halo of the largest threshold then give exactly the tile's share of the slide's counts.
    Returns an integer array (types x types x thresholds); cumulative over thresholds, as in squidpy.
    """
    thr = np.asarray(interval, dtype=np.float64)[1:]
    tmax = float(thr[-1])
    n = coords.shape[0]
    if n < 2 or tmax <= 0:
        return np.zeros((k, k, thr.shape[0]), dtype=np.int64)
    lo = coords.min(axis=0)
    span = coords.max(axis=0) - lo
    # buckets at least as wide as the largest threshold (only adjacent buckets are searched), and no more
    # buckets than about a quarter of the cells
    size = max(tmax, float(np.sqrt(span[0] * span[1] / max(n / 4, 1))) if span.min() > 0 else tmax, 1e-9)
    nbx = int(span[0] // size) + 1
    nby = int(span[1] // size) + 1
    gx = ((coords[:, 0] - lo[0]) // size).astype(np.int64)
    gy = ((coords[:, 1] - lo[1]) // size).astype(np.int64)
    bucket_of = gx * nby + gy
    cell_order = np.argsort(bucket_of, kind="stable").astype(np.int64)
    bucket_start = np.searchsorted(bucket_of[cell_order], np.arange(nbx * nby + 1)).astype(np.int64)
    labels = np.ascontiguousarray(codes, dtype=np.int32)
    is_core = np.ones(n, dtype=np.uint8) if core is None else np.asarray(core, dtype=np.uint8)
    with numba_threads(n_jobs):
        return _count_pairs(
            np.ascontiguousarray(coords[cell_order, 0]),
            np.ascontiguousarray(coords[cell_order, 1]),
            labels[cell_order],
            thr**2,
            bucket_start,
            bucket_of[cell_order],
            nbx,
            nby,
            k,
            np.ascontiguousarray(is_core[cell_order]),
        )


def tiles(coords: np.ndarray, tile_size: float, halo: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Square tiles of ``tile_size`` µm over the points, each with a halo of ``halo`` µm (at most ``tile_size``).

    Returns, for every tile that holds a point, the positions of its points and of the halo points (within
    ``halo`` µm of the tile, found among the 8 neighbouring tiles) and the core mask over those positions (kernel).

    Examples
    --------
    >>> pts = np.array([[0.0, 0.0], [9.0, 0.0], [11.0, 0.0], [30.0, 0.0]])
    >>> [(p.tolist(), c.tolist()) for p, c in tiles(pts, 10.0, 2.5)]
    [([0, 1, 2], [True, True, False]), ([1, 2], [False, True]), ([3], [True])]
    """
    if not 0 <= halo <= tile_size:
        msg = f"A tile's halo ({halo} µm) must not be wider than the tile ({tile_size} µm)."
        raise InputError(msg)
    lo = coords.min(axis=0)
    ij = np.floor((coords - lo) / tile_size).astype(np.int64)
    width = int(ij[:, 1].max()) + 1 if ij.size else 1
    key = ij[:, 0] * width + ij[:, 1]
    order = np.argsort(key, kind="stable")
    keys, starts = np.unique(key[order], return_index=True)
    bounds = dict(
        zip(keys.tolist(), zip(starts.tolist(), [*starts[1:].tolist(), order.size], strict=True), strict=True)
    )
    out = []
    for kk in keys.tolist():
        ti, tj = divmod(kk, width)
        near = [
            order[slice(*bounds[(ti + di) * width + tj + dj])]
            for di in (-1, 0, 1)
            for dj in (-1, 0, 1)
            if 0 <= tj + dj < width and (ti + di) * width + tj + dj in bounds
        ]
        cand = np.sort(np.concatenate(near))
        x0, y0 = lo[0] + ti * tile_size, lo[1] + tj * tile_size
        c = coords[cand]
        inside = (
            (c[:, 0] >= x0 - halo)
            & (c[:, 0] < x0 + tile_size + halo)
            & (c[:, 1] >= y0 - halo)
            & (c[:, 1] < y0 + tile_size + halo)
        )
        pos = cand[inside]
        out.append((pos, key[pos] == kk))
    return out


def _chunk_counts(args: tuple[Any, ...]) -> np.ndarray:
    """Pair counts of one slide, or of one tile with its halo (chunk function of :func:`co_occurrence`)."""
    coords, codes, k, interval, n_jobs, core = args
    return cooccurrence_counts(coords, codes, k, interval, n_jobs=n_jobs, core=core)


def cooccurrence_ratio(counts: np.ndarray) -> np.ndarray:
    """``occ[a, b, r] = P(a | pair with b within r) / P(a)``, squidpy's co-occurrence ratio (kernel)."""
    counts = counts.astype(np.float64)
    k, _, n_bins = counts.shape
    occ = np.zeros((k, k, n_bins))
    col = counts.sum(axis=0)  # col[c, r]: pair ends of type c
    totals = col.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        probs = col / totals  # probs[a, r]
        cond = counts / col[:, None, :]  # cond[c, a, r] = counts[c, a, r] / col[c, r]
        occ = np.transpose(cond, (1, 0, 2)) / probs[:, None, :]
    occ[~np.isfinite(occ)] = 0.0
    return occ


@register(
    name="co_occurrence",
    topic="spatial",
    modality="spatial",
    citation="Co-occurrence ratio as in squidpy.gr.co_occurrence (Palla et al. 2022)",
    scale="coordinates in µm",
)
def co_occurrence(
    adata: ad.AnnData,
    *,
    cell_type_key: str | None = None,
    interval: np.ndarray | list[float] | None = None,
    n_jobs: int | None = None,
    tile_size: float | None = None,
    copy: bool = False,
) -> ad.AnnData | None:
    """Co-occurrence of cell types within growing distances, pooled over slides (pairs never cross slides).

    For each threshold ``t`` in ``interval[1:]``, counts ordered pairs of distinct cells closer than ``t`` and
    returns ``P(type a | the pair's other cell is b) / P(type a)``, the ratio of ``squidpy.gr.co_occurrence``
    (1 = as often as overall, > 1 = co-occur more).

    Parameters
    ----------
    adata
        AnnData from :func:`read_spatial`.
    cell_type_key
        ``obs`` column of cell types (default ``"cell_type"``).
    interval
        Increasing distances in µm; the first value is the lower end of the first bin, as in squidpy.
        Default 0 to 200 µm in steps of 10 µm. Work grows with the square of the largest distance.
    n_jobs
        Threads; the result never depends on it.
    tile_size
        Cut each slide into square tiles of this size (µm, at least the largest distance), each counted with a
        halo of the largest distance: one chunk per tile instead of per slide, so one large slide spreads over
        the workers of a cluster. The counts are exactly those of whole slides.
    copy
        Return a changed copy instead of writing into ``adata``.

    Returns
    -------
    None (or the copy); writes ``uns["co_occurrence"]`` with ``occ`` (types x types x thresholds),
    ``count`` (the pair counts), ``interval`` (µm) and ``categories``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tmescope.spatial import read_spatial
    >>> r = np.random.default_rng(0)
    >>> t = pd.DataFrame({"x": r.uniform(0, 500, 2000), "y": r.uniform(0, 500, 2000)})
    >>> t["cell_type"] = np.where(t["x"] < 250, "A", "B")
    >>> a = read_spatial(t, unit="um")
    >>> co_occurrence(a, interval=[0, 20, 40])
    >>> a.uns["co_occurrence"]["occ"].shape
    (2, 2, 2)
    """
    iv = np.asarray(DEFAULT_INTERVAL if interval is None else interval, dtype=np.float64)
    if iv.ndim != 1 or iv.size < 2 or not np.all(np.isfinite(iv)) or np.any(np.diff(iv) <= 0) or iv[0] < 0:
        msg = f"interval must be at least two increasing, non-negative distances in µm; received {iv.tolist()[:10]}."
        raise InputError(msg)
    if copy:
        adata = adata.copy()
    coords, types = check_spatial(adata, cell_type_key=cell_type_key)
    k = len(types.categories)
    counts = np.zeros((k, k, iv.size - 1), dtype=np.int64)
    nj = n_jobs or settings.n_jobs
    if tile_size is not None and not tile_size >= iv[-1]:
        msg = f"tile_size must be at least the largest distance ({iv[-1]:g} µm); received {tile_size!r}."
        raise InputError(msg)
    chunks: list[tuple[np.ndarray, np.ndarray | None]] = []
    ids: list[str] = []
    for slide, pos in slide_groups(adata):
        if tile_size is None:
            chunks.append((pos, None))
            ids.append(f"slide {slide}")
            continue
        for t, (sub, core) in enumerate(tiles(coords[pos], float(tile_size), float(iv[-1]))):
            chunks.append((pos[sub], core))
            ids.append(f"slide {slide} tile {t + 1}")

    if tile_size is not None and len(chunks) > MAX_TILES:
        warn(
            f"co_occurrence: tile_size={tile_size:g} µm cuts the data into {len(chunks):,} tiles; each tile also counts "
            "its halo, so small tiles multiply the work. Tiles of at least ten times the largest distance keep the "
            "halo small."
        )

    def load(chunk: tuple[np.ndarray, np.ndarray | None]) -> tuple[Any, ...]:
        pos, core = chunk
        return coords[pos], types.codes[pos], k, iv, nj, core

    for part in per_slide(_chunk_counts, chunks, load=load, key="co_occurrence", ids=ids):
        counts += part
    adata.uns[_keys.UNS_CO_OCCURRENCE] = {
        "occ": cooccurrence_ratio(counts),
        "count": counts,
        "interval": iv,
        "categories": [str(c) for c in types.categories],
    }
    return adata if copy else None
