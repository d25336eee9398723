"""Atomic writers: outputs appear at their final path only once complete."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tmescope._errors import InputError, InputTypeError
from tmescope._provenance import atomic_path

if TYPE_CHECKING:
    import os

    from anndata import AnnData


def _h5_safe(value: Any) -> Any:
    """A copy of an ``uns`` value that h5py can store: lists of records become ``{"0000": …}`` mappings."""
    if isinstance(value, dict):
        return {str(k): _h5_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = list(value)
        if any(isinstance(v, dict | list | tuple) for v in items):
            return {f"{i:04d}": _h5_safe(v) for i, v in enumerate(items)}
        if items and all(isinstance(v, bool | int | float | np.number) and not isinstance(v, bool) for v in items):
            return np.asarray(items)
        if items and all(isinstance(v, bool) for v in items):
            return np.asarray(items, dtype=bool)
        return np.asarray(["" if v is None else str(v) for v in items], dtype=object)
    return value


def write_h5ad(adata: AnnData, path: str | os.PathLike[str], *, compression: str | None = "gzip") -> Path:
    """Write AnnData to ``path`` atomically (a temporary file beside it, renamed when complete).

    An interrupted write leaves no file at ``path``; an existing file there is replaced only by a complete one.
    Lists of records in ``uns`` (such as ``uns["tmescope_input"]["fixes"]``) are stored as mappings keyed
    ``"0000"``, ``"0001"``, … because HDF5 cannot hold a list of dictionaries; the object in memory is unchanged.

    Parameters
    ----------
    adata
        The object to write.
    path
        Destination ``.h5ad`` file.
    compression
        HDF5 compression of the matrices (``"gzip"``, ``"lzf"`` or ``None``).

    Returns
    -------
    pathlib.Path
        The final path.

    Examples
    --------
    >>> import anndata as ad, numpy as np, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.h5ad"
    >>> write_h5ad(ad.AnnData(np.ones((2, 3), dtype=np.float32)), out).name
    'x.h5ad'
    """
    from anndata import AnnData

    if not isinstance(adata, AnnData):
        msg = f"write_h5ad expects an AnnData object; received {type(adata).__name__}."
        raise InputTypeError(msg)
    final = Path(path)
    if final.exists() and final.is_dir():
        msg = f"'{final}' is a folder; give a file path ending in .h5ad."
        raise InputError(msg)
    with atomic_path(final) as tmp, warnings.catch_warnings():
        # anndata warns when the temporary name does not end in .h5ad; the final name does.
        warnings.filterwarnings("ignore", message=".*extension.*", category=UserWarning)
        original = adata.uns
        adata.uns = _h5_safe(dict(original))
        try:
            adata.write_h5ad(tmp, compression=compression)
        finally:
            adata.uns = original
    return final
