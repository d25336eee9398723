"""Agreement with liana 1.10.0's CellPhoneDB method on pbmc68k_reduced (golden file, see tests/data/crosstalk)."""

from __future__ import annotations

import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope.crosstalk import _infer, infer_crosstalk
from tmescope.crosstalk import _kernels as kernels

DATA = Path(__file__).resolve().parents[1] / "data"

KEY = ["source", "target", "ligand", "receptor"]


@pytest.fixture(scope="module")
def pbmc(reference_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file predates anndata's encoding metadata
        return ad.read_h5ad(reference_dir / "scanpy_pbmc68k_reduced" / "10x_pbmc68k_reduced.h5ad")


@pytest.fixture(scope="module")
def golden():
    g = pd.read_csv(DATA / "crosstalk" / "liana_cellphonedb_pbmc68k.tsv", sep="\t")
    return g.rename(columns={"ligand_complex": "ligand", "receptor_complex": "receptor"})


def _significant(table, column):
    return set(map(tuple, table.loc[table[column] <= 0.05, KEY].to_numpy()))


def test_same_interactions_and_means_as_liana(pbmc, golden):
    infer_crosstalk(pbmc, groupby="bulk_labels", layer="raw", n_perms=1000, seed=1337)
    res = pbmc.uns["crosstalk"]["results"]
    merged = res.merge(golden, on=KEY, how="outer", suffixes=("", "_liana"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged["_merge"].value_counts()
    for col in ("ligand_means", "receptor_means", "lr_means"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_liana"], rtol=0, atol=1e-6)
    ours, theirs = _significant(res, "pvalue"), _significant(golden, "cellphone_pvals")
    assert len(ours & theirs) / len(ours | theirs) >= 0.9


def test_same_pvalues_under_liana_permutations(pbmc, golden, monkeypatch):
    labels = pbmc.obs["bulk_labels"].astype(str)
    codes = labels.map({k: i for i, k in enumerate(sorted(labels.unique()))}).to_numpy(np.int32)
    rng = np.random.default_rng(1337)  # liana draws rng.permutation(n_cells) once per permutation
    perms = np.empty((1000, codes.size), dtype=np.int32)
    for b in range(1000):
        perms[b, rng.permutation(codes.size)] = codes  # liana moves cell perm[j] to the label of cell j

    def with_liana_perms(*args, **kwargs):
        return kernels.permutation_pvalues(*args, **{**kwargs, "permutations": perms})

    monkeypatch.setattr(_infer, "permutation_pvalues", with_liana_perms)
    infer_crosstalk(pbmc, groupby="bulk_labels", layer="raw", n_perms=1000, seed=1337, key_added="same")
    res = pbmc.uns["same"]["results"].merge(golden, on=KEY)
    assert _significant(res, "pvalue") == _significant(res, "cellphone_pvals")
    diff = (res["pvalue"] - res["cellphone_pvals"]).abs()
    complex_ = res["ligand"].str.contains("_") | res["receptor"].str.contains("_")
    # liana builds a complex's null from the subunit weakest in the observed data; CellPhoneDB (and tmescope)
    # take the weakest subunit in every permutation, so only complexes may differ beyond float32 ties.
    assert (diff[~complex_] <= 0.002).all()
    assert (diff == 0).mean() > 0.98
