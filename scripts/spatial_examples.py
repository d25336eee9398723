"""Run the spatial module on the reference data sets and draw the figures of docs/spatial.md.

Usage: python scripts/spatial_examples.py [REFERENCE_DIR] [OUT_DIR=docs/img]

Prints a JSON summary per data set (timings, top enrichment pairs, infiltration, neighbourhoods) and writes
docs/img/spatial_lung5_*.png. Units are assumptions stated in docs/spatial.md (CosMx 0.18 µm/px, MERFISH µm,
CyCIF 0.65 µm/px).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import matplotlib as mpl

mpl.use("agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tmescope.spatial import analyze_spatial, read_spatial

ROOT = Path(__file__).resolve().parents[1]
REF = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference"
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "img"

DATASETS = {
    "cosmx_lung5": {
        "path": REF / "cosmx_nsclc_lung5_celltypes" / "lung5_cells.csv.gz",
        "read": {"unit": "px", "pixel_size": 0.18, "x_key": "x_px", "y_key": "y_px"},
        "run": {"tumor_types": ["Basal"]},
    },
    "merfish_chen2024": {
        "path": REF / "merfish_nsclc_tessera_chen2024" / "cells.tsv",
        "read": {"unit": "um"},
        "run": {"tumor_types": ["Epithelial"], "cd8_types": ["Lymphocyte"]},
    },
    "scimap_example": {
        "path": REF / "scimap_multiplex_examples" / "scimap_example_data.h5ad",
        "read": {"unit": "px", "pixel_size": 0.65, "cell_type_key": "phenotype"},
        "run": {"tumor_types": ["Tumor CD45- CD30+", "Tumor CD30+", "Tumor CD30+ KI67+"]},
    },
    "scimap_exemplar001": {
        "path": REF / "scimap_multiplex_examples" / "scimapExampleData_exemplar001.h5ad",
        "read": {"unit": "px", "pixel_size": 0.65, "cell_type_key": "phenotype", "slide_key": "imageid"},
        "run": {"tumor_types": ["ECAD+"], "cd8_types": ["Immune"]},
    },
}


def top_pairs(adata, n: int = 5) -> list[tuple[str, str, float]]:
    ne = adata.uns["nhood_enrichment"]
    z, cats = np.nan_to_num(ne["zscore"], nan=-np.inf), ne["categories"]
    iu = np.triu_indices_from(z, k=1)
    order = np.argsort(-z[iu])[:n]
    return [(cats[iu[0][i]], cats[iu[1][i]], round(float(z[iu][i]), 1)) for i in order]


def summary(name: str, adata, features: pd.DataFrame, timing: dict[str, float], read_s: float) -> dict:
    inf = adata.uns.get("spatial_infiltration", {})
    out = {
        "dataset": name,
        "cells": int(adata.n_obs),
        "types": int(adata.obs["cell_type"].nunique()),
        "slides": adata.uns["tmescope_spatial_input"]["slides"],
        "edges": int(adata.obsp["spatial_connectivities"].nnz),
        "seconds": {"read": round(read_s, 2), **timing},
        "top_enriched_pairs": top_pairs(adata),
        "neighborhoods": list(adata.uns["cellular_neighborhoods"]["names"]),
    }
    if inf:
        out["phenotype"] = inf["phenotype"].reset_index().round(2).to_dict("records")
        out["tiles"] = inf["tiles"]["phenotype"].value_counts().to_dict()
        out["mixing"] = inf["mixing"].reset_index().round(4).to_dict("records")
        out["cd8_types"] = inf["cd8_types"]
        d = inf["densities"]
        out["cd8_density"] = (
            d[d["cell_type"].isin(inf["cd8_types"])].groupby("compartment", observed=True)["density"].sum().round(1)
        ).to_dict()
    return out


def figures(adata, outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    xy = adata.obsm["spatial"] / 1000.0
    types = adata.obs["cell_type"]
    cats = list(types.cat.categories)
    cmap = plt.get_cmap("tab20")
    colors = {c: cmap(i % 20) for i, c in enumerate(cats)}

    fig, ax = plt.subplots(figsize=(9, 7))
    for c in cats:
        m = (types == c).to_numpy()
        ax.scatter(xy[m, 0], xy[m, 1], s=0.2, color=colors[c], label=c, rasterized=True, linewidths=0)
    ax.set(aspect="equal", xlabel="x (mm)", ylabel="y (mm)", title="CosMx Lung5: cell types (38)")
    ax.legend(markerscale=15, fontsize=6, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    fig.savefig(outdir / "spatial_lung5_celltypes.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    cn = adata.obs["cellular_neighborhood"]
    fig, ax = plt.subplots(figsize=(9, 7))
    cm2 = plt.get_cmap("tab10")
    for i, c in enumerate(cn.cat.categories):
        m = (cn == c).to_numpy()
        ax.scatter(xy[m, 0], xy[m, 1], s=0.2, color=cm2(i % 10), label=c, rasterized=True, linewidths=0)
    ax.set(aspect="equal", xlabel="x (mm)", ylabel="y (mm)", title="Cellular neighbourhoods (k = 10, 10 CNs)")
    ax.legend(markerscale=15, fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    fig.savefig(outdir / "spatial_lung5_neighborhoods.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    ne = adata.uns["nhood_enrichment"]
    z = np.clip(np.nan_to_num(ne["zscore"]), -50, 50)
    fig, ax = plt.subplots(figsize=(10, 9))
    im = ax.imshow(z, cmap="RdBu_r", vmin=-50, vmax=50)
    ax.set_xticks(range(len(cats)), cats, rotation=90, fontsize=6)
    ax.set_yticks(range(len(cats)), cats, fontsize=6)
    ax.set_title("Neighbourhood enrichment z-scores (Delaunay ≤ 50 µm, 1,000 permutations; clipped at ±50)")
    fig.colorbar(im, ax=ax, shrink=0.6)
    fig.savefig(outdir / "spatial_lung5_enrichment.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    comp = adata.obs["tumor_compartment"]
    fig, ax = plt.subplots(figsize=(9, 7))
    for c, col in zip(("stroma", "interface", "core"), ("#d9d9d9", "#fdae61", "#d7191c"), strict=True):
        m = (comp == c).to_numpy()
        ax.scatter(xy[m, 0], xy[m, 1], s=0.2, color=col, label=c, rasterized=True, linewidths=0)
    m = (types == "CD8 T").to_numpy()
    ax.scatter(xy[m, 0], xy[m, 1], s=0.6, color="#2c7bb6", label="CD8 T", rasterized=True, linewidths=0)
    ax.set(
        aspect="equal", xlabel="x (mm)", ylabel="y (mm)", title="Tumour (Basal-cell) region, 100 µm interface, CD8 T"
    )
    ax.legend(markerscale=12, fontsize=8, frameon=False)
    fig.savefig(outdir / "spatial_lung5_interface.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    d = adata.uns["spatial_infiltration"]["densities"]
    keep = ["CD8 T", "CD4 T", "Macrophage", "B", "Plasma", "Dendritic", "Natural Killer"]
    w = d[d["cell_type"].isin(keep)].pivot_table(index="cell_type", columns="compartment", values="density")
    w = w.loc[keep, ["core", "interface", "stroma"]]
    fig, ax = plt.subplots(figsize=(8, 4))
    w.plot.bar(ax=ax, color=["#d7191c", "#fdae61", "#999999"])
    ax.set(ylabel="cells / mm²", xlabel="", title="Immune densities by compartment (CosMx Lung5)")
    fig.savefig(outdir / "spatial_lung5_densities.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    co = adata.uns["co_occurrence"]
    iv = co["interval"][1:]
    fig, ax = plt.subplots(figsize=(7, 4))
    b = cats.index("Basal")
    for c in ("Basal", "CD8 T", "Macrophage", "Myofibroblast", "B"):
        ax.plot(iv, co["occ"][cats.index(c), b], label=c)
    ax.axhline(1, color="k", lw=0.5)
    ax.set(xlabel="distance (µm)", ylabel="P(type | Basal within d) / P(type)", title="Co-occurrence with Basal cells")
    ax.legend(frameon=False)
    fig.savefig(outdir / "spatial_lung5_cooccurrence.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    results = []
    for name, spec in DATASETS.items():
        t0 = time.perf_counter()
        adata = read_spatial(spec["path"], **spec["read"])
        read_s = time.perf_counter() - t0
        features, timing = analyze_spatial(adata, **spec["run"], seed=0, n_jobs=2)
        results.append(summary(name, adata, features, timing, read_s))
        print(json.dumps(results[-1], default=str))
        if name == "cosmx_lung5":
            figures(adata, OUT)


if __name__ == "__main__":
    main()
