"""Atomic h5ad output of the single-cell module."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmescope._provenance import atomic_path

if TYPE_CHECKING:
    import os

    from anndata import AnnData


def h5_safe(value: Any) -> Any:
    """A copy of an ``uns`` value that HDF5 can store (None -> "", lists of records -> keyed mappings).

    Examples
    --------
    >>> h5_safe({"a": None, "b": [{"x": 1}], "c": ["p", None]})
    {'a': '', 'b': {'0000': {'x': 1}}, 'c': array(['p', ''], dtype=object)}
    """
    if value is None:
        return ""
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, dict):
        return {str(k): h5_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = list(value)
        if any(isinstance(v, dict | list | tuple) for v in items):
            return {f"{i:04d}": h5_safe(v) for i, v in enumerate(items)}
        if items and all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in items):
            return np.asarray(items)
        return np.asarray(["" if v is None else str(v) for v in items], dtype=object)
    return value


def write_cells(adata: AnnData, path: str | os.PathLike[str]) -> Path:
    """Write an AnnData to ``path`` atomically (gzip-compressed); the object in memory is not changed.

    Returns
    -------
    pathlib.Path
        The final path.
    """
    final = Path(path)
    original = adata.uns
    with atomic_path(final) as tmp, warnings.catch_warnings():
        # anndata warns that the temporary name does not end in .h5ad; the final name does.
        warnings.filterwarnings("ignore", message=".*extension.*", category=UserWarning)
        adata.uns = h5_safe(dict(original))
        try:
            adata.write_h5ad(tmp, compression="gzip")
        finally:
            adata.uns = original
    final.chmod(0o644)  # an output for the user, not a private temporary file
    return final
