"""Single-cell input: find raw counts or log-normalised values, detect and report the scale, name the samples.

:func:`prepare_cells` turns a scanpy user's AnnData into the working object of :mod:`tmescope.sc`: ``X`` holds
log-normalised values (natural log of counts per 10,000 + 1, as ``scanpy.pp.normalize_total`` + ``log1p``),
``layers["counts"]`` the raw counts when the input had them, ``obs[sample_key]`` the sample of every cell and
``uns["tmescope_input"]`` what was detected and fixed, with the same fields as the bulk reader.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

from tmescope import _keys
from tmescope._errors import InputError, InputTypeError, MissingKeyError, ScaleError
from tmescope._logging import autofix, format_items

if TYPE_CHECKING:
    from anndata import AnnData

#: Layers searched, in this order, for raw counts when ``layer`` is not given.
COUNT_LAYERS = ("counts", "raw_counts", "umi_counts", "count")
#: Library size that log-normalisation scales every cell to (scanpy's usual choice).
TARGET_SUM = 1e4
#: Column that holds the sample when the user names none.
DEFAULT_SAMPLE_KEY = "sample"
_N_ROWS_CHECK = 2000
_CONSTANT_CV = 0.02
_MAX_LOG = 20.0


class CellScale(NamedTuple):
    """What :func:`detect_cell_scale` found."""

    scale: str
    """``counts``, ``log_other`` (natural log), ``log2``, ``linear`` or ``centered``."""
    log_base: float | None
    """Base of the logarithm for log scales."""
    target_sum: float | None
    """Constant per-cell total of the back-transformed values (log-normalised input), when there is one."""
    evidence: str
    """Why; starts with ``"uncertain: "`` when the evidence is weak."""


def _rows(M: Any, n: int = _N_ROWS_CHECK) -> Any:
    """Up to ``n`` evenly spaced rows (deterministic), kept sparse when sparse."""
    n_obs = M.shape[0]
    idx = np.unique(np.linspace(0, n_obs - 1, num=min(n, n_obs)).astype(np.int64)) if n_obs else np.array([], int)
    sub = M[idx]
    return sparse.csr_matrix(sub) if sparse.issparse(sub) else np.asarray(sub)


def _values(sub: Any) -> np.ndarray:
    return np.asarray(sub.data if sparse.issparse(sub) else sub, dtype=np.float64).ravel()


def _row_sums(sub: Any, fn: Any) -> np.ndarray:
    if sparse.issparse(sub):
        t = sub.copy().astype(np.float64)
        t.data = fn(t.data)
        return np.asarray(t.sum(axis=1)).ravel()
    return fn(np.asarray(sub, dtype=np.float64)).sum(axis=1)


def detect_cell_scale(M: Any) -> CellScale:
    """Detect whether a cells × genes matrix holds raw counts, log-normalised, linear or centred values.

    Rules, on up to 2,000 evenly spaced cells: more than 5 % negative entries -> ``centered`` (scaled data, as
    left by ``scanpy.pp.scale``); non-negative integers -> ``counts``; otherwise the back-transformed per-cell
    totals are tested for being constant (coefficient of variation < 2 %) with base e, then 2 — constant totals
    mean log-normalised data (``normalize_total`` + ``log1p``); without constant totals (e.g. a gene subset) a
    maximum up to 20 means log values (natural log assumed, marked uncertain) and a larger one linear values.

    Parameters
    ----------
    M
        Dense or sparse matrix, cells × genes.

    Returns
    -------
    CellScale
        ``scale``, ``log_base``, ``target_sum`` and ``evidence``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(1.0, size=(50, 200)).astype(float)
    >>> detect_cell_scale(counts).scale
    'counts'
    >>> norm = np.log1p(counts / counts.sum(axis=1, keepdims=True) * 1e4)
    >>> r = detect_cell_scale(norm)
    >>> r.scale, r.log_base, round(r.target_sum)
    ('log_other', 2.718281828459045, 10000)
    """
    sub = _rows(M)
    v = _values(sub)
    n_entries = sub.shape[0] * sub.shape[1]
    if v.size == 0 or n_entries == 0:
        return CellScale("counts", None, None, "uncertain: the matrix has no non-zero values")
    if not np.isfinite(v).all():
        msg = "The expression matrix has NaN or infinite values; single-cell input must be finite (fill or drop them)."
        raise InputError(msg)
    n_neg = int(np.count_nonzero(v < 0))
    if n_neg / n_entries > 0.05:
        return CellScale(
            "centered",
            None,
            None,
            f"{100 * n_neg / n_entries:.0f}% of the values are negative (minimum {v.min():.3g}): centred/scaled data "
            "(scanpy.pp.scale), which cannot be un-scaled",
        )
    if n_neg:
        msg = (
            f"The expression matrix has {n_neg} negative value(s) (minimum {v.min():.3g}) among non-negative ones; "
            "counts and log-normalised values cannot be negative. Give the uncorrected counts (e.g. layer='counts')."
        )
        raise ScaleError(msg)
    vmax = float(v.max())
    if np.all(v == np.round(v)):
        return CellScale("counts", None, None, f"all values are non-negative integers (maximum {vmax:.6g}): raw counts")
    for base, name in ((math.e, "ln"), (2.0, "log2")):
        if vmax > 60:
            break
        sums = _row_sums(sub, lambda x, b=base: np.power(b, x) - 1.0)
        ok = sums > 0
        if ok.sum() >= 2:
            cv = float(sums[ok].std() / sums[ok].mean())
            if cv < _CONSTANT_CV:
                target = float(np.median(sums[ok]))
                scale = "log_other" if name == "ln" else "log2"
                return CellScale(
                    scale,
                    base,
                    target,
                    f"{name}(x + 1) back-transforms to a constant total per cell ({target:.6g}, CV {100 * cv:.2f}%): "
                    f"log-normalised, {name}(counts per {target:.6g} + 1)",
                )
    if vmax <= _MAX_LOG:
        return CellScale(
            "log_other",
            math.e,
            None,
            f"uncertain: non-integer values up to {vmax:.4g} without a constant back-transformed total per cell "
            "(a gene subset, or another normalisation): read as ln(x + 1) log-normalised values (scanpy convention)",
        )
    return CellScale(
        "linear", None, None, f"non-integer values up to {vmax:.6g}: linear normalised values (not counts, not logs)"
    )


def _declared(scale: str) -> CellScale:
    from tmescope.io import parse_scale

    d = parse_scale(scale)
    if d.scale == "centered":
        msg = "scale='centered' cannot be used: tmescope.sc needs counts or log-normalised values, not scaled data."
        raise ScaleError(msg)
    if d.scale in ("log2", "log_other") and d.pseudocount not in (None, 1.0):
        msg = f"tmescope.sc reads log(x + 1) values only; received scale={scale!r}. Give log1p-normalised values."
        raise ScaleError(msg)
    base = d.log_base if d.scale in ("log2", "log_other") else None
    return CellScale(d.scale, base, None, f"declared scale={scale!r}")


def _matrix_of(adata: AnnData, where: str) -> tuple[Any, pd.Index]:
    if where == "X":
        return adata.X, adata.var_names
    if where == "raw":
        return adata.raw.X, adata.raw.var_names  # type: ignore[union-attr]
    return adata.layers[where], adata.var_names


def _label(where: str) -> str:
    return {"X": "adata.X", "raw": "adata.raw.X"}.get(where, f"adata.layers[{where!r}]")


def _choose(adata: AnnData, layer: str | None, scale: str) -> tuple[str, CellScale, list[str]]:
    """Pick the matrix to use: (location, its scale, notes)."""
    if layer is not None:
        if layer not in adata.layers and layer != "raw":
            msg = (
                f"Layer {layer!r} not in adata.layers (present: {list(adata.layers) or 'none'}); pass layer=None to "
                "let tmescope find raw counts or log-normalised values."
            )
            raise MissingKeyError(msg)
        if layer == "raw" and adata.raw is None:
            msg = "layer='raw' was given but adata.raw is empty; pass a layer name or layer=None."
            raise MissingKeyError(msg)
        found = _declared(scale) if scale != "auto" else detect_cell_scale(_matrix_of(adata, layer)[0])
        if found.scale == "centered":
            msg = f"{_label(layer)} holds centred/scaled values ({found.evidence}); give raw counts or log-normalised values."
            raise ScaleError(msg)
        return layer, found, []
    if adata.X is None:
        msg = "adata.X is empty; put counts or log-normalised values in X, or pass layer=."
        raise InputError(msg)
    x_scale = _declared(scale) if scale != "auto" else detect_cell_scale(adata.X)
    notes: list[str] = []
    if x_scale.scale == "counts":
        return "X", x_scale, notes
    # Prefer raw counts from a layer (pseudobulk needs them), then a usable adata.raw when X is scaled.
    for name in COUNT_LAYERS:
        if name in adata.layers:
            s = detect_cell_scale(adata.layers[name])
            if s.scale == "counts":
                notes.append(f"adata.X is {x_scale.scale} ({x_scale.evidence}); raw counts taken from {_label(name)}")
                return name, s, notes
    raw_scale = detect_cell_scale(adata.raw.X) if adata.raw is not None else None
    if raw_scale is not None and raw_scale.scale == "counts":
        notes.append(f"adata.X is {x_scale.scale} ({x_scale.evidence}); raw counts taken from adata.raw.X")
        return "raw", raw_scale, notes
    if x_scale.scale != "centered":
        return "X", x_scale, notes
    if adata.raw is not None:
        s = raw_scale if raw_scale is not None else detect_cell_scale(adata.raw.X)
        if s.scale != "centered":
            notes.append(f"adata.X holds centred/scaled values ({x_scale.evidence}); used adata.raw.X ({s.evidence})")
            return "raw", s, notes
    msg = (
        f"adata.X holds centred/scaled values ({x_scale.evidence}) and no raw counts were found (layers "
        f"{list(COUNT_LAYERS)} or adata.raw). Give the counts (layer='counts') or the log-normalised matrix."
    )
    raise ScaleError(msg)


def _prefix_barcodes(obs_names: pd.Index, samples: pd.Series) -> pd.Index:
    if obs_names.is_unique:
        return obs_names
    pairs = pd.MultiIndex.from_arrays([samples.astype(str).to_numpy(), obs_names.astype(str)])
    if not pairs.is_unique:
        dup = pairs[pairs.duplicated()].unique()
        items = [f"{s}/{b}" for s, b in dup[:5]]
        msg = (
            f"Cell names repeat within one sample ({format_items(items)}; sample/barcode). Make them unique first "
            "(adata.obs_names_make_unique()) or name the sample column with sample_key=."
        )
        raise InputError(msg)
    repeated = obs_names[obs_names.duplicated()].unique().tolist()
    new = pd.Index([f"{s}_{b}" for s, b in zip(samples.astype(str), obs_names.astype(str), strict=True)])
    autofix(
        "sc.prefix_barcodes",
        "Cell barcodes repeat across samples; every cell name was prefixed with its sample as '<sample>_<barcode>'",
        repeated,
    )
    return new


def prepare_cells(
    adata: AnnData,
    *,
    sample_key: str | None = None,
    layer: str | None = None,
    scale: str = "auto",
    harmonize: bool = True,
    source: str | None = None,
) -> AnnData:
    """Make the working AnnData of :mod:`tmescope.sc` from a scanpy user's AnnData (the input is not changed).

    The matrix is taken from ``layer`` when given; otherwise from ``X`` when it holds raw counts, else from a
    counts layer (``counts``, ``raw_counts``, ``umi_counts``, ``count``) or ``adata.raw`` holding counts, else
    from ``X`` when it is log-normalised, else from ``adata.raw`` when ``X`` is scaled. Its scale is detected by
    :func:`detect_cell_scale` (or declared) and reported. Raw counts are kept in ``layers["counts"]`` and
    normalised with scanpy (``normalize_total`` to 10,000 + ``log1p``); log-normalised values are used as they
    are; linear normalised values get ``log1p`` (reported). Gene identifiers are mapped to HGNC symbols with
    :func:`tmescope.genes.harmonize_var` (counts are summed, log values keep the highest-mean column). Barcodes that
    repeat across samples are prefixed with the sample, with a warning.

    Parameters
    ----------
    adata
        Cells × genes.
    sample_key
        ``obs`` column naming the sample of each cell; ``None`` puts every cell in one sample named ``"sample"``
        (column ``obs["sample"]``).
    layer
        Layer to read (``"raw"`` for ``adata.raw``); ``None`` chooses as described above.
    scale
        ``"auto"`` or a declared scale of the chosen matrix: ``"counts"``, ``"ln(x+1)"`` (scanpy's log1p),
        ``"log2(x+1)"`` or ``"linear"``.
    harmonize
        Map gene identifiers to approved HGNC symbols.
    source
        Name of the input file, for messages and provenance.

    Returns
    -------
    anndata.AnnData
        A new AnnData: ``X`` log-normalised (CSR float32), ``layers["counts"]`` (when counts were found),
        ``obs`` copied (with the sample column), ``uns["tmescope_input"]`` (``file``, ``matrix``, ``scale``,
        ``log_base``, ``pseudocount``, ``target_sum``, ``scale_evidence``, ``scale_source``,
        ``normalization``, ``counts_available``, ``sample_key``, ``notes``, ``gene_mapping``).

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> a = ad.AnnData(rng.poisson(2.0, size=(6, 3)).astype(np.float32), var=pd.DataFrame(index=["CD3E", "LYZ", "MS4A1"]))
    >>> w = prepare_cells(a)
    >>> w.uns["tmescope_input"]["scale"], "counts" in w.layers, w.obs["sample"].unique().tolist()
    ('counts', True, ['sample'])
    """
    from anndata import AnnData

    if not isinstance(adata, AnnData):
        msg = f"`adata` must be an AnnData (cells × genes); received {type(adata).__name__}."
        raise InputTypeError(msg)
    if adata.n_obs == 0 or adata.n_vars == 0:
        msg = f"`adata` is empty ({adata.n_obs} cells × {adata.n_vars} genes); nothing to analyse."
        raise InputError(msg)
    if sample_key is not None and sample_key not in adata.obs:
        msg = (
            f"Sample column {sample_key!r} not in adata.obs (columns: {', '.join(map(str, adata.obs.columns[:12]))}). "
            "Pass the obs column that names each cell's sample (CLI --sample-key), or none for a single sample."
        )
        raise MissingKeyError(msg)
    where, found, notes = _choose(adata, layer, scale)
    M, var_names = _matrix_of(adata, where)
    M = sparse.csr_matrix(M, dtype=np.float32) if sparse.issparse(M) else np.asarray(M, dtype=np.float32)

    obs = adata.obs.copy()
    key = sample_key or DEFAULT_SAMPLE_KEY
    if sample_key is None:
        obs[key] = pd.Categorical([DEFAULT_SAMPLE_KEY] * adata.n_obs)
    elif obs[key].isna().any():
        bad = obs.index[obs[key].isna()].tolist()
        msg = f"Sample column {key!r} is empty for {format_items(bad)}; every cell needs a sample."
        raise InputError(msg)
    obs.index = _prefix_barcodes(pd.Index(obs.index.astype(str)), obs[key])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicated gene names are aggregated just below
        work = AnnData(X=sparse.csr_matrix(M), obs=obs, var=pd.DataFrame(index=pd.Index(var_names.astype(str))))
    info: dict[str, Any] = {
        "file": source or "",
        "source": source or "",
        "matrix": _label(where),
        "scale": found.scale,
        "log_base": found.log_base,
        "pseudocount": 1.0 if found.log_base is not None else None,
        "target_sum": found.target_sum,
        "scale_evidence": found.evidence,
        "scale_source": "declared"
        if scale != "auto"
        else ("uncertain" if found.evidence.startswith("uncertain") else "detected"),
        "counts_available": found.scale == "counts",
        "sample_key": key,
        "notes": notes,
    }
    work.uns[_keys.UNS_INPUT] = info
    for note in notes:
        autofix("sc.input_matrix", note, [])
    if harmonize:
        from tmescope.genes import harmonize_var

        harmonize_var(work, duplicates="sum" if found.scale == "counts" else "max_mean")
    _normalise(work, found)
    return work


def _normalise(work: AnnData, found: CellScale) -> None:
    import scanpy as sc

    info = work.uns[_keys.UNS_INPUT]
    X = sparse.csr_matrix(work.X, dtype=np.float32)
    if found.scale == "counts":
        work.layers[_keys.LAYER_COUNTS] = X.copy()
        totals = np.asarray(X.sum(axis=1)).ravel()
        empty = work.obs_names[totals <= 0].tolist()
        if empty:
            msg = (
                f"{format_items(empty)} have no counts on the genes kept; remove empty cells first "
                "(scanpy.pp.filter_cells(adata, min_counts=1))."
            )
            raise InputError(msg)
        work.X = X
        sc.pp.normalize_total(work, target_sum=TARGET_SUM)
        sc.pp.log1p(work)
        work.uns.pop("log1p", None)  # scanpy's note of the base; the base is recorded in uns["tmescope_input"]
        info["normalization"] = f"scanpy normalize_total(target_sum={TARGET_SUM:g}) + log1p (natural log)"
    elif found.scale == "linear":
        X.data = np.log1p(X.data)
        work.X = X
        info["normalization"] = "log1p of the given linear normalised values"
        autofix("sc.log1p", "tmescope.sc: the values are linear normalised values; applied log1p (natural log)", [])
    else:
        if found.log_base is not None and found.log_base != math.e:
            # ln(1 + y) = ln(b) * log_b(1 + y) only for the +1 pseudocount: convert exactly through y.
            X.data = np.log1p(np.power(found.log_base, X.data.astype(np.float64)) - 1.0).astype(np.float32)
            info["normalization"] = f"given log{found.log_base:g}(x + 1) values converted to ln(x + 1)"
        else:
            info["normalization"] = "given log-normalised values used as they are"
        work.X = X
    work.X = sparse.csr_matrix(work.X, dtype=np.float32)


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _stored_bytes(node: Any) -> int:
    """Bytes a dense dataset or a sparse group (data, indices, indptr) takes in memory once loaded."""
    import h5py

    if isinstance(node, h5py.Dataset):
        return int(np.prod(node.shape, dtype=np.int64)) * int(node.dtype.itemsize)
    if isinstance(node, h5py.Group):
        return sum(_stored_bytes(node[k]) for k in ("data", "indices", "indptr") if k in node)
    return 0


def check_h5ad(path: Path, *, max_bytes: int | None = None) -> int:
    """Check that ``path`` is a complete HDF5 file whose matrices fit the memory budget; return their size.

    Counts ``X``, ``raw/X`` and every layer. Refuses an empty file, a file that is not HDF5 (a TSV renamed
    ``.h5ad``, a pickle), an HDF5 file cut short, and matrices above ``max_bytes`` (default: half the memory,
    at most 16 GiB), before anything is loaded.
    """
    import h5py

    from tmescope.io._sniff import human_bytes, memory_budget

    size = path.stat().st_size
    if size == 0:
        msg = f"File '{path}' is empty (0 bytes); it was probably not written completely. Write it again."
        raise InputError(msg)
    with path.open("rb") as fh:
        head = fh.read(8)
    if head != _HDF5_MAGIC:
        msg = (
            f"File '{path}' is not an HDF5/h5ad file (it starts with {head!r}). tmescope sc reads .h5ad files "
            "written by AnnData.write_h5ad; convert other formats with anndata or scanpy first."
        )
        raise InputError(msg)
    try:
        with h5py.File(path, "r") as f:
            need = _stored_bytes(f.get("X"))
            if "raw" in f and "X" in f["raw"]:
                need += _stored_bytes(f["raw"]["X"])
            if "layers" in f:
                need += sum(_stored_bytes(f["layers"][k]) for k in f["layers"])
    except (OSError, KeyError, ValueError) as exc:
        msg = (
            f"File '{path}' is an incomplete or corrupt HDF5/h5ad file ({exc}); it was probably cut short while "
            "copying or writing. Copy it again or write it again with AnnData.write_h5ad."
        )
        raise InputError(msg) from None
    budget = int(max_bytes) if max_bytes is not None else memory_budget()
    if need > budget:
        msg = (
            f"File '{path}' holds matrices of {human_bytes(need)} in memory (X, raw and layers), above the budget "
            f"of {human_bytes(budget)}. Subset it first (cells or genes), or raise the budget with max_bytes=."
        )
        raise InputError(msg)
    return need


def read_cells(
    path: str | os.PathLike[str],
    *,
    sample_key: str | None = None,
    layer: str | None = None,
    scale: str = "auto",
    max_bytes: int | None = None,
) -> AnnData:
    """Read an ``.h5ad`` file and prepare it with :func:`prepare_cells`.

    Parameters
    ----------
    path
        The ``.h5ad`` file (cells × genes).
    sample_key, layer, scale
        As in :func:`prepare_cells`.
    max_bytes
        Memory budget for the stored matrices (checked before loading, see :func:`check_h5ad`).

    Returns
    -------
    anndata.AnnData
        The working AnnData of :func:`prepare_cells`; ``uns["tmescope_input"]`` also has ``sha256``.
    """
    import anndata as ad

    from tmescope._provenance import current, sha256_file

    if not isinstance(path, str | os.PathLike):
        msg = f"path must be a file path (str or pathlib.Path); received {type(path).__name__}."
        raise InputTypeError(msg)
    p = Path(path)
    if not p.is_file():
        msg = f"No file at '{p}'; give the path of an .h5ad file written by AnnData.write_h5ad."
        raise InputError(msg)
    check_h5ad(p, max_bytes=max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            raw = ad.read_h5ad(p)
    except Exception as exc:  # h5py/anndata raise many types for damaged files
        msg = (
            f"File '{p}' could not be read as h5ad ({type(exc).__name__}: {exc}). It may be incomplete or not an "
            "AnnData file; write it again with AnnData.write_h5ad."
        )
        raise InputError(msg) from None
    work = prepare_cells(raw, sample_key=sample_key, layer=layer, scale=scale, source=str(p))
    digest = sha256_file(p)
    work.uns[_keys.UNS_INPUT]["sha256"] = digest
    prov = current()
    if prov is not None:
        prov.inputs.append({"role": "cells", "path": str(p), "bytes": p.stat().st_size, "sha256": digest})
    return work
