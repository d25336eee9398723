"""AnnData zarr stores (a folder written by ``AnnData.write_zarr``): detection, completeness checks, reading.

A zarr store is a folder, not a file, so it is told apart by its metadata files (``.zgroup``/``.zattrs`` for zarr
format 2, ``zarr.json`` for format 3) and the AnnData encoding attribute ``encoding-type: anndata`` of its root.

zarr reads a chunk missing from the folder as the array's fill value (zeros for AnnData), so a store cut short
while copying would silently read as zeros. The chunk files of ``X`` that a read needs are therefore checked to
exist first; since zarr leaves out chunks whose values all equal the fill value by default, a store with a block
of ``X`` that is really all zeros must be written with empty chunks kept (see :func:`check_x_chunks`).
"""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tmescope._errors import InputError
from tmescope._logging import format_items
from tmescope.io._sniff import Sniffed

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from anndata import AnnData

#: Metadata files that make a folder a zarr node (format 2 group/attributes, format 3).
ZARR_MARKERS = (".zgroup", ".zattrs", "zarr.json")
_SPARSE = ("csr_matrix", "csc_matrix")
_WRITE_HINT = "write one from an AnnData with adata.write_zarr('cohort.zarr')"
_EMPTY_CHUNKS_HINT = (
    "zarr leaves out a chunk only when all its values equal the fill value; if that block of X is really all "
    "zeros, write the store with empty chunks kept: `with zarr.config.set({'array.write_empty_chunks': True}): "
    "adata.write_zarr('cohort.zarr')`"
)


