"""The spatial page of the HTML report: cell-type and neighbourhood maps, enrichment, interface, phenotypes.

It draws what the :mod:`tmescope.spatial` analyses stored in the AnnData and computes nothing itself (a seeded
subsample of at most ``max_points`` cells per map keeps the page light; WebGL draws the points).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import MissingKeyError
from tmescope.pl import _spatial as sfig
from tmescope.report import _html as h
from tmescope.report._write import _check_outdir, write_single_page

if TYPE_CHECKING:
    import anndata as ad

logger = logging.getLogger(__name__)


def _maps(
    adata: ad.AnnData, key: str, what: str, *, max_points: int, seed: int, colors: dict[str, str] | None = None
) -> str:
    xy = np.asarray(adata.obsm["spatial"])
    labels = pd.Categorical(adata.obs[key])
    colors = colors or sfig.color_map([str(c) for c in labels.categories])
    slides = adata.obs[_keys.OBS_SLIDE].astype(str).to_numpy()
    parts = []
    for i, s in enumerate(pd.unique(slides)):
        pos = np.flatnonzero(slides == s)
        note = ""
        if pos.size > max_points:
            pos = np.sort(np.random.default_rng(seed).choice(pos, max_points, replace=False))
            note = f" ({max_points:,} of {int((slides == s).sum()):,} cells shown)"
        fig = sfig.category_map(
            xy[pos], labels[pos], title=f"{s}: {what}{note}", colors=colors, marker_size=2.0 if pos.size > 2e4 else 4.0
        )
        parts.append(h.figure(fig, f"{key}-{i}", filename=f"{s}_{key}"))
    return "\n".join(parts)


def write_spatial_report(
    adata: ad.AnnData,
    outdir: str | Path,
    *,
    title: str = "Spatial tumour microenvironment",
    max_points: int = 300_000,
    seed: int = 0,
) -> Path:
    """Write the spatial report page (``index.html`` with its ``assets/``) from a spatially analysed AnnData.

    Parameters
    ----------
    adata
        AnnData after :func:`tmescope.spatial.analyze_spatial` (or the single steps; missing results are omitted).
    outdir
        Report folder (written under a temporary name and renamed when complete).
    title
        Page title.
    max_points
        Most cells drawn per slide map (a seeded subsample beyond it).
    seed
        Seed of the subsample.

    Returns
    -------
    Path of ``outdir/index.html``.
    """
    if "spatial" not in adata.obsm or _keys.OBS_CELL_TYPE not in adata.obs:
        msg = "The AnnData has no spatial coordinates or cell types; run tmescope.spatial.read_spatial first."
        raise MissingKeyError(msg)
    outdir = Path(outdir)
    _check_outdir(outdir)
    info = adata.uns.get(_keys.UNS_SPATIAL_INPUT, {})
    body = [
        f"<h1>{h.e(title)}</h1>",
        f'<p class="lead">{adata.n_obs:,} cells, {adata.obs[_keys.OBS_CELL_TYPE].nunique()} cell types, '
        f"{adata.obs[_keys.OBS_SLIDE].nunique()} slide(s); coordinates in µm "
        f"(input: {h.e(info.get('input_unit', '?'))}).</p>",
    ]
    toc = [("celltypes", "Cell types")]
    sections = [
        h.section(
            "celltypes",
            "Cell-type maps",
            _maps(adata, _keys.OBS_CELL_TYPE, "cell types", max_points=max_points, seed=seed),
            howto="Each dot is a cell. Click a legend entry to hide a type, double-click to show it alone.",
        )
    ]
    if _keys.OBS_CN in adata.obs:
        cn = adata.uns[_keys.UNS_CN]
        heat = sfig.square_heatmap(
            np.log2(np.clip(np.asarray(cn["enrichment"], dtype=float), 1e-3, None)),
            list(cn["names"]),
            list(cn["categories"]),
            title="Cell-type enrichment in each neighbourhood (log2 share / overall share)",
            zmax=3.0,
            label="log2",
        )
        freq = pd.DataFrame(cn["frequencies"], index=cn["slides"], columns=cn["names"]).reset_index(names="slide")
        content = (
            _maps(adata, _keys.OBS_CN, "cellular neighbourhoods", max_points=max_points, seed=seed)
            + h.figure(heat, "cn-heat", filename="cn_enrichment")
            + h.table(freq, numeric=list(cn["names"]), wrap=True)
        )
        toc.append(("neighborhoods", "Neighbourhoods"))
        sections.append(
            h.section(
                "neighborhoods",
                "Cellular neighbourhoods",
                content,
                howto=f"Each cell's window of its {cn['k']} nearest cells, clustered by composition (Schürch 2020). "
                "The table gives the share of each slide's cells in each neighbourhood.",
            )
        )
    if _keys.UNS_NHOOD_ENRICHMENT in adata.uns:
        ne = adata.uns[_keys.UNS_NHOOD_ENRICHMENT]
        fig = sfig.square_heatmap(
            ne["zscore"], ne["categories"], ne["categories"], title="Neighbourhood enrichment (z-score)"
        )
        toc.append(("enrichment", "Enrichment"))
        sections.append(
            h.section(
                "enrichment",
                "Neighbourhood enrichment",
                h.figure(fig, "nhood", filename="nhood_enrichment"),
                howto=f"Contacts between two cell types on the neighbour graph compared with {ne['n_perms']} random "
                "relabellings: <b>red</b> = more contacts than by chance (z &gt; 0), <b>blue</b> = avoidance.",
            )
        )
    if _keys.UNS_INFILTRATION in adata.uns:
        inf = adata.uns[_keys.UNS_INFILTRATION]
        params = inf["params"]
        parts = [
            h.table(
                inf["phenotype"].reset_index(),
                numeric=["tumor_area_mm2", "margin_area_mm2", "cd8_tumor", "cd8_margin"],
                wrap=True,
            )
        ]
        if _keys.OBS_COMPARTMENT_TUMOR in adata.obs:
            parts.append(
                _maps(
                    adata,
                    _keys.OBS_COMPARTMENT_TUMOR,
                    "tumour core / interface / stroma",
                    max_points=max_points,
                    seed=seed,
                    colors=sfig.COMPARTMENT_COLORS,
                )
            )
        dens = inf["densities"]
        for i, (s, d) in enumerate(dens.groupby("slide", sort=False)):
            imm = d[d["cell_type"].isin(inf["immune_types"])]
            parts.append(
                h.figure(sfig.density_bars(imm, title=f"{s}: immune densities"), f"dens-{i}", filename=f"{s}_densities")
            )
            tiles = inf["tiles"]
            t = tiles[tiles["slide"] == s] if len(tiles) else tiles
            if len(t):
                parts.append(
                    h.figure(
                        sfig.tile_map(
                            t, params["tile_size"], title=f"{s}: immune phenotype per {params['tile_size']:g} µm tile"
                        ),
                        f"tiles-{i}",
                        filename=f"{s}_tiles",
                    )
                )
        if "mixing" in inf:
            parts.append(h.table(inf["mixing"].reset_index(), numeric=["mixing_score"], wrap=True))
        toc.append(("infiltration", "Infiltration"))
        sections.append(
            h.section(
                "infiltration",
                "Tumour–stroma interface and immune phenotype",
                "\n".join(parts),
                howto=f"Tumour region: tumour-cell share ≥ {params['min_fraction']:g} after smoothing; interface: "
                f"within {params['width'] / 2:g} µm of its edge. Phenotype from CD8 T cells ({h.e(', '.join(inf['cd8_types']))}) "
                f"per mm²: <b>inflamed</b> ≥ {params['threshold']:g} inside the tumour; <b>excluded</b> below inside "
                f"but ≥ {params['threshold']:g} in the {params['margin']:g} µm margin; <b>desert</b> otherwise.",
            )
        )
    body.append('<nav class="toc">' + "".join(f'<a href="#{a}">{h.e(t)}</a>' for a, t in toc) + "</nav>")
    body += sections
    write_single_page(outdir, title=title, body=body, nav='<a href="index.html">Spatial TME</a>')
    logger.info("spatial report written to %s", outdir)
    return outdir / "index.html"
