"""Shared helpers of the bulk module: matrix extraction, scale checks and packaged data files."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmescope._errors import InputError, InputTypeError, MissingKeyError, ScaleError

if TYPE_CHECKING:
    from pathlib import Path

    import anndata as ad


def data_path(name: str) -> Path:
    """Path of a file shipped in ``tmescope/data/references``."""
    return resources.files("tmescope") / "data" / "references" / name  # type: ignore[return-value]


@cache
def read_table(name: str) -> pd.DataFrame:
    """A shipped tab-separated table with its first column as index (cached, do not modify)."""
    return pd.read_csv(data_path(name), sep="\t", index_col=0)


def check_adata(adata: Any, *, func: str) -> None:
    """Raise InputTypeError unless ``adata`` is an AnnData with samples and unique gene names."""
    import anndata as ad

    if not isinstance(adata, ad.AnnData):
        msg = f"`{func}` expects an AnnData (samples x genes); received {type(adata).__name__}. Read the matrix with `tmescope.io.read_expression` first."
        raise InputTypeError(msg)
    if adata.n_obs == 0 or adata.n_vars == 0:
        msg = f"`{func}` received an empty AnnData ({adata.n_obs} samples x {adata.n_vars} genes); it needs at least one sample and one gene."
        raise InputError(msg)
    if not adata.var_names.is_unique:
        dupes = adata.var_names[adata.var_names.duplicated()].unique().tolist()[:5]
        msg = f"`{func}`: gene names in `adata.var_names` are not unique (e.g. {dupes}); aggregate duplicates first (`tmescope.io.read_expression` does)."
        raise InputError(msg)
    if not adata.obs_names.is_unique:
        dupes = adata.obs_names[adata.obs_names.duplicated()].unique().tolist()[:5]
        msg = f"`{func}`: sample names in `adata.obs_names` are not unique (e.g. {dupes}); rename them first."
        raise InputError(msg)


def get_matrix(adata: ad.AnnData, layer: str | None, *, func: str) -> np.ndarray:
    """Dense float64 samples x genes matrix from ``adata.X`` or a layer, refusing non-finite values."""
    if layer is None:
        X = adata.X
    else:
        if layer not in adata.layers:
            msg = f"`{func}`: layer {layer!r} not in `adata.layers` (available: {list(adata.layers)}); pass layer=None to use `adata.X`."
            raise MissingKeyError(msg)
        X = adata.layers[layer]
    if X is None:
        msg = f"`{func}`: `adata.X` is empty; pass `layer=` naming the expression layer."
        raise MissingKeyError(msg)
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    X = np.asarray(X, dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        rows, cols = np.nonzero(bad)
        where = [f"{adata.obs_names[r]}/{adata.var_names[c]}" for r, c in zip(rows[:5], cols[:5], strict=True)]
        msg = f"`{func}`: {int(bad.sum())} non-finite value(s) (NaN/inf) in the expression matrix, e.g. {where}; remove or impute them first."
        raise InputError(msg)
    return X


def _looks_centered(X: np.ndarray) -> bool:
    if X.min() >= 0:
        return False
    gene_means = X.mean(axis=0)
    share_neg = float((X < 0).mean())
    return share_neg > 0.2 and float(np.median(np.abs(gene_means))) < 0.5 * float(np.median(np.abs(X)))


def refuse_centered(X: np.ndarray, *, func: str) -> None:
    """Raise ScaleError for centred (z-scored, batch-corrected) data; rank methods need within-sample order."""
    if _looks_centered(X):
        msg = (
            f"`{func}`: the data look centred (z-scores or mean-centred genes: {float((X < 0).mean()):.0%} of values "
            "are negative and gene means are near 0). Centring changes within-sample gene order; give "
            "non-centred expression (TPM, counts, or log2 of them)."
        )
        raise ScaleError(msg)


def on_scale(adata: ad.AnnData, layer: str | None, *, target: str, func: str) -> np.ndarray:
    """Samples x genes on ``target`` ("linear" or "log2p1") via :func:`tmescope.io.as_scale`.

    The input scale comes from ``uns['tmescope_input']`` (set by :func:`tmescope.io.read_expression`) or is
    detected; centred data, undeclared ambiguous logs and negative values raise ScaleError there, and every
    conversion is reported as an automatic fix. Genes without a value after conversion (NaN) are kept as NaN.
    """
    from tmescope.io import as_scale

    get_matrix(adata, layer, func=func)  # type, layer and finiteness checks with our messages
    return np.asarray(as_scale(adata, target, layer=layer, method=f"`{func}`"), dtype=np.float64)