def _load_json(path: Path, store: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = (
            f"Zarr store '{store}': metadata file '{path.relative_to(store).as_posix()}' is not readable JSON "
            f"({exc}); the store is corrupt or was cut short while copying. Copy it again, or {_WRITE_HINT}."
        )
        raise InputError(msg) from None
    return data if isinstance(data, dict) else {}


def _node(store: Path, rel: str = "") -> tuple[str | None, dict[str, Any]]:
    """Kind (``"group"``, ``"array"`` or ``None``) and attributes of the zarr node at ``store/rel``."""
    folder = store / rel if rel else store
    v3 = _load_json(folder / "zarr.json", store)
    if v3 is not None:
        attrs = v3.get("attributes", {})
        return str(v3.get("node_type")), attrs if isinstance(attrs, dict) else {}
    attrs = _load_json(folder / ".zattrs", store) or {}
    if (folder / ".zgroup").is_file():
        return "group", attrs
    if (folder / ".zarray").is_file():
        return "array", attrs
    return None, attrs


def is_zarr_store(path: Path) -> bool:
    """Whether ``path`` is a folder holding zarr metadata at its top level (any zarr store, AnnData or not)."""
    return path.is_dir() and any((path / m).is_file() for m in ZARR_MARKERS)


def sniff_store(path: Path) -> Sniffed:
    """Classify a folder: an AnnData zarr store gives ``Sniffed("zarr", None)``; anything else is refused.

    Examples
    --------
    >>> import tempfile, pathlib, warnings, anndata, numpy as np
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "cohort.zarr"
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # anndata's notices of coming zarr defaults
    ...     anndata.AnnData(np.ones((2, 3), dtype=np.float32)).write_zarr(store)
    >>> sniff_store(store).format
    'zarr'
    """
    kind, attrs = _node(path)
    if kind is None and not is_zarr_store(path):
        entries = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
        found = f"it holds {format_items(entries)}" if entries else "it is empty"
        named = " (it is named .zarr)" if path.name.lower().endswith(".zarr") else ""
        msg = (
            f"'{path}' is a folder, not a file, and not an AnnData zarr store{named} ({found}; no .zgroup, .zattrs "
            "or zarr.json). Give the path of the expression table inside it, or an AnnData zarr store: "
            f"{_WRITE_HINT}."
        )
        raise InputError(msg)
    encoding = attrs.get("encoding-type")
    if kind is None and encoding == "anndata":
        msg = (
            f"Zarr store '{path}' is incomplete: it has AnnData attributes (.zattrs) but no group metadata "
            f"(.zgroup or zarr.json); it was probably cut short while copying. Copy it again, or {_WRITE_HINT}."
        )
        raise InputError(msg)
    if kind != "group" or encoding != "anndata":
        what = f"a zarr {kind or 'node'}" + (
            f" with encoding-type {encoding!r}" if encoding else " without AnnData encoding"
        )
        msg = (
            f"'{path}' is {what}, not an AnnData zarr store (expected a group with encoding-type 'anndata'). "
            f"tmescope reads AnnData zarr stores; {_WRITE_HINT}."
        )
        raise InputError(msg)
    return Sniffed("zarr", None)


@dataclass(frozen=True)
class _ArrayMeta:
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    itemsize: int
    key: Callable[[tuple[int, ...]], str]


def _array_meta(store: Path, rel: str) -> _ArrayMeta:
    """Shape, chunk (or shard) shape, item size and chunk-key layout of the zarr array at ``store/rel``."""
    folder = store / rel
    v3 = _load_json(folder / "zarr.json", store)
    v2 = None if v3 is not None else _load_json(folder / ".zarray", store)
    try:
        if v3 is not None and v3.get("node_type") == "array":
            shape = tuple(int(s) for s in v3["shape"])
            chunks = tuple(int(c) for c in v3["chunk_grid"]["configuration"]["chunk_shape"])
            try:
                itemsize = int(np.dtype(str(v3["data_type"])).itemsize)
            except TypeError:
                itemsize = 8
            encoding = v3.get("chunk_key_encoding", {"name": "default"})
            config = encoding.get("configuration", {})
            if encoding.get("name") == "v2":
                sep = str(config.get("separator", "."))
                return _ArrayMeta(shape, chunks, itemsize, lambda idx: sep.join(map(str, idx)) if idx else "0")
            sep = str(config.get("separator", "/"))
            return _ArrayMeta(shape, chunks, itemsize, lambda idx: sep.join(["c", *map(str, idx)]))
        if v2 is not None:
            shape = tuple(int(s) for s in v2["shape"])
            chunks = tuple(int(c) for c in v2["chunks"])
            try:
                itemsize = int(np.dtype(v2["dtype"]).itemsize)
            except TypeError:
                itemsize = 8
            sep = str(v2.get("dimension_separator") or ".")
            return _ArrayMeta(shape, chunks, itemsize, lambda idx: sep.join(map(str, idx)) if idx else "0")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        msg = (
            f"Zarr store '{store}': the metadata of array '{rel}' is malformed ({type(exc).__name__}: {exc}). "
            f"Write the store again: {_WRITE_HINT}."
        )
        raise InputError(msg) from None
    msg = (
        f"Zarr store '{store}' is incomplete: array '{rel}' has no metadata (.zarray or zarr.json); the store was "
        f"probably cut short while copying or writing. Copy it again, or {_WRITE_HINT}."
    )
    raise InputError(msg)


def _missing_chunks(store: Path, rel: str, rows: tuple[int, int] | None = None) -> list[str]:
    """Chunk files of array ``rel`` (restricted to ``rows`` lo:hi along the first axis) absent from the store."""
    meta = _array_meta(store, rel)
    if any(s == 0 for s in meta.shape):
        return []
    grid = [range(-(-s // c)) for s, c in zip(meta.shape, meta.chunks, strict=True)]
    if rows is not None and grid:
        lo, hi = rows
        if hi <= lo:
            return []
        grid[0] = range(lo // meta.chunks[0], (min(hi, meta.shape[0]) - 1) // meta.chunks[0] + 1)
    folder = store / rel
    return [f"{rel}/{meta.key(idx)}" for idx in itertools.product(*grid) if not (folder / meta.key(idx)).is_file()]


def _x_kind(store: Path) -> str:
    """``"dense"``, ``"csr_matrix"`` or ``"csc_matrix"``; refuses a store without a usable X."""
    kind, attrs = _node(store, "X")
    if kind is None:
        msg = (
            f"Zarr store '{store}' has no expression matrix in X (no X array). Store samples × genes values in X "
            f"and {_WRITE_HINT}."
        )
        raise InputError(msg)
    if kind == "array":
        return "dense"
    encoding = attrs.get("encoding-type")
    if encoding not in _SPARSE:
        msg = (
            f"Zarr store '{store}': X is a zarr group with encoding-type {encoding!r}; expected a dense array or a "
            f"CSR/CSC sparse matrix. Write the store again: {_WRITE_HINT}."
        )
        raise InputError(msg)
    return str(encoding)


def check_x_chunks(store: Path, *, rows: tuple[int, int] | None = None) -> None:
    """Refuse a store whose ``X`` lacks chunk files that a read of ``rows`` (default: all) would need.

    Only file existence is checked (no values are read), except the ``indptr`` entries of ``rows`` for a CSR
    matrix, which say which stretch of ``data``/``indices`` those rows use.
    """
    kind = _x_kind(store)
    missing: list[str] = []
    if kind == "dense":
        missing = _missing_chunks(store, "X", rows)
    elif kind == "csc_matrix" or rows is None:
        for part in ("indptr", "indices", "data"):
            missing += _missing_chunks(store, f"X/{part}")
    else:
        lo, hi = rows
        missing = _missing_chunks(store, "X/indptr", (lo, hi + 1))
        if not missing:
            import zarr

            indptr = zarr.open_array(store / "X" / "indptr", mode="r")
            ends = np.asarray(indptr[lo : hi + 1])
            span = (int(ends[0]), int(ends[-1]))
            missing = _missing_chunks(store, "X/indices", span) + _missing_chunks(store, "X/data", span)
    if missing:
        msg = (
            f"Zarr store '{store}' is incomplete: {len(missing)} chunk file(s) of X are missing "
            f"({format_items(missing)}); zarr would read them as zeros. The store was probably cut short while "
            f"copying or writing: copy it again, or {_WRITE_HINT}. ({_EMPTY_CHUNKS_HINT}.)"
        )
        raise InputError(msg)


def zarr_shape(store: Path) -> tuple[tuple[int, ...], int]:
    """Declared shape of ``X`` and the item size of its values, read from metadata only."""
    kind = _x_kind(store)
    if kind == "dense":
        meta = _array_meta(store, "X")
        return meta.shape, meta.itemsize
    _, attrs = _node(store, "X")
    data = _array_meta(store, "X/data")
    shape = attrs.get("shape")
    if not isinstance(shape, list | tuple):
        return data.shape, data.itemsize
    # Sparse input is densified for bulk analyses; budget the dense size.
    return tuple(int(s) for s in shape), data.itemsize


def _damaged(store: Path, exc: BaseException) -> InputError:
    msg = (
        f"Zarr store '{store}' could not be read as AnnData ({type(exc).__name__}: {exc}). A chunk or metadata "
        f"file may be damaged or written by an incompatible tool. Copy it again, or {_WRITE_HINT}."
    )
    return InputError(msg)


def read_zarr_store(store: Path) -> AnnData:
    """The whole AnnData of a store, after checking that every chunk of ``X`` is present."""
    import anndata as ad

    check_x_chunks(store)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return ad.read_zarr(store)
    except Exception as exc:  # zarr, numcodecs and anndata raise many types for damaged stores
        raise _damaged(store, exc) from None


def _io() -> tuple[Any, Any]:
    try:
        from anndata.io import read_elem, sparse_dataset
    except ImportError:  # anndata < 0.11
        from anndata.experimental import read_elem, sparse_dataset  # type: ignore[no-redef,attr-defined]
    return read_elem, sparse_dataset


def zarr_obs_names(store: Path) -> tuple[str, ...]:
    """Sample names (``obs_names``) of a store, read without touching ``X``."""
    import zarr

    read_elem, _ = _io()
    _x_kind(store)
    try:
        obs: Any = zarr.open_group(store, mode="r")["obs"]
        index = obs[str(obs.attrs.get("_index", "_index"))]
        return tuple(str(s) for s in read_elem(index))
    except Exception as exc:  # zarr, numcodecs and anndata raise many types for damaged stores
        raise _damaged(store, exc) from None


def read_zarr_rows(store: Path, lo: int, hi: int) -> AnnData:
    """Samples ``lo:hi`` of a store: only those rows of ``X`` and ``obs`` are read, ``var`` whole."""
    import zarr
    from anndata import AnnData

    read_elem, sparse_dataset = _io()
    check_x_chunks(store, rows=(lo, hi))
    try:
        group = zarr.open_group(store, mode="r")
        x = group["X"]
        values = x[lo:hi] if isinstance(x, zarr.Array) else sparse_dataset(x)[lo:hi]
        obs = read_elem(group["obs"]).iloc[lo:hi]
        var = read_elem(group["var"])
    except Exception as exc:  # zarr, numcodecs and anndata raise many types for damaged stores
        raise _damaged(store, exc) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return AnnData(values, obs=obs, var=var)


def store_signature(store: Path) -> dict[str, int]:
    """Number, total size and newest modification time of a store's files: changes whenever a file does."""
    files = [q.stat() for q in store.rglob("*") if q.is_file()]
    return {
        "n_files": len(files),
        "size": sum(s.st_size for s in files),
        "mtime_ns": max((s.st_mtime_ns for s in files), default=store.stat().st_mtime_ns),
    }
