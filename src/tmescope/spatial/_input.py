"""Spatial input: an AnnData with ``obsm["spatial"]`` or a cell table, coordinates in micrometres."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anndata as ad
import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import InputError, MissingKeyError
from tmescope._execution import map_chunks
from tmescope._logging import warn

if TYPE_CHECKING:
    from collections.abc import Callable

R = TypeVar("R")

_UM = ("um", "µm", "μm", "micron", "microns", "micrometer", "micrometre")
_PX = ("px", "pixel", "pixels")
_TYPE_CANDIDATES = ("cell_type", "celltype", "cell_types", "phenotype", "CellType", "cell type", "type", "label")
_SLIDE_CANDIDATES = ("slide", "sample", "image", "imageid", "ImageId", "library_id", "fov_slide", "section")
_X_CANDIDATES = ("x", "x_um", "x_px", "X", "x_centroid", "X_centroid", "X_position", "CenterX_global_px", "center_x")
_Y_CANDIDATES = ("y", "y_um", "y_px", "Y", "y_centroid", "Y_centroid", "Y_position", "CenterY_global_px", "center_y")


def _pick(columns: pd.Index, wanted: str | None, candidates: tuple[str, ...], what: str, source: str) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            msg = f"{what} column {wanted!r} not found in {source}; available columns: {list(columns)[:30]}."
            raise MissingKeyError(msg)
        return wanted
    for c in candidates:
        if c in columns:
            return c
    return None


def _scale_factor(unit: str | None, pixel_size: float | None, source: str) -> tuple[float, str]:
    """Micrometres per coordinate unit, refusing a missing or contradictory statement."""
    if pixel_size is not None:
        if not np.isfinite(pixel_size) or pixel_size <= 0:
            msg = f"pixel_size must be a positive number of micrometres per pixel; received {pixel_size!r}."
            raise InputError(msg)
        if unit is not None and unit.lower() not in _PX:
            msg = f"pixel_size={pixel_size} was given with unit={unit!r}; a pixel size only applies to unit='px'."
            raise InputError(msg)
        return float(pixel_size), f"px ({pixel_size} µm/px)"
    if unit is None:
        msg = (
            f"The unit of the coordinates in {source} is not stated. Pass unit='um' for micrometres, or "
            "unit='px' with pixel_size=<µm per pixel> (CLI: --unit um, or --unit px --pixel-size 0.18); "
            "densities in cells/mm² and distances in µm cannot be computed otherwise."
        )
        raise InputError(msg)
    u = unit.lower()
    if u in _UM:
        return 1.0, "um"
    if u in _PX:
        msg = f"unit='px' needs pixel_size (micrometres per pixel) for {source}; e.g. pixel_size=0.18 for CosMx."
        raise InputError(msg)
    msg = f"Unknown coordinate unit {unit!r} for {source}; expected 'um' or 'px' (with pixel_size)."
    raise InputError(msg)


def _check_spacing(xy: np.ndarray, source: str, unit_text: str) -> None:
    """Warn when the typical distance between neighbouring cells is implausible for the stated unit."""
    if xy.shape[0] < 100:
        return
    from scipy.spatial import cKDTree

    step = max(1, xy.shape[0] // 20_000)
    sample = xy[::step]
    d, _ = cKDTree(xy).query(sample, k=2)
    nn = float(np.median(d[:, 1]))
    if nn < 0.5 or nn > 500:
        warn(
            f"The median distance between neighbouring cells in {source} is {nn:.3g} µm with coordinates read as "
            f"{unit_text}; cells are usually 5-30 µm apart (Visium spots 100 µm). Check --unit/--pixel-size: "
            "densities and distances depend on them."
        )


def _read_h5ad(path: Path) -> ad.AnnData:
    # files from older anndata versions read correctly; their format notice is not the user's concern
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*without encoding metadata.*")
        return ad.read_h5ad(path)


def _read_table(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return pd.read_parquet(path)
    sep = "\t" if any(name.endswith(s) for s in (".tsv", ".tsv.gz", ".txt", ".txt.gz")) else ","
    return pd.read_csv(path, sep=sep)


def read_spatial(
    data: ad.AnnData | pd.DataFrame | str | os.PathLike[str],
    *,
    cell_type_key: str | None = None,
    slide_key: str | None = None,
    x_key: str | None = None,
    y_key: str | None = None,
    spatial_key: str = "spatial",
    unit: str | None = None,
    pixel_size: float | None = None,
    marker_keys: list[str] | None = None,
) -> ad.AnnData:
    """Read spatial cells (or spots) into an AnnData with micrometre coordinates.

    Parameters
    ----------
    data
        AnnData (or ``.h5ad`` path) with ``obsm[spatial_key]``, or a cell table (DataFrame, CSV/TSV/parquet path)
        with x, y and cell-type columns.
    cell_type_key
        Column with the cell type; detected among common names (``cell_type``, ``phenotype``, ...) when omitted.
    slide_key
        Column naming the slide/sample of each cell; every analysis runs per slide. Detected when omitted; one
        slide when absent (named after the input file, or ``"slide"``).
    x_key, y_key
        Coordinate columns of a cell table (or of ``obs`` when the AnnData has no ``obsm[spatial_key]``).
    spatial_key
        ``obsm`` key of the coordinates in an AnnData.
    unit
        ``"um"`` (micrometres) or ``"px"`` (pixels, with ``pixel_size``). Required unless the AnnData records it in
        ``uns["tmescope_spatial_input"]["unit"]`` from an earlier run.
    pixel_size
        Micrometres per pixel when ``unit="px"``.
    marker_keys
        Optional numeric columns of a cell table kept as the expression matrix.

    Returns
    -------
    AnnData with ``obsm["spatial"]`` in µm, ``obs["cell_type"]`` and ``obs["slide"]`` (categoricals) and
    ``uns["tmescope_spatial_input"]`` (source columns, unit, scale factor, slides).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"x": [0.0, 10, 20], "y": [0.0, 0, 5], "cell_type": ["T", "B", "T"]})
    >>> a = read_spatial(t, unit="um")
    >>> a.obsm["spatial"].shape, list(a.obs["slide"].unique())
    ((3, 2), ['slide'])
    """
    source = "the input"
    xcol: str | None
    ycol: str | None
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        source = str(path)
        if not path.exists():
            msg = f"Spatial input {path} does not exist."
            raise InputError(msg)
        data = _read_h5ad(path) if path.name.lower().endswith(".h5ad") else _read_table(path)
    if isinstance(data, ad.AnnData):
        adata = data.copy()
        obs = adata.obs
        prev = adata.uns.get(_keys.UNS_SPATIAL_INPUT, {})
        if unit is None and pixel_size is None and prev.get("unit") == "um":
            unit = "um"
        if spatial_key in adata.obsm:
            coords = np.asarray(adata.obsm[spatial_key], dtype=float)
            if coords.ndim != 2 or coords.shape[1] < 2:
                msg = (
                    f"obsm[{spatial_key!r}] has shape {coords.shape}; expected one row per cell and at least two "
                    "columns (x, y). Store the coordinates as an (n_cells, 2) array."
                )
                raise InputError(msg)
            coords = coords[:, :2]
            xcol, ycol = f"obsm[{spatial_key!r}][:, 0]", f"obsm[{spatial_key!r}][:, 1]"
        else:
            xcol = _pick(obs.columns, x_key, _X_CANDIDATES, "x", source)
            ycol = _pick(obs.columns, y_key, _Y_CANDIDATES, "y", source)
            if xcol is None or ycol is None:
                msg = (
                    f"No coordinates in {source}: obsm[{spatial_key!r}] is absent and no x/y columns were found in "
                    "obs; pass spatial_key=, or x_key= and y_key=."
                )
                raise MissingKeyError(msg)
            coords = obs[[xcol, ycol]].to_numpy(dtype=float)
    elif isinstance(data, pd.DataFrame):
        table = data.reset_index(drop=True)
        xcol = _pick(table.columns, x_key, _X_CANDIDATES, "x", source)
        ycol = _pick(table.columns, y_key, _Y_CANDIDATES, "y", source)
        if xcol is None or ycol is None:
            msg = f"No x/y columns found in {source}; columns are {list(table.columns)[:30]}. Pass x_key= and y_key=."
            raise MissingKeyError(msg)
        coords = table[[xcol, ycol]].to_numpy(dtype=float)
        markers = list(marker_keys or [])
        missing = [m for m in markers if m not in table.columns]
        if missing:
            msg = f"Marker column(s) {missing} not found in {source}."
            raise MissingKeyError(msg)
        x = table[markers].to_numpy(dtype=np.float32) if markers else np.zeros((len(table), 0), dtype=np.float32)
        obs_table = table.drop(columns=markers)
        obs_table.index = pd.Index([str(i) for i in range(len(table))])
        for cid in ("cell_id", "cell", "id", "CellID"):
            if cid in table.columns and table[cid].is_unique:
                obs_table.index = pd.Index(table[cid].astype(str).to_numpy())
                break
        var = pd.DataFrame(index=pd.Index([str(m) for m in markers]))
        adata = ad.AnnData(X=x, obs=obs_table, var=var)
        obs = adata.obs
    else:
        msg = f"read_spatial expects an AnnData, a DataFrame or a path; received {type(data).__name__}."
        raise InputError(msg)

    factor, unit_text = _scale_factor(unit, pixel_size, source)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        first = list(adata.obs_names[bad][:5])
        msg = f"{int(bad.sum())} cell(s) in {source} have missing or infinite coordinates (first: {first}); drop them."
        raise InputError(msg)
    tkey = _pick(obs.columns, cell_type_key, _TYPE_CANDIDATES, "cell-type", source)
    if tkey is None:
        msg = f"No cell-type column in {source}; pass cell_type_key= (CLI: --cell-type-key). Columns: {list(obs.columns)[:30]}."
        raise MissingKeyError(msg)
    skey = _pick(obs.columns, slide_key, _SLIDE_CANDIDATES, "slide", source)
    types = obs[tkey]
    if types.isna().any():
        msg = f"{int(types.isna().sum())} cell(s) in {source} have no cell type in column {tkey!r}; label or drop them."
        raise InputError(msg)
    adata.obsm["spatial"] = coords * factor
    _check_spacing(adata.obsm["spatial"], source, unit_text)
    adata.obs[_keys.OBS_CELL_TYPE] = pd.Categorical(types.astype(str))
    default = "slide"
    if source != "the input":
        default = Path(source).name.split(".")[0] or "slide"
    slides = obs[skey].astype(str) if skey is not None else pd.Series(default, index=obs.index)
    adata.obs[_keys.OBS_SLIDE] = pd.Categorical(slides)
    info: dict[str, Any] = {
        "source": source,
        "x": str(xcol),
        "y": str(ycol),
        "cell_type_key": tkey,
        "slide_key": skey or "",
        "unit": "um",
        "input_unit": unit_text,
        "um_per_unit": factor,
        "n_cells": int(adata.n_obs),
        "slides": [str(s) for s in adata.obs[_keys.OBS_SLIDE].cat.categories],
    }
    adata.uns[_keys.UNS_SPATIAL_INPUT] = info
    return adata


def slide_groups(adata: ad.AnnData) -> list[tuple[str, np.ndarray]]:
    """(slide, integer row positions) of every slide, in category order."""
    if _keys.OBS_SLIDE not in adata.obs:
        return [("slide", np.arange(adata.n_obs))]
    codes = pd.Categorical(adata.obs[_keys.OBS_SLIDE]).codes
    cats = pd.Categorical(adata.obs[_keys.OBS_SLIDE]).categories
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(cats) + 1))
    return [(str(c), order[bounds[i] : bounds[i + 1]]) for i, c in enumerate(cats) if bounds[i + 1] > bounds[i]]


def per_slide(
    func: Callable[[Any], R],
    groups: list[Any],
    *,
    load: Callable[[Any], Any],
    key: str,
    ids: list[str] | None = None,
) -> list[R]:
    """``func(load(group))`` for each slide (its row positions, or any description of it), in slide order.

    With more than one group, each is one chunk of :func:`tmescope._execution.map_chunks` (in this process by
    default, on ``tmescope.settings.client`` when set); ``load`` runs here and sends only that group's arrays.
    ``ids`` name the groups in error messages (default ``"slide i of n"``); groups may also be tiles of slides.
    """
    if len(groups) <= 1:
        return [func(load(pos)) for pos in groups]
    names = ids if ids is not None else [f"slide {i + 1} of {len(groups)}" for i in range(len(groups))]
    return map_chunks(func, groups, ids=names, load=load, key=key)


def check_spatial(adata: ad.AnnData, *, cell_type_key: str | None = None) -> tuple[np.ndarray, pd.Categorical]:
    """Coordinates (µm) and cell types of a prepared AnnData; refuse one that was not read with read_spatial."""
    if "spatial" not in adata.obsm:
        msg = "adata.obsm['spatial'] is missing; read the data with tmescope.spatial.read_spatial(..., unit=...) first."
        raise MissingKeyError(msg)
    key = cell_type_key or _keys.OBS_CELL_TYPE
    if key not in adata.obs:
        msg = f"Cell-type column {key!r} not in adata.obs; pass cell_type_key= or use tmescope.spatial.read_spatial."
        raise MissingKeyError(msg)
    coords = np.ascontiguousarray(np.asarray(adata.obsm["spatial"], dtype=np.float64)[:, :2])
    return coords, pd.Categorical(adata.obs[key].astype(str))
