"""Golden output of liana's CellPhoneDB method on scanpy's pbmc68k_reduced (``tests/data/crosstalk``).

Run from the project root with an environment that has liana: ``.venv/bin/python scripts/crosstalk_liana_golden.py``.
Writes ``tests/data/crosstalk/liana_cellphonedb_pbmc68k.tsv`` (one row per sender, receiver and pair tested).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import anndata as ad
import liana as li

ROOT = Path(__file__).resolve().parents[1]
H5AD = ROOT.parent / "shared" / "reference" / "scanpy_pbmc68k_reduced" / "10x_pbmc68k_reduced.h5ad"
OUT = ROOT / "tests" / "data" / "crosstalk" / "liana_cellphonedb_pbmc68k.tsv"
PARAMS = {
    "groupby": "bulk_labels",
    "resource_name": "consensus",
    "expr_prop": 0.1,
    "min_cells": 5,
    "n_perms": 1000,
    "seed": 1337,
    "use_raw": True,
    "n_jobs": 1,
}


def main() -> None:
    adata = ad.read_h5ad(H5AD)
    res = li.mt.cellphonedb(adata, **PARAMS, inplace=False, verbose=False)
    cols = ["source", "target", "ligand_complex", "receptor_complex", "ligand_means", "receptor_means", "lr_means"]
    res = res[[*cols, "cellphone_pvals"]].sort_values(cols[:4]).reset_index(drop=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    res.to_csv(OUT, sep="\t", index=False, float_format="%.9g")
    print(f"liana {importlib.metadata.version('liana')}: {len(res)} rows -> {OUT}")


if __name__ == "__main__":
    main()
