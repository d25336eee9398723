from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tmescope._errors import InputError, InputTypeError, MissingKeyError, TmescopeWarning
from tmescope.crosstalk import RESULT_COLUMNS, infer_crosstalk, toy_cells


@pytest.fixture
def cells():
    return toy_cells(n_cells=240, seed=1, n_samples=2)


def _run(adata, **kw):
    kw.setdefault("seed", 4)
    infer_crosstalk(adata, groupby="cell_type", n_perms=200, **kw)
    return adata.uns["crosstalk"]["results"]


def test_planted_signals_are_found_per_sample(cells):
    res = _run(cells, sample_key="sample")
    assert list(res.columns) == list(RESULT_COLUMNS)
    assert sorted(res["sample"].unique()) == ["S1", "S2"]
    for sample, table in res.groupby("sample"):
        hits = table[table["fdr"] < 0.05]
        found = set(zip(hits["source"], hits["target"], hits["ligand"], hits["receptor"], strict=True))
        assert ("fibroblast", "T cell", "CXCL12", "CXCR4") in found, sample
        assert ("tumour", "T cell", "CD274", "PDCD1") in found, sample
        assert ("fibroblast", "T cell", "TGFB1", "TGFBR1_TGFBR2") in found, sample
        # PD-L1 is planted in tumour cells only: the consensus ranks that sender first
        pdl1 = table[(table["ligand"] == "CD274") & (table["receptor"] == "PDCD1") & (table["target"] == "T cell")]
        assert pdl1.sort_values("specificity_rank")["source"].iloc[0] == "tumour"
    assert res["magnitude_rank"].between(0, 1).all()
    assert res["specificity_fdr"].between(0, 1).all()


def test_same_seed_same_table_whatever_n_jobs_and_storage(cells):
    a = _run(cells.copy(), n_jobs=1)
    b = _run(cells.copy(), n_jobs=2)
    pd.testing.assert_frame_equal(a, b)
    sparse = cells.copy()
    sparse.X = sp.csr_matrix(sparse.X)
    pd.testing.assert_frame_equal(a, _run(sparse))
    noise = cells.copy()
    noise.X = np.log1p(np.random.default_rng(0).poisson(1.0, size=noise.shape)).astype(np.float32)
    p4, p5 = (_run(noise.copy(), seed=s)["pvalue"].to_numpy() for s in (4, 5))
    assert not np.array_equal(p4, p5)
    np.testing.assert_array_equal(p4, _run(noise.copy(), seed=4, n_jobs=2)["pvalue"].to_numpy())


def test_relabelling_groups_and_reordering_genes_does_not_change_scores(cells):
    base = _run(cells.copy())
    moved = cells[:, cells.var_names[::-1]].copy()
    moved.obs["cell_type"] = moved.obs["cell_type"].cat.rename_categories(lambda c: f"x_{c}")
    res = _run(moved)
    res["source"] = res["source"].str.removeprefix("x_")
    res["target"] = res["target"].str.removeprefix("x_")
    key = ["source", "target", "ligand", "receptor"]
    merged = base.merge(res, on=key, suffixes=("", "_b"))
    assert len(merged) == len(base) == len(res)
    np.testing.assert_allclose(merged["lr_means"], merged["lr_means_b"])


def test_copy_leaves_input_alone(cells):
    before = cells.X.copy()
    out = infer_crosstalk(cells, groupby="cell_type", n_perms=20, seed=0, copy=True)
    assert "crosstalk" not in cells.uns
    assert out is not None
    assert "crosstalk" in out.uns
    np.testing.assert_array_equal(cells.X, before)


def test_bad_inputs_name_the_fix(cells):
    with pytest.raises(MissingKeyError, match=r"'celltype' not in adata\.obs"):
        infer_crosstalk(cells, groupby="celltype")
    with pytest.raises(MissingKeyError, match=r"no \.raw"):
        infer_crosstalk(cells, groupby="cell_type", layer="raw")
    with pytest.raises(InputTypeError, match="AnnData"):
        infer_crosstalk(cells.to_df(), groupby="cell_type")
    scaled = cells.copy()
    scaled.X = scaled.X - scaled.X.mean(0)
    with pytest.raises(InputError, match="layer='raw'"):
        infer_crosstalk(scaled, groupby="cell_type")
    mouse = cells.copy()
    mouse.var_names = [g.capitalize() for g in mouse.var_names]
    with pytest.raises(InputError, match="HGNC symbols"):
        infer_crosstalk(mouse, groupby="cell_type")
    with pytest.raises(InputError, match="expr_prop"):
        infer_crosstalk(cells, groupby="cell_type", expr_prop=2)


def test_small_groups_are_left_out_with_a_warning(cells):
    cells.obs["cell_type"] = cells.obs["cell_type"].cat.add_categories("rare")
    cells.obs.iloc[:3, cells.obs.columns.get_loc("cell_type")] = "rare"
    with pytest.warns(TmescopeWarning, match="fewer than 5 cells.*rare"):
        res = _run(cells)
    assert "rare" not in set(res["source"]) | set(res["target"])


def test_writes_only_its_documented_keys(cells):
    before_obs, before_x = cells.obs.copy(), cells.X.copy()
    before = {k: set(getattr(cells, k).keys()) for k in ("uns", "obsm", "obsp", "layers")}
    infer_crosstalk(cells, groupby="cell_type", n_perms=10, seed=0)
    after = {k: set(getattr(cells, k).keys()) for k in ("uns", "obsm", "obsp", "layers")}
    assert after["uns"] - before["uns"] == {"crosstalk"}
    assert {k: v for k, v in after.items() if k != "uns"} == {k: v for k, v in before.items() if k != "uns"}
    pd.testing.assert_frame_equal(cells.obs, before_obs)
    np.testing.assert_array_equal(cells.X, before_x)
    assert set(cells.uns["crosstalk"]) == {"results", "params"}
