"""Fixtures of the single-cell tests: a small synthetic tumour with known compartments, and the real datasets."""

from __future__ import annotations

import gzip
import warnings
from typing import TYPE_CHECKING

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.io
from scipy import sparse

if TYPE_CHECKING:
    from pathlib import Path

#: Planted compartments of the synthetic data and the genes that mark them.
PLANTED: dict[str, list[str]] = {
    "cd8_t": ["CD3D", "CD3E", "CD3G", "CD8A", "CD8B", "NKG7"],
    "b_cell": ["MS4A1", "CD79A", "CD79B", "CD19", "BANK1"],
    "monocyte_macrophage": ["CD14", "LYZ", "CD68", "CSF1R", "FCN1", "AIF1"],
    "fibroblast": ["COL1A1", "COL1A2", "COL3A1", "DCN", "LUM", "PDGFRA"],
}
#: A cell type outside the marker table (neuronal genes): must come out as ``unknown``.
MYSTERY = ["SNAP25", "SYT1", "STMN2", "GAP43", "TUBB3", "NEFL", "NEFM", "ELAVL4"]
#: Background genes (real HGNC symbols, not markers of any compartment).
BACKGROUND = [
    "ACTB", "GAPDH", "B2M", "MALAT1", "RPL13A", "RPS18", "EEF1A1", "TPT1", "FTL", "FTH1",
    "HSP90AB1", "PPIA", "UBC", "YWHAZ", "TMSB4X", "RPLP0", "PTMA", "NACA", "HNRNPA1", "SRSF3",
]  # fmt: skip


def make_cells(
    rng: np.random.Generator,
    *,
    n_per: int = 30,
    samples: tuple[str, ...] = ("p1", "p2"),
    mystery: bool = True,
) -> ad.AnnData:
    """Raw counts of planted compartments in each sample; barcodes repeat across samples (as in 10x files)."""
    types = [*PLANTED, *(["mystery"] if mystery else [])]
    genes = [*dict.fromkeys([g for gs in PLANTED.values() for g in gs] + MYSTERY + BACKGROUND)]
    col = {g: i for i, g in enumerate(genes)}
    blocks, obs = [], []
    for s in samples:
        n_cells = n_per * len(types)
        lam = np.full((n_cells, len(genes)), 0.15)
        lam[:, [col[g] for g in BACKGROUND]] = 3.0
        truth = []
        for k, t in enumerate(types):
            rows = slice(k * n_per, (k + 1) * n_per)
            marked = MYSTERY if t == "mystery" else PLANTED[t]
            lam[rows, [col[g] for g in marked]] = 6.0
            truth += [t] * n_per
        blocks.append(rng.poisson(lam * rng.uniform(0.6, 1.4, size=(n_cells, 1))))
        obs.append(pd.DataFrame({"patient": s, "truth": truth}, index=[f"AAAC{i:05d}-1" for i in range(n_cells)]))
    X = sparse.csr_matrix(np.vstack(blocks).astype(np.float32))
    frame = pd.concat(obs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # repeated barcodes: the point of the fixture
        return ad.AnnData(X, obs=frame, var=pd.DataFrame(index=genes))


@pytest.fixture
def cells(rng: np.random.Generator) -> ad.AnnData:
    """Two samples x (4 compartments + 1 unknown type) x 30 cells, raw counts, colliding barcodes."""
    return make_cells(rng)


def _read_pbmc(reference_dir: Path) -> ad.AnnData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ad.read_h5ad(reference_dir / "scanpy_pbmc68k_reduced" / "10x_pbmc68k_reduced.h5ad")


@pytest.fixture(scope="session")
def pbmc_raw(reference_dir: Path) -> ad.AnnData:
    """scanpy's pbmc68k_reduced as shipped (X scaled, .raw log-normalised, expert ``bulk_labels``)."""
    return _read_pbmc(reference_dir)


@pytest.fixture(scope="session")
def merfish_raw(reference_dir: Path) -> ad.AnnData:
    """The 3,177 MERFISH lung-cancer cells (Chen 2024, via tessera): counts and lineage labels."""
    folder = reference_dir / "merfish_nsclc_tessera_chen2024"
    with gzip.open(folder / "counts_genes_x_cells.mtx.gz") as fh:
        counts = sparse.csr_matrix(scipy.io.mmread(fh).T, dtype=np.float32)
    genes = (folder / "genes.txt").read_text().split()
    cells_tsv = pd.read_csv(folder / "cells.tsv", sep="\t", index_col=0)
    return ad.AnnData(counts, obs=cells_tsv, var=pd.DataFrame(index=genes))


@pytest.fixture
def cell_factory():
    """:func:`make_cells` itself, for tests that need another size."""
    return make_cells
