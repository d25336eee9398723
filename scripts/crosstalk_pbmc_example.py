"""The worked example of docs/crosstalk.md: crosstalk between the expert-labelled groups of pbmc68k_reduced.

Run from the project root: ``.venv/bin/python scripts/crosstalk_pbmc_example.py``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import anndata as ad

import tmescope.crosstalk as ct

ROOT = Path(__file__).resolve().parents[1]
H5AD = ROOT.parent / "shared" / "reference" / "scanpy_pbmc68k_reduced" / "10x_pbmc68k_reduced.h5ad"
COLS = ["source", "target", "ligand", "receptor", "lr_means", "fdr", "magnitude_rank", "specificity_rank"]


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file predates anndata's encoding metadata
        adata = ad.read_h5ad(H5AD)
    ct.infer_crosstalk(adata, groupby="bulk_labels", layer="raw", n_perms=1000, seed=0)
    res = adata.uns["crosstalk"]["results"]
    print(f"{len(res)} rows tested, {(res['fdr'] <= 0.05).sum()} with FDR <= 0.05")
    fmt = {"float_format": lambda v: f"{v:.3g}", "index": False}
    print(res.sort_values("specificity_rank").head(8)[COLS].to_string(**fmt))
    print(res[res["channel"] != ""].sort_values("specificity_rank").head(8)[[*COLS, "channel"]].to_string(**fmt))
    print(ct.channel_summary(res).to_string(index=False))


if __name__ == "__main__":
    main()
