"""Tumour-stroma interface, immune infiltration, immune phenotype and mixing score."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.spatial import cKDTree

from tmescope import _keys
from tmescope._errors import InputError
from tmescope._logging import warn
from tmescope._registry import register
from tmescope.spatial._graph import get_graph
from tmescope.spatial._input import check_spatial, per_slide, slide_groups

if TYPE_CHECKING:
    from collections.abc import Sequence

    import anndata as ad

_IMMUNE = re.compile(
    r"\bt\b|t cell|t-cell|cd4|cd8|treg|\bnk\b|natural killer|\bb\b|b cell|b-cell|plasma|macrophage|monocyte|"
    r"dendritic|\bdc\b|neutrophil|mast|basophil|lymphocyte|myeloid|immune|leukocyte|granulocyte|\bm[12]\b",
    re.IGNORECASE,
)
_CD8 = re.compile(r"cd8", re.IGNORECASE)
_T_CELL = re.compile(r"\bt\b|t cell|t-cell|cd4|treg|lymphocyte", re.IGNORECASE)
COMPARTMENTS = ("core", "interface", "stroma")
PHENOTYPES = ("inflamed", "excluded", "desert", "no_tumor")


def _resolve(
    types: Sequence[str] | None, categories: list[str], pattern: re.Pattern[str] | None, what: str
) -> list[str]:
    if types is None:
        found = [c for c in categories if pattern is not None and pattern.search(c)]
        return found
    missing = [t for t in types if t not in categories]
    if missing:
        msg = f"{what} {missing} are not cell types of this data; known types: {categories[:40]}."
        raise InputError(msg)
    return list(types)


_NOT_IMMUNE = re.compile(r"non[- ]?immune|tumou?r", re.IGNORECASE)


def immune_types_of(categories: list[str], tumor_types: Sequence[str]) -> list[str]:
    """Cell types whose names look like immune cells (documented keyword rule), minus tumour and non-immune names."""
    return [c for c in categories if _IMMUNE.search(c) and not _NOT_IMMUNE.search(c) and c not in tumor_types]


def mixing_scores(
    indptr: np.ndarray, indices: np.ndarray, is_tumor: np.ndarray, is_immune: np.ndarray
) -> tuple[int, int, float]:
    """Immune-tumour and immune-immune edge counts and their ratio (Keren 2018 mixing score; kernel)."""
    rows = np.repeat(np.arange(indptr.shape[0] - 1), np.diff(indptr))
    src_imm = is_immune[rows]
    it = int(np.count_nonzero(src_imm & is_tumor[indices]))
    ii = int(np.count_nonzero(src_imm & is_immune[indices]))
    return it, ii, (it / ii) if ii else float("nan")


@register(
    name="mixing_score",
    topic="spatial",
    modality="spatial",
    citation="Keren L. et al. Cell 2018;174:1373 (immune-tumour over immune-immune interactions)",
    scale="spatial graph + cell types",
)
def mixing_score(
    adata: ad.AnnData,
    *,
    tumor_types: Sequence[str],
    immune_types: Sequence[str] | None = None,
    cell_type_key: str | None = None,
) -> pd.DataFrame:
    """Mixing score of every slide: immune-tumour contacts over immune-immune contacts on the spatial graph.

    Parameters
    ----------
    adata
        AnnData with a graph from :func:`spatial_neighbors`.
    tumor_types
        Cell types that are tumour cells.
    immune_types
        Immune cell types (default: types whose names match the immune keyword rule).
    cell_type_key
        ``obs`` column of cell types (default ``"cell_type"``).

    Returns
    -------
    DataFrame indexed by slide with ``immune_tumor_edges``, ``immune_immune_edges`` and ``mixing_score``.

    Examples
    --------
    >>> import pandas as pd
    >>> from tmescope.spatial import read_spatial, spatial_neighbors
    >>> t = pd.DataFrame({"x": [0.0, 1, 2, 3], "y": [0.0, 0, 0, 0], "cell_type": ["Tumor", "T", "Tumor", "T"]})
    >>> a = read_spatial(t, unit="um"); spatial_neighbors(a, n_neighs=2)
    >>> mixing_score(a, tumor_types=["Tumor"], immune_types=["T"])["mixing_score"].iloc[0]  # 3 T-tumour / 1 T-T
    np.float64(3.0)
    """
    _, types = check_spatial(adata, cell_type_key=cell_type_key)
    cats = [str(c) for c in types.categories]
    tumor = _resolve(tumor_types, cats, None, "tumor_types")
    immune = _resolve(immune_types, cats, None, "immune_types") if immune_types else immune_types_of(cats, tumor)
    g = get_graph(adata)
    is_t = np.isin(types.codes, [cats.index(t) for t in tumor])
    is_i = np.isin(types.codes, [cats.index(t) for t in immune])
    rows = []
    for slide, pos in slide_groups(adata):
        sub = g[pos][:, pos]
        rows.append((slide, *mixing_scores(sub.indptr, sub.indices, is_t[pos], is_i[pos])))
    return pd.DataFrame(rows, columns=["slide", "immune_tumor_edges", "immune_immune_edges", "mixing_score"]).set_index(
        "slide"
    )


def tumor_mask_grid(
    coords: np.ndarray,
    is_tumor: np.ndarray,
    *,
    bin_size: float,
    sigma: float,
    min_fraction: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rasterised tissue and tumour masks and the cells' bins (kernel).

    Cells are counted in square bins of ``bin_size`` µm, counts smoothed with a Gaussian of ``sigma`` µm; a bin is
    tissue when its smoothed cell density is at least 10% of the median over bins that hold cells, and tumour when
    tissue and the smoothed tumour-cell share is at least ``min_fraction``.
    Returns (tissue, tumour, bin index of each cell as (n, 2), grid origin).
    """
    pad = 3.0 * sigma
    lo = coords.min(axis=0) - pad
    shape = tuple((np.ceil((coords.max(axis=0) + pad - lo) / bin_size)).astype(int) + 1)
    ij = np.floor((coords - lo) / bin_size).astype(np.int64)
    flat = ij[:, 0] * shape[1] + ij[:, 1]
    size = shape[0] * shape[1]
    all_counts = np.bincount(flat, minlength=size).reshape(shape).astype(np.float64)
    tum_counts = np.bincount(flat[is_tumor], minlength=size).reshape(shape).astype(np.float64)
    s = sigma / bin_size
    all_s = ndimage.gaussian_filter(all_counts, s, mode="constant")
    tum_s = ndimage.gaussian_filter(tum_counts, s, mode="constant")
    occupied = all_s[all_counts > 0]
    tissue = all_s >= 0.1 * float(np.median(occupied)) if occupied.size else np.zeros(shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(all_s > 0, tum_s / all_s, 0.0)
    tumor = tissue & (share >= min_fraction)
    return tissue, tumor, ij, lo


def signed_boundary_distance(tumor: np.ndarray, bin_size: float) -> np.ndarray:
    """Per-bin distance (µm) to the tumour boundary: negative inside the tumour, positive outside (kernel)."""
    if not tumor.any():
        return np.full(tumor.shape, np.inf)
    outside = ndimage.distance_transform_edt(~tumor) * bin_size
    inside = ndimage.distance_transform_edt(tumor) * bin_size
    return np.where(tumor, -inside + 0.5 * bin_size, outside - 0.5 * bin_size)


def _phenotype(d_tumor: float, d_stroma: float, threshold: float, *, has_tumor: bool) -> str:
    if not has_tumor:
        return "no_tumor"
    if d_tumor >= threshold:
        return "inflamed"
    if d_stroma >= threshold:
        return "excluded"
    return "desert"


@register(
    name="infiltration",
    topic="spatial",
    modality="spatial",
    citation="Tumour-stroma interface densities; immune phenotypes after Chen & Mellman, Nature 2017;541:321",
    scale="coordinates in µm",
)
def infiltration(
    adata: ad.AnnData,
    *,
    tumor_types: Sequence[str],
    immune_types: Sequence[str] | None = None,
    cd8_types: Sequence[str] | None = None,
    cell_type_key: str | None = None,
    width: float = 100.0,
    margin: float = 500.0,
    bin_size: float = 10.0,
    sigma: float = 30.0,
    min_fraction: float = 0.5,
    threshold: float = 100.0,
    tile_size: float = 500.0,
    min_tile_tumor_area: float = 0.025,
    copy: bool = False,
) -> ad.AnnData | None:
    """Tumour region, interface band, immune densities, distances to tumour and immune phenotypes.

    Per slide: the tumour region is where the Gaussian-smoothed share of tumour cells is at least ``min_fraction``
    (see :func:`tumor_mask_grid`); each cell gets its signed distance to the region's boundary (negative inside).
    Cells within ``width / 2`` µm of the boundary on either side form the *interface*; deeper inside is the
    *core*, further outside the *stroma*. Densities are cells per mm² of tissue in each compartment.

    Immune phenotype (per slide and per ``tile_size`` µm tile), from the CD8 T-cell density inside the tumour
    region (``D_tumor``) and in tissue outside it within ``margin`` µm of the boundary (``D_stroma``):
    *inflamed* if ``D_tumor >= threshold``; *excluded* if ``D_tumor < threshold <= D_stroma``; *desert*
    otherwise; *no_tumor* when the slide (tile) has less than ``min_tile_tumor_area`` mm² of tumour region.

    Parameters
    ----------
    adata
        AnnData from :func:`read_spatial`.
    tumor_types
        Cell types that are tumour cells.
    immune_types
        Immune types whose densities are reported (default: keyword rule on the type names).
    cd8_types
        Types counted as CD8 T cells for the phenotype (default: names containing "CD8"; if none, T-cell or
        lymphocyte names).
    cell_type_key
        ``obs`` column of cell types.
    width
        Width of the interface band in µm (half on each side of the boundary).
    margin
        Reach of the stromal margin used for ``D_stroma``, in µm.
    bin_size, sigma, min_fraction
        Raster bin (µm), Gaussian smoothing (µm) and tumour-share cut-off of the tumour region.
    threshold
        CD8 density (cells/mm²) separating infiltrated from not infiltrated.
    tile_size
        Side of the square tiles of the per-tile phenotype, in µm.
    min_tile_tumor_area
        Least tumour-region area (mm²) for a tile (or slide) to get a phenotype.
    copy
        Return a changed copy instead of writing into ``adata``.

    Returns
    -------
    None (or the copy); writes ``obs["tumor_compartment"]``, ``obs["tumor_boundary_distance"]`` (µm),
    ``obs["tumor_cell_distance"]`` (µm to the nearest tumour cell) and ``uns["spatial_infiltration"]`` with
    ``densities`` (tidy: slide, cell_type, compartment, cells, area_mm2, density), ``distances`` (tidy: slide,
    cell_type, median distance in µm to the nearest tumour cell), ``phenotype`` (per slide), ``tiles`` (per tile) and the
    parameters.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tmescope.spatial import read_spatial
    >>> r = np.random.default_rng(0)
    >>> t = pd.DataFrame({"x": r.uniform(0, 1000, 4000), "y": r.uniform(0, 1000, 4000)})
    >>> t["cell_type"] = np.where(t["x"] < 500, "Tumor", "Fibroblast")
    >>> t.loc[r.choice(4000, 300, replace=False), "cell_type"] = "CD8 T"
    >>> a = read_spatial(t, unit="um")
    >>> infiltration(a, tumor_types=["Tumor"])
    >>> a.uns["spatial_infiltration"]["phenotype"]["phenotype"].iloc[0]
    'inflamed'
    """
    for name, v in (("width", width), ("bin_size", bin_size), ("sigma", sigma), ("tile_size", tile_size)):
        if not v > 0:
            msg = f"{name} must be a positive length in µm; received {v!r}."
            raise InputError(msg)
    if not 0 < min_fraction <= 1:
        msg = f"min_fraction must be in (0, 1]; received {min_fraction!r}."
        raise InputError(msg)
    if copy:
        adata = adata.copy()
    coords, types = check_spatial(adata, cell_type_key=cell_type_key)
    cats = [str(c) for c in types.categories]
    tumor = _resolve(tumor_types, cats, None, "tumor_types")
    if not tumor:
        msg = "tumor_types is empty; name at least one cell type that marks tumour cells (CLI: --tumor-types)."
        raise InputError(msg)
    immune = _resolve(immune_types, cats, None, "immune_types") if immune_types else immune_types_of(cats, tumor)
    cd8 = _resolve(cd8_types, cats, _CD8, "cd8_types")
    if cd8_types is None:
        cd8 = [c for c in cd8 if c not in tumor and not _NOT_IMMUNE.search(c)]
    cd8_rule = "names containing 'CD8'" if cd8_types is None else "given"
    if not cd8:
        cd8 = [c for c in cats if _T_CELL.search(c) and c not in tumor and not _NOT_IMMUNE.search(c)]
        cd8_rule = "no CD8 type: T-cell/lymphocyte names"
    if not cd8:
        warn("No CD8 or T-cell type found; immune phenotypes are 'desert' by construction. Pass cd8_types=.")
    codes = types.codes
    is_tumor = np.isin(codes, [cats.index(t) for t in tumor])
    is_cd8 = np.isin(codes, [cats.index(t) for t in cd8])
    params = {
        "width": width,
        "margin": margin,
        "bin_size": bin_size,
        "sigma": sigma,
        "min_fraction": min_fraction,
        "threshold": threshold,
        "tile_size": tile_size,
        "min_tile_tumor_area": min_tile_tumor_area,
    }
    reported = [cats.index(t) for t in [*tumor, *immune]]
    slides = slide_groups(adata)

    def load(item: tuple[str, np.ndarray]) -> tuple[Any, ...]:
        slide, pos = item
        return slide, coords[pos], codes[pos], is_tumor[pos], is_cd8[pos], cats, reported, params

    parts = per_slide(_slide_infiltration, slides, load=load, key="infiltration")
    comp = np.empty(adata.n_obs, dtype=object)
    bdist = np.full(adata.n_obs, np.nan)
    tdist = np.full(adata.n_obs, np.nan)
    for (_, pos), part in zip(slides, parts, strict=True):
        comp[pos] = part["compartment"]
        bdist[pos] = part["boundary_distance"]
        tdist[pos] = part["tumor_distance"]
    dist_rows = [p["distances"] for p in parts if p["distances"] is not None]
    adata.obs[_keys.OBS_COMPARTMENT_TUMOR] = pd.Categorical(comp.astype(str), categories=list(COMPARTMENTS))
    adata.obs[_keys.OBS_BOUNDARY_DISTANCE] = bdist
    adata.obs[_keys.OBS_TUMOR_DISTANCE] = tdist
    pheno = pd.DataFrame([p["phenotype"] for p in parts]).set_index("slide")
    tiles = pd.DataFrame([r for p in parts for r in p["tiles"]])
    adata.uns[_keys.UNS_INFILTRATION] = {
        "densities": pd.DataFrame([r for p in parts for r in p["densities"]]),
        "distances": pd.concat(dist_rows, ignore_index=True)
        if dist_rows
        else pd.DataFrame(columns=["slide", "cell_type", "median_distance"]),
        "phenotype": pheno,
        "tiles": tiles,
        "tumor_types": list(tumor),
        "immune_types": list(immune),
        "cd8_types": list(cd8),
        "cd8_rule": cd8_rule,
        "params": params,
    }
    return adata if copy else None


def _slide_infiltration(args: tuple[Any, ...]) -> dict[str, Any]:
    """Compartments, distances, densities and phenotypes of one slide (chunk function of :func:`infiltration`)."""
    slide, c, slide_codes, is_tumor, is_cd8, cats, reported, params = args
    bin_size, margin, threshold = params["bin_size"], params["margin"], params["threshold"]
    min_area = params["min_tile_tumor_area"]
    half = params["width"] / 2.0
    bin_area = (bin_size / 1000.0) ** 2
    tissue, tmask, ij, lo = tumor_mask_grid(
        c, is_tumor, bin_size=bin_size, sigma=params["sigma"], min_fraction=params["min_fraction"]
    )
    signed = signed_boundary_distance(tmask, bin_size)
    d_cells = signed[ij[:, 0], ij[:, 1]]
    cc = np.where(d_cells < -half, "core", np.where(d_cells <= half, "interface", "stroma"))
    areas = {
        "core": float((tissue & (signed < -half)).sum() * bin_area),
        "interface": float((tissue & (np.abs(signed) <= half)).sum() * bin_area),
        "stroma": float((tissue & (signed > half)).sum() * bin_area),
    }
    dens_rows: list[dict[str, object]] = []
    for code in reported:
        sel = slide_codes == code
        for k in COMPARTMENTS:
            n = int(np.count_nonzero(sel & (cc == k)))
            dens_rows.append(
                {
                    "slide": slide,
                    "cell_type": cats[code],
                    "compartment": k,
                    "cells": n,
                    "area_mm2": areas[k],
                    "density": n / areas[k] if areas[k] > 0 else np.nan,
                }
            )
    tdist = np.full(c.shape[0], np.nan)
    distances = None
    tpos = np.flatnonzero(is_tumor)
    if tpos.size:
        tdist, _ = cKDTree(c[tpos]).query(c, k=1)
        med = pd.Series(tdist).groupby(np.asarray(cats, dtype=object)[slide_codes]).median()
        distances = pd.DataFrame({"slide": slide, "cell_type": med.index, "median_distance": med.to_numpy()})
    # phenotype: slide and tiles share one rule
    in_t = tissue & tmask
    near = tissue & ~tmask & (signed <= margin)
    cd8_bins = ij[is_cd8]
    cd8_grid = np.zeros(tissue.shape, dtype=np.int64)
    np.add.at(cd8_grid, (cd8_bins[:, 0], cd8_bins[:, 1]), 1)

    def rule(sl: tuple[slice, slice]) -> dict[str, Any]:
        a_t = float(in_t[sl].sum() * bin_area)
        a_s = float(near[sl].sum() * bin_area)
        n_t = int(cd8_grid[sl][in_t[sl]].sum())
        n_s = int(cd8_grid[sl][near[sl]].sum())
        d_t = n_t / a_t if a_t > 0 else np.nan
        d_s = n_s / a_s if a_s > 0 else np.nan
        has = a_t >= min_area
        ph = _phenotype(d_t if has else 0.0, d_s if a_s > 0 else 0.0, threshold, has_tumor=has)
        return {"tumor_area_mm2": a_t, "margin_area_mm2": a_s, "cd8_tumor": d_t, "cd8_margin": d_s, "phenotype": ph}

    tile_rows: list[dict[str, object]] = []
    step = max(1, round(params["tile_size"] / bin_size))
    first = round(3.0 * params["sigma"] / bin_size)  # tiles start at the first cell, not at the raster's padding
    for ti in range(first, tissue.shape[0], step):
        for tj in range(first, tissue.shape[1], step):
            sl = (slice(ti, ti + step), slice(tj, tj + step))
            if tissue[sl].any():
                tile_rows.append(
                    {"slide": slide, "x0": float(lo[0] + ti * bin_size), "y0": float(lo[1] + tj * bin_size), **rule(sl)}
                )
    return {
        "compartment": cc,
        "boundary_distance": d_cells,
        "tumor_distance": tdist,
        "densities": dens_rows,
        "distances": distances,
        "phenotype": {"slide": slide, **rule((slice(None), slice(None)))},
        "tiles": tile_rows,
    }
