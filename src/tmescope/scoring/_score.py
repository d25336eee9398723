"""AnnData wrapper: match sets to genes, report coverage, score in chunks of observations, write the keys."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from tmescope import _keys
from tmescope._errors import CoverageWarning, InputError, InputTypeError, MissingKeyError
from tmescope._execution import chunk_bounds, map_chunks
from tmescope._logging import format_items, warn
from tmescope._settings import settings
from tmescope.scoring._kernels import numba_threads
from tmescope.scoring._meanz import mean_z
from tmescope.scoring._singscore import singscore_raw
from tmescope.scoring._ssgsea import normalize_es, ssgsea_es

if TYPE_CHECKING:
    from anndata import AnnData

    from tmescope.signatures import GeneSet

METHODS = ("ssgsea", "singscore", "mean_z")
#: Rows per block when computing cohort-wide gene statistics; fixed so results never depend on ``chunk_size``.
_STAT_BLOCK = 2048


def _resolve_sets(sets: Any) -> dict[str, GeneSet]:
    from tmescope import signatures

    if sets is None:
        return signatures.get_sets()
    if isinstance(sets, str):
        known = signatures.list_sets()
        if sets in set(known["collection"]):
            return signatures.get_sets(collection=sets)
        return {sets: signatures.get(sets)}
    if isinstance(sets, signatures.GeneSet) or hasattr(sets, "items"):
        return signatures.as_gene_sets(sets)
    items = list(sets)
    if all(isinstance(s, str) for s in items):
        return signatures.get_sets(items)
    return signatures.as_gene_sets(items)


def _matrix(adata: AnnData, layer: str | None) -> Any:
    if layer is None:
        X = adata.X
        where = "adata.X"
    else:
        if layer not in adata.layers:
            msg = f"Layer {layer!r} not in adata.layers (available: {', '.join(adata.layers) or 'none'})."
            raise MissingKeyError(msg)
        X = adata.layers[layer]
        where = f"adata.layers[{layer!r}]"
    if X is None:
        msg = f"{where} is empty; put the expression matrix there or pass `layer=`."
        raise InputError(msg)
    if sparse.issparse(X):
        return X.tocsr() if not sparse.isspmatrix_csr(X) and not isinstance(X, sparse.csr_array) else X
    if isinstance(X, np.ndarray):
        return X
    if hasattr(X, "shape") and hasattr(X, "__getitem__") and len(X.shape) == 2:
        # backed (on-disk) matrices and dask arrays: rows are read one chunk at a time below
        return X
    return np.asarray(X)


def _dense_rows(X: Any, lo: int, hi: int, cols: np.ndarray | None = None, *, keep_float32: bool = False) -> np.ndarray:
    """Rows ``lo:hi`` as a dense C-contiguous float array (float32 kept when asked: ranks are the same)."""
    block = X[lo:hi]
    if cols is not None:
        block = block[:, cols]
    if sparse.issparse(block):
        block = block.toarray()
    elif hasattr(block, "compute"):
        block = block.compute()
    dtype = np.float32 if keep_float32 and block.dtype == np.float32 else np.float64
    out = np.ascontiguousarray(block, dtype=dtype)
    if not np.isfinite(out).all():
        r, c = np.argwhere(~np.isfinite(out))[0]
        msg = (
            f"Expression values must be finite; found NaN/inf at observation {lo + r} (gene column {c}). "
            "Impute or drop those genes before scoring."
        )
        raise InputError(msg)
    return out


def coverage_table(sets: dict[str, GeneSet], var_names: pd.Index, *, min_coverage: float) -> pd.DataFrame:
    """Per-set gene coverage: set, n_genes, n_present, coverage, below_floor."""
    present = set(var_names)
    rows = []
    for name, gs in sets.items():
        n = len(gs.genes)
        k = sum(g in present for g in gs.genes)
        cov = k / n if n else 0.0
        rows.append(
            {"set": name, "n_genes": n, "n_present": k, "coverage": cov, "below_floor": k == 0 or cov < min_coverage}
        )
    return pd.DataFrame(rows, columns=["set", "n_genes", "n_present", "coverage", "below_floor"])


def score_signatures(
    adata: AnnData,
    *,
    sets: Any = None,
    method: str = "ssgsea",
    normalize: bool = False,
    layer: str | None = None,
    min_coverage: float = 0.5,
    chunk_size: int = 1000,
    n_jobs: int | None = None,
    key_added: str | None = None,
    copy: bool = False,
) -> pd.DataFrame | AnnData:
    """Score gene sets in every observation (sample, cell or spot) of an AnnData.

    Parameters
    ----------
    adata
        Observations in rows, HGNC symbols as ``var_names``; dense or sparse ``X`` (or ``layer``).
    sets
        A collection name (e.g. ``"bagaev2021"``), a built-in set name, a list of set names, a mapping
        name → GeneSet or gene list, or ``None`` for every built-in set.
    method
        ``"ssgsea"`` (GSVA's ssGSEA, alpha 0.25), ``"singscore"`` or ``"mean_z"``.
    normalize
        ssGSEA only: divide by the range of all scores of this run (GSVA's ``ssgsea.norm=TRUE``).
    layer
        Layer to score instead of ``X``.
    min_coverage
        Coverage floor: a set with fewer than this fraction of its genes in ``var_names`` (or none) is reported
        as NaN with a :class:`~tmescope.CoverageWarning`.
    chunk_size
        Observations per chunk; peak memory grows with ``chunk_size × n_genes``, results do not depend on it.
    n_jobs
        Threads (default ``tmescope.settings.n_jobs``); results do not depend on it.
    key_added
        ``obsm`` key; default ``"scores_<method>"``.
    copy
        Return a changed copy of ``adata`` instead of writing into it.

    Returns
    -------
    The scores as a DataFrame (observations × sets), or the changed copy when ``copy=True``. Writes
    ``obsm[key_added or "scores_<method>"]`` (the same DataFrame) and ``uns["coverage_<key_added or method>"]``
    (DataFrame with ``set``, ``n_genes``, ``n_present``, ``coverage``, ``below_floor``).

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> genes = ["GZMA", "PRF1", "CD8A", "CD8B", "GZMB"] + [f"G{i}" for i in range(95)]
    >>> adata = ad.AnnData(rng.gamma(2.0, size=(4, 100)), var=pd.DataFrame(index=genes))
    >>> df = score_signatures(adata, sets=["cytolytic_activity_rooney2015", "tide_ctl_jiang2018"])
    >>> df.shape, sorted(adata.obsm)
    ((4, 2), ['scores_ssgsea'])
    >>> adata.uns["coverage_ssgsea"]["coverage"].tolist()
    [1.0, 1.0]
    """
    from anndata import AnnData

    if not isinstance(adata, AnnData):
        msg = f"`adata` must be an AnnData (observations × genes); received {type(adata).__name__}."
        raise InputTypeError(msg)
    if method not in METHODS:
        msg = f"Unknown scoring method {method!r}; expected one of {', '.join(METHODS)}."
        raise InputError(msg)
    if normalize and method != "ssgsea":
        msg = f"`normalize=True` applies to method='ssgsea' only; received method={method!r}."
        raise InputError(msg)
    if not (0.0 <= float(min_coverage) <= 1.0):
        msg = f"`min_coverage` must be a fraction between 0 and 1; received {min_coverage}."
        raise InputError(msg)
    if int(chunk_size) < 1:
        msg = f"`chunk_size` must be a positive number of observations; received {chunk_size}."
        raise InputError(msg)
    if not adata.var_names.is_unique:
        dup = adata.var_names[adata.var_names.duplicated()].unique().tolist()
        msg = (
            f"Gene names in var_names must be unique; duplicated {format_items(dup)}. "
            "Aggregate or drop duplicates first (tmescope.io readers do this)."
        )
        raise InputError(msg)

    X = _matrix(adata, layer)
    gene_sets = _resolve_sets(sets)
    if not gene_sets:
        msg = "No gene sets to score: `sets` selected nothing."
        raise InputError(msg)
    if copy:
        adata = adata.copy()
        X = _matrix(adata, layer)
    obsm_key = key_added or _keys.OBSM_SCORES.format(method=method)
    cov_key = _keys.UNS_COVERAGE.format(method=key_added or method)

    cov = coverage_table(gene_sets, adata.var_names, min_coverage=float(min_coverage))
    low = cov.loc[cov["below_floor"], "set"].tolist()
    if low:
        detail = ", ".join(f"{r.set} ({r.n_present}/{r.n_genes})" for r in cov[cov["below_floor"]].head(5).itertuples())
        more = ", …" if len(low) > 5 else ""
        warn(
            f"{len(low)} gene set(s) are below the coverage floor (min_coverage={min_coverage:g}: fewer than "
            f"{min_coverage:.0%} of their genes, or none, in the data) and are reported as NaN: {detail}{more}. "
            "Check that var_names are current HGNC symbols (tmescope.genes.harmonize_var), or lower `min_coverage`.",
            CoverageWarning,
        )

    keep = [n for n in gene_sets if n not in set(low)]
    n_obs, n_genes = X.shape
    pos = pd.Series(np.arange(n_genes), index=adata.var_names)
    index_sets = [pos.reindex(list(gene_sets[n].genes)).dropna().to_numpy(dtype=np.int64) for n in keep]

    scores = np.full((n_obs, len(gene_sets)), np.nan)
    kept_cols = np.array([list(gene_sets).index(n) for n in keep], dtype=np.int64)
    jobs = settings.n_jobs if n_jobs is None else n_jobs
    if keep and n_obs:
        res = _run(X, index_sets, method=method, chunk_size=int(chunk_size), n_jobs=jobs)
        if normalize:
            res = normalize_es(res)
        scores[:, kept_cols] = res

    df = pd.DataFrame(scores, index=adata.obs_names.copy(), columns=list(gene_sets))
    adata.obsm[obsm_key] = df
    adata.uns[cov_key] = cov
    _record(method=method, normalize=normalize, n_sets=len(gene_sets), low=low)
    return adata if copy else df


def _run(X: Any, index_sets: list[np.ndarray], *, method: str, chunk_size: int, n_jobs: int | None) -> np.ndarray:
    n_obs, n_genes = X.shape
    bounds = chunk_bounds(n_obs, chunk_size)
    ids = [f"observations {lo}..{hi - 1}" for lo, hi in bounds]
    if method == "mean_z":
        # only the set genes matter: work on their union to keep chunks small
        cols = np.unique(np.concatenate(index_sets))
        remap = np.full(n_genes, -1, dtype=np.int64)
        remap[cols] = np.arange(cols.size)
        local = [remap[s] for s in index_sets]
        mean, std = _cohort_stats(X, cols)
        with numba_threads(n_jobs):
            parts = map_chunks(
                partial(mean_z, gene_sets=local, mean=mean, std=std),
                bounds,
                ids=ids,
                load=lambda b: _dense_rows(X, b[0], b[1], cols),
                key="mean_z",
                desc="mean_z",
            )
        return np.concatenate(parts) if parts else np.empty((0, len(index_sets)))
    with numba_threads(n_jobs) as threads:
        kernel = ssgsea_es if method == "ssgsea" else singscore_raw
        parts = map_chunks(
            partial(kernel, gene_sets=index_sets, n_jobs=threads),
            bounds,
            ids=ids,
            # rank-based: float32 input ranks exactly like its float64 copy, at half the memory and sort time
            load=lambda b: _dense_rows(X, b[0], b[1], keep_float32=True),
            key=method,
            desc=method,
        )
    return np.concatenate(parts) if parts else np.empty((0, len(index_sets)))


def _cohort_stats(X: Any, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene mean and sd (ddof=1) over all observations, in fixed blocks (independent of ``chunk_size``)."""
    n_obs = X.shape[0]
    total = np.zeros(cols.size)
    for lo in range(0, n_obs, _STAT_BLOCK):
        total += _dense_rows(X, lo, min(lo + _STAT_BLOCK, n_obs), cols).sum(axis=0)
    mean = total / max(n_obs, 1)
    ss = np.zeros(cols.size)
    for lo in range(0, n_obs, _STAT_BLOCK):
        ss += ((_dense_rows(X, lo, min(lo + _STAT_BLOCK, n_obs), cols) - mean) ** 2).sum(axis=0)
    sd = np.sqrt(ss / (n_obs - 1)) if n_obs > 1 else np.zeros(cols.size)
    sd[sd < 1e-12 * np.maximum(np.abs(mean), 1.0)] = 0.0
    return mean, sd


def _record(*, method: str, normalize: bool, n_sets: int, low: list[str]) -> None:
    from tmescope._provenance import current
    from tmescope.signatures import LIBRARY_VERSION

    prov = current()
    if prov is not None:
        prov.add_resource("signature_library", {"version": LIBRARY_VERSION})
        prov.params.setdefault("scoring", []).append(
            {"method": method, "normalize": normalize, "n_sets": n_sets, "below_coverage_floor": low}
        )
