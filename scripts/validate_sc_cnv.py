"""Malignant-cell calls of tmescope.sc.infer_cnv / call_malignant against expert labels (numbers in docs/sc.md).

Dataset (from ../shared/reference, not shipped): infercnvpy_oligodendroglioma — 184 SMART-seq2 cells of four
oligodendrogliomas (Tirosh 2016), 142 malignant, 23 oligodendrocytes and 19 microglia/macrophages.

1. Full reference: all 42 normal cells are the reference; precision/recall of the 142 malignant cells.
2. Held-out normals: for each split, a random half of each normal type is the reference; the other normal cells
   and all malignant cells are called; precision/recall of ``malignant`` over those cells.

Usage: .venv/bin/python scripts/validate_sc_cnv.py [--splits 20]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import anndata as ad
import numpy as np

from tmescope.sc import call_malignant, infer_cnv, prepare_cells

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
NORMAL = ("Oligodendrocytes (non-malignant)", "Microglia/Macrophage")


def load() -> ad.AnnData:
    raw = ad.read_h5ad(REFERENCE / "infercnvpy_oligodendroglioma" / "oligodendroglioma.h5ad")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare_cells(raw)


def held_out(cells: ad.AnnData, split: int, margin: float = 1.0) -> tuple[float, float, int, int]:
    """Precision, recall, false positives and normal cells called, with half of each normal type as reference."""
    ct = cells.obs["cell_type"].astype(str).to_numpy()
    group = ct.astype(object)
    rng = np.random.default_rng(split)
    for t in NORMAL:
        idx = np.flatnonzero(ct == t)
        group[np.setdiff1d(idx, rng.choice(idx, size=len(idx) // 2, replace=False))] = "held_out"
    cells.obs["cnv_group"] = group
    infer_cnv(cells, reference_key="cnv_group", reference_categories=list(NORMAL))
    call_malignant(cells, margin=margin)
    called = ~np.isin(group, NORMAL)
    pred = cells.obs["cnv_call"].to_numpy()[called] == "malignant"
    truth = np.char.startswith(ct[called].astype(str), "malignant")
    tp = int((pred & truth).sum())
    return tp / max(int(pred.sum()), 1), tp / int(truth.sum()), int((pred & ~truth).sum()), int((~truth).sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--splits", type=int, default=20)
    args = parser.parse_args()
    cells = load()
    infer_cnv(cells, reference_key="cell_type", reference_categories=list(NORMAL))
    calls = call_malignant(cells)
    truth = cells.obs["cell_type"].astype(str).str.startswith("malignant").to_numpy()
    pred = cells.obs["cnv_call"].to_numpy() == "malignant"
    print(f"full reference: {cells.uns['cnv']['n_genes']} genes, {cells.obsm['X_cnv'].shape[1]} windows")
    print(calls)
    print(f"precision {(pred & truth).sum() / pred.sum():.3f} recall {(pred & truth).sum() / truth.sum():.3f}")
    mal = cells.obs.loc[truth, "cnv_score"]
    print(
        f"threshold {cells.uns['cnv']['threshold']:.4f}; malignant scores min {mal.min():.4f} median {mal.median():.4f}"
    )
    for margin in (1.0, 1.25, 1.5):
        rows = [held_out(cells, s, margin) for s in range(args.splits)]
        prec, rec, fp, n = map(np.array, zip(*rows, strict=True))
        print(
            f"margin {margin}: held-out normals, {args.splits} splits: precision mean {prec.mean():.3f} (min {prec.min():.3f}), "
            f"recall mean {rec.mean():.3f} (min {rec.min():.3f}), false positives {fp.sum()} of {n.sum()} normal "
            f"cells (max {fp.max()} of {n.max()} in one split)"
        )


if __name__ == "__main__":
    main()
