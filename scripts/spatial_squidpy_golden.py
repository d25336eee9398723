"""Golden outputs of squidpy for tests/data/spatial (run with a Python that has squidpy installed).

Usage: /work/venvs/squidpy/bin/python scripts/spatial_squidpy_golden.py [REFERENCE_DIR] [OUT_DIR]

Input: ../shared/reference/cosmx_nsclc_lung5_celltypes/lung5_cells.csv.gz (x_px, y_px scaled by 0.18 µm/px).
Writes, for the whole table (100,149 cells):
- nhood_knn6_count.tsv / nhood_knn6_zscore.tsv: spatial_neighbors(coord_type="generic", n_neighs=6) then
  nhood_enrichment(n_perms=1000, seed=0);
- nhood_delaunay_count.tsv / nhood_delaunay_zscore.tsv: the same on spatial_neighbors(delaunay=True);
and for every 10th row (10,015 cells): co_occurrence_every10th.npz (occ, interval = 0..200 µm in 10 µm steps).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import squidpy as sq

ROOT = Path(__file__).resolve().parents[1]
REF = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference"
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "tests" / "data" / "spatial"
PIXEL_UM = 0.18
INTERVAL = np.linspace(0.0, 200.0, 21)


def load(every: int = 1) -> ad.AnnData:
    t = pd.read_csv(REF / "cosmx_nsclc_lung5_celltypes" / "lung5_cells.csv.gz").iloc[::every].reset_index(drop=True)
    obs = pd.DataFrame({"cell_type": pd.Categorical(t["cell_type"].astype(str))}, index=t["cell_id"].astype(str))
    a = ad.AnnData(obs=obs)
    a.obsm["spatial"] = t[["x_px", "y_px"]].to_numpy(dtype=float) * PIXEL_UM
    return a


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    meta: dict[str, object] = {"squidpy": sq.__version__, "pixel_um": PIXEL_UM}
    a = load()
    for name, kw in (("knn6", {"coord_type": "generic", "n_neighs": 6}), ("delaunay", {"delaunay": True})):
        sq.gr.spatial_neighbors(a, **kw)
        t0 = time.perf_counter()
        res = sq.gr.nhood_enrichment(a, cluster_key="cell_type", n_perms=1000, seed=0, copy=True, n_jobs=1)
        meta[f"nhood_{name}_seconds"] = time.perf_counter() - t0
        meta[f"nhood_{name}_edges"] = int(a.obsp["spatial_connectivities"].nnz)
        cats = list(a.obs["cell_type"].cat.categories)
        pd.DataFrame(res.zscore, index=cats, columns=cats).to_csv(OUT / f"nhood_{name}_zscore.tsv", sep="\t")
        pd.DataFrame(res.counts, index=cats, columns=cats).to_csv(OUT / f"nhood_{name}_count.tsv", sep="\t")
    sub = load(every=10)
    t0 = time.perf_counter()
    occ, interval = sq.gr.co_occurrence(sub, cluster_key="cell_type", interval=INTERVAL, copy=True)
    meta["co_occurrence_seconds"] = time.perf_counter() - t0
    meta["co_occurrence_cells"] = int(sub.n_obs)
    np.savez_compressed(
        OUT / "co_occurrence_every10th.npz",
        occ=np.asarray(occ, dtype=np.float64),
        interval=np.asarray(interval, dtype=np.float64),
        categories=np.array(list(sub.obs["cell_type"].cat.categories)),
    )
    (OUT / "squidpy_meta.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
