"""Pseudobulk -> deconvolution reference round trip on the Lee 2020 colorectal cancer profiles.

Cells are drawn from each patient x cell-type pseudobulk profile (multinomial UMI sampling), summed back with
:func:`tmescope.sc.pseudobulk`, and the result is used as :func:`tmescope.bulk.build_reference` input; the
reference must recover mixtures of held-out patients' original profiles as well as a reference built straight
from the profiles does (``tests/bulk/test_reference.py``).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from tmescope import sc as tsc
from tmescope._errors import TmescopeWarning
from tmescope.bulk import build_reference, deconvolve

if TYPE_CHECKING:
    from pathlib import Path

TYPES = ["CD8Tcells", "CD4Tcells", "CD19CD20B", "IgGPlasma", "SPP1", "Myofibroblasts", "StalklikeECs", "NKcells"]
CELLS_PER_PROFILE = 8
UMIS_PER_CELL = 4000


@pytest.fixture(scope="module")
def crc(reference_dir: Path) -> ad.AnnData:
    folder = reference_dir / "crc_scrna_pseudobulk_lee2020_iobr"
    counts = pd.read_csv(folder / "pseudobulk_counts.tsv.gz", sep="\t", index_col=0)
    samples = pd.read_csv(folder / "pseudobulk_samples.tsv", sep="\t", index_col=0).loc[counts.columns]
    data = ad.AnnData(counts.T.to_numpy(np.float64), obs=samples, var=pd.DataFrame(index=counts.index))
    return data[data.obs["cell_type"].isin(TYPES).to_numpy()].copy()


def _cells(profiles: ad.AnnData, rng: np.random.Generator) -> ad.AnnData:
    blocks, obs = [], []
    for name, row in zip(profiles.obs_names, np.asarray(profiles.X), strict=True):
        p = row / row.sum()
        blocks.append(sparse.csr_matrix(rng.multinomial(UMIS_PER_CELL, p, size=CELLS_PER_PROFILE).astype(np.float32)))
        meta = profiles.obs.loc[name]
        obs += [{"patient": meta["patient"], "cell_type": meta["cell_type"]}] * CELLS_PER_PROFILE
    frame = pd.DataFrame(obs, index=[f"cell{i}" for i in range(len(obs))])
    return ad.AnnData(sparse.vstack(blocks).tocsr(), obs=frame, var=pd.DataFrame(index=profiles.var_names.copy()))


def test_pseudobulk_to_reference_round_trip(crc: ad.AnnData) -> None:
    rng = np.random.default_rng(0)
    patients = sorted(crc.obs["patient"].unique())
    test_p = patients[::4]
    train = crc[~crc.obs["patient"].isin(test_p).to_numpy()].copy()
    test = crc[crc.obs["patient"].isin(test_p).to_numpy()].copy()
    raw = _cells(train, rng)
    cells = ad.AnnData(raw.X.copy(), obs=raw.obs.copy(), var=raw.var.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmescopeWarning)  # 2019 gene symbols mapped to current HGNC symbols
        cells = tsc.prepare_cells(cells, sample_key="patient")
    pb = tsc.pseudobulk(cells, groupby="cell_type")
    # the sums are exact: every (patient, type) pseudobulk equals the sum of its simulated cells
    assert len(pb) == len(train)
    assert (pb.obs["n_cells"] == CELLS_PER_PROFILE).all()
    counts = cells.layers["counts"]
    for name in pb.obs_names[:: max(1, len(pb) // 10)]:
        patient, cell_type = pb.obs.loc[name, ["patient", "cell_type"]]
        members = ((cells.obs["patient"] == patient) & (cells.obs["cell_type"] == cell_type)).to_numpy()
        np.testing.assert_array_equal(pb[name].X.ravel(), np.asarray(counts[members].sum(axis=0)).ravel())
    # genes whose symbols the harmonisation could not map are dropped; at most a small share of the UMIs
    assert (pb.X.sum(axis=1) > 0.98 * CELLS_PER_PROFILE * UMIS_PER_CELL).all()
    ref = build_reference(pb, groupby="cell_type", sample_key="patient", n_markers=40)
    assert sorted(ref.cell_types) == sorted(TYPES)
    # mixtures of held-out patients' original profiles (CPM) with known mRNA proportions
    rows, truth = [], []
    for p in test_p:
        sub = test[test.obs["patient"] == p]
        prof = sub.X / sub.X.sum(axis=1, keepdims=True) * 1e6
        for _ in range(3):
            w = rng.dirichlet(np.ones(sub.n_obs))
            rows.append(w @ prof)
            truth.append(pd.Series(w, index=sub.obs["cell_type"].to_numpy()))
    mix = ad.AnnData(np.vstack(rows), var=pd.DataFrame(index=test.var_names.copy()))
    mix.uns["tmescope_input"] = {"scale": "linear", "pseudocount": None, "log_base": None}
    got = deconvolve(mix, reference=ref, n_boot=0)
    t = pd.DataFrame(truth).reindex(columns=ref.cell_types).fillna(0.0).to_numpy()
    est = got[ref.cell_types].to_numpy()
    r = np.corrcoef(est.ravel(), t.ravel())[0, 1]
    rmse = float(np.sqrt(np.mean((est - t) ** 2)))
    assert r > 0.9, r  # r = 0.957, RMSE = 0.035 at seed 0
    assert rmse < 0.08, rmse
