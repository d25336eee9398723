"""Agreement of tmescope.sc.annotate_compartments with expert labels (numbers quoted in docs/sc.md).

Datasets (from ../shared/reference, not shipped):
- scanpy_pbmc68k_reduced: 700 PBMCs, 765 HVGs, ``bulk_labels`` (10 types); X is scaled, so the log-normalised
  ``.raw`` is used (tmescope.sc.prepare_cells does this by itself);
- merfish_nsclc_tessera_chen2024: 3,177 MERFISH lung-cancer cells, 479 genes, lineage labels (Chen 2024).

Usage: .venv/bin/python scripts/validate_sc_annotation.py [--seeds 0 1 2 3 4]
"""

from __future__ import annotations

import argparse
import gzip
import json
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.io
from scipy import sparse
from sklearn.metrics import adjusted_rand_score, f1_score

from tmescope.sc import annotate_compartments, prepare_cells

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
# The same label maps as the tests use (one file, tests/data/sc/label_maps.json).
_MAPS = json.loads((Path(__file__).resolve().parents[1] / "tests" / "data" / "sc" / "label_maps.json").read_text())
PBMC_TO_COMPARTMENT: dict[str, str] = _MAPS["pbmc_to_compartment"]
COMPARTMENT_TO_LINEAGE: dict[str, str] = _MAPS["compartment_to_lineage"]


def _pbmc() -> ad.AnnData:
    return ad.read_h5ad(REFERENCE / "scanpy_pbmc68k_reduced" / "10x_pbmc68k_reduced.h5ad")


def _merfish() -> ad.AnnData:
    folder = REFERENCE / "merfish_nsclc_tessera_chen2024"
    with gzip.open(folder / "counts_genes_x_cells.mtx.gz") as fh:
        counts = sparse.csr_matrix(scipy.io.mmread(fh).T, dtype=np.float32)
    genes = (folder / "genes.txt").read_text().split()
    obs = pd.read_csv(folder / "cells.tsv", sep="\t", index_col=0)
    return ad.AnnData(counts, obs=obs, var=pd.DataFrame(index=genes))


def _scores(truth: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict[str, float]:
    out = {"ARI": adjusted_rand_score(truth, pred)}
    out.update(zip(labels, f1_score(truth, pred, labels=labels, average=None), strict=True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    pbmc = _pbmc()
    merfish = _merfish()
    for seed in args.seeds:
        cells = prepare_cells(pbmc)
        annotate_compartments(cells, seed=seed)
        truth = pbmc.obs["bulk_labels"].astype(str).map(PBMC_TO_COMPARTMENT)
        keep = truth.notna().to_numpy()
        pred = cells.obs["compartment"].astype(str).to_numpy()
        labels = sorted(set(truth[keep]))
        rows.append({"dataset": "pbmc68k_reduced", "seed": seed, **_scores(truth[keep].to_numpy(), pred[keep], labels)})
        cd34 = pbmc.obs["bulk_labels"].astype(str).to_numpy() == "CD34+"
        rows[-1]["CD34+ unknown"] = float((pred[cd34] == "unknown").mean())

        cells = prepare_cells(merfish)
        annotate_compartments(cells, seed=seed)
        truth_m = merfish.obs["cell_type"].astype(str).to_numpy()
        pred_m = cells.obs["compartment"].astype(str).map(COMPARTMENT_TO_LINEAGE).to_numpy()
        rows.append({"dataset": "merfish_chen2024", "seed": seed, **_scores(truth_m, pred_m, sorted(set(truth_m)))})
        rows[-1]["unknown"] = float((pred_m == "unknown").mean())
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    for name, group in table.groupby("dataset", sort=False):
        sub = group.dropna(axis=1, how="all")
        print(f"\n== {name} ==")
        print(sub.drop(columns="dataset").round(3).to_string(index=False))
        print("mean:", sub.drop(columns=["dataset", "seed"]).mean().round(3).to_dict())


if __name__ == "__main__":
    main()
