"""Tidy feature table of the spatial analyses, one row per (slide, feature)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope.io import feature_name, features_from_frame, normalize_features

if TYPE_CHECKING:
    import anndata as ad


def _rows(values: pd.DataFrame, prefix: str, unit: str, method: str) -> pd.DataFrame:
    return features_from_frame(values, prefix=prefix, unit=unit, method=method) if values.size else pd.DataFrame()


def spatial_features(adata: ad.AnnData, *, mixing: pd.DataFrame | None = None) -> pd.DataFrame:
    """Collect the spatial results stored in ``adata`` into the tidy feature table (samples = slides).

    Features: ``spatial.n_cells``, ``spatial.fraction.<type>``, ``spatial.mixing_score``,
    ``spatial.density_<core|interface|stroma>.<type>`` (cells/mm²), ``spatial.tumor_distance.<type>`` (median µm
    to the nearest tumour cell), ``spatial.immune_phenotype`` (label), ``spatial.cd8_density_<tumor|margin>``,
    ``spatial.tile_<phenotype>`` (share of tiles) and ``spatial.cn.<neighbourhood>`` (share of cells), each
    present when the analysis behind it was run.

    Parameters
    ----------
    adata
        AnnData after the spatial analyses.
    mixing
        Output of :func:`mixing_score` (indexed by slide).

    Returns
    -------
    Tidy DataFrame with the columns of :data:`tmescope.io.FEATURE_COLUMNS`.

    Examples
    --------
    >>> import pandas as pd
    >>> from tmescope.spatial import read_spatial
    >>> a = read_spatial(pd.DataFrame({"x": [0.0, 1], "y": [0.0, 1], "cell_type": ["A", "B"]}), unit="um")
    >>> spatial_features(a)["feature"].tolist()
    ['spatial.fraction.a', 'spatial.fraction.b', 'spatial.n_cells']
    """
    slides = adata.obs[_keys.OBS_SLIDE].astype(str) if _keys.OBS_SLIDE in adata.obs else pd.Series("slide")
    types = adata.obs[_keys.OBS_CELL_TYPE].astype(str)
    parts: list[pd.DataFrame] = []
    counts = pd.crosstab(slides.to_numpy(), types.to_numpy())
    parts.append(_rows(counts.sum(axis=1).to_frame("n_cells"), "spatial", "cells", "count"))
    parts.append(_rows(counts.div(counts.sum(axis=1), axis=0), "spatial.fraction", "fraction", "count"))
    if mixing is not None:
        parts.append(_rows(mixing[["mixing_score"]], "spatial", "ratio", "mixing_score_keren2018"))
    inf = adata.uns.get(_keys.UNS_INFILTRATION)
    if inf is not None:
        d = inf["densities"]
        for comp, sub in d.groupby("compartment", sort=False, observed=True):
            wide = sub.pivot_table(index="slide", columns="cell_type", values="density", aggfunc="first", sort=False)
            parts.append(_rows(wide, f"spatial.density_{comp}", "cells/mm2", "infiltration"))
        if len(inf["distances"]):
            wide = inf["distances"].pivot_table(
                index="slide", columns="cell_type", values="median_distance", aggfunc="first", sort=False
            )
            parts.append(_rows(wide, "spatial.tumor_distance", "um", "nearest_tumor_cell_median"))
        ph = inf["phenotype"]
        parts.append(
            _rows(
                ph[["cd8_tumor", "cd8_margin"]].rename(columns=lambda c: c.replace("cd8_", "cd8_density_")),
                "spatial",
                "cells/mm2",
                "infiltration",
            )
        )
        parts.append(_rows(ph[["tumor_area_mm2"]], "spatial", "mm2", "infiltration"))
        label = pd.DataFrame(
            {
                "sample": ph.index.astype(str),
                "feature": "spatial.immune_phenotype",
                "value": np.nan,
                "label": ph["phenotype"].astype(str).to_numpy(),
                "unit": "",
                "method": f"cd8_density_rule_{inf['params']['threshold']:g}",
            }
        )
        parts.append(label)
        tiles = inf["tiles"]
        if len(tiles):
            share = pd.crosstab(tiles["slide"], tiles["phenotype"], normalize="index")
            share.columns = [f"tile_{c}" for c in share.columns]
            parts.append(_rows(share, "spatial", "fraction", "infiltration_tiles"))
    cn = adata.uns.get(_keys.UNS_CN)
    if cn is not None:
        freq = pd.DataFrame(
            cn["frequencies"],
            index=cn["slides"],
            columns=[feature_name("cn", c).removeprefix("cn.") for c in cn["names"]],
        )
        parts.append(_rows(freq, "spatial.cn", "fraction", "cellular_neighborhoods_schurch2020"))
    parts = [p for p in parts if len(p)]
    return normalize_features(pd.concat(parts, ignore_index=True))
