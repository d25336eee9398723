from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import nnls

from tmescope._errors import AutoFixWarning, InputError, ScaleError
from tmescope.bulk import deconvolve, get_reference, methods, references
from tmescope.bulk._solvers import simplex_ls_batch

from .conftest import synthetic_mixtures


@pytest.mark.parametrize("reference", ["til10", "safetme"])
@pytest.mark.parametrize("method", ["epic", "nnls"])
def test_synthetic_mixtures_recovered_within_002(reference, method):
    adata, truth = synthetic_mixtures(reference, 12, seed=1)
    got = deconvolve(adata, method=method, reference=reference, n_boot=0)
    assert list(got.columns) == list(truth.columns)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-9)
    assert np.abs(got.to_numpy() - truth.to_numpy()).max() < 0.02
    assert (adata.obs["deconvolution_fit"] > 0.99).all()
    assert (adata.obs["deconvolution_flag"] == "").all()


def test_svr_recovers_synthetic_mixtures():
    adata, truth = synthetic_mixtures("til10", 6, seed=2)
    got = deconvolve(adata, method="svr", n_boot=0)
    # nu-SVR is robust rather than exact: its epsilon-insensitive loss leaves a small bias on clean mixtures
    assert np.abs(got.to_numpy() - truth.to_numpy()).max() < 0.05
    assert np.corrcoef(got.to_numpy().ravel(), truth.to_numpy().ravel())[0, 1] > 0.98


def test_interval_coverage_on_noisy_mixtures():
    adata, truth = synthetic_mixtures("til10", 30, seed=3, noise=0.15)
    deconvolve(adata, n_boot=200, seed=0)
    low, high = adata.obsm["fractions_ci_low"], adata.obsm["fractions_ci_high"]
    est = adata.obsm["fractions"]
    assert (low.to_numpy() <= est.to_numpy() + 1e-12).all()
    assert (est.to_numpy() <= high.to_numpy() + 1e-12).all()
    covered = (low.to_numpy() - 1e-9 <= truth.to_numpy()) & (truth.to_numpy() <= high.to_numpy() + 1e-9)
    assert covered.mean() >= 0.85, covered.mean()
    # intervals are informative, not [0, 1]
    assert np.median(high.to_numpy() - low.to_numpy()) < 0.1


def test_same_seed_same_result_and_njobs_independent():
    adata, _ = synthetic_mixtures("til10", 40, seed=4, noise=0.2)
    a = adata.copy()
    b = adata.copy()
    c = adata.copy()
    deconvolve(a, n_boot=50, seed=7, n_jobs=1)
    deconvolve(b, n_boot=50, seed=7, n_jobs=2)
    deconvolve(c, n_boot=50, seed=8, n_jobs=1)
    for key in ("fractions", "fractions_ci_low", "fractions_ci_high"):
        pd.testing.assert_frame_equal(a.obsm[key], b.obsm[key])
    assert not a.obsm["fractions_ci_low"].equals(c.obsm["fractions_ci_low"])


def test_sample_result_independent_of_other_samples():
    adata, _ = synthetic_mixtures("til10", 10, seed=5, noise=0.2)
    whole = deconvolve(adata, n_boot=30, seed=1)
    sub = adata[[3, 7]].copy()
    deconvolve(sub, n_boot=30, seed=1)
    pd.testing.assert_frame_equal(sub.obsm["fractions_ci_high"], adata.obsm["fractions_ci_high"].iloc[[3, 7]])
    pd.testing.assert_frame_equal(sub.obsm["fractions"], whole.iloc[[3, 7]])


def test_sparse_input_and_copy_leave_input_unchanged():
    adata, _ = synthetic_mixtures("til10", 3, seed=6)
    adata.X = sp.csr_matrix(adata.X)
    before = adata.X.copy()
    got = deconvolve(adata, n_boot=5, copy=True)
    assert "fractions" not in adata.obsm
    assert abs(adata.X - before).sum() == 0
    assert got.shape == (3, 11)
    assert list(got.index) == list(adata.obs_names)


def test_log_input_never_unlogged_silently():
    adata, truth = synthetic_mixtures("til10", 3, seed=7)
    logged = adata.copy()
    logged.X = np.log2(logged.X + 1.0)
    logged.uns["tmescope_input"] = {"scale": "log2", "pseudocount": 1.0, "log_base": 2.0}
    with pytest.warns(AutoFixWarning, match="un-logged the input with 2\\^x - 1"):
        got = deconvolve(logged, n_boot=0)
    assert np.abs(got.to_numpy() - truth.to_numpy()).max() < 0.02
    # undeclared: converted only with the same warning (detected scale), never silently
    del logged.uns["tmescope_input"]
    with pytest.warns(AutoFixWarning, match="un-logged"):
        deconvolve(logged, n_boot=0)


def test_ambiguous_log_base_refused():
    adata, _ = synthetic_mixtures("til10", 3, seed=7)
    adata.X = np.log(adata.X + 1.0)
    adata.uns["tmescope_input"] = {"scale": "log_other", "pseudocount": 1.0, "log_base": None}
    with pytest.raises(ScaleError, match="base"):
        deconvolve(adata, n_boot=0)


def test_centred_input_refused():
    adata, _ = synthetic_mixtures("til10", 4, seed=8)
    adata.X = adata.X - adata.X.mean(axis=0)
    adata.uns["tmescope_input"] = {"scale": "centered", "pseudocount": None, "log_base": None}
    with pytest.raises(ScaleError, match="centred"):
        deconvolve(adata, n_boot=0)


def test_poor_fit_flagged():
    adata, _ = synthetic_mixtures("til10", 4, seed=9)
    rng = np.random.default_rng(0)
    adata.X = rng.permuted(adata.X, axis=1)  # destroys the signature structure
    deconvolve(adata, n_boot=0)
    assert (adata.obs["deconvolution_flag"].str.contains("poor_fit")).any()


def test_bad_arguments():
    adata, _ = synthetic_mixtures("til10", 2, seed=10)
    with pytest.raises(InputError, match="Unknown deconvolution method"):
        deconvolve(adata, method="cibersortx")
    with pytest.raises(InputError, match="Unknown reference"):
        deconvolve(adata, reference="lm22")
    with pytest.raises(InputError, match="ci"):
        deconvolve(adata, ci=95)
    few = ad.AnnData(np.ones((1, 3)), var=pd.DataFrame(index=["CD8A", "CD3E", "MS4A1"]))
    few.uns["tmescope_input"] = {"scale": "linear", "pseudocount": None, "log_base": None}
    with pytest.raises(InputError, match="signature genes"):
        deconvolve(few)


def test_solver_matches_scipy_nnls_and_respects_cap(rng):
    for _ in range(30):
        k = int(rng.integers(2, 10))
        R = rng.gamma(0.5, 10, size=(40, k))
        y = R @ (rng.dirichlet(np.ones(k)) * rng.uniform(0.5, 1.5)) + rng.normal(0, 1, 40)
        G, h = (R.T @ R)[None], (R.T @ y)[None]
        np.testing.assert_allclose(simplex_ls_batch(G, h, 0.0)[0], nnls(R, y)[0], atol=1e-8)
        capped = simplex_ls_batch(G, h, 1.0)[0]
        assert capped.min() >= 0
        assert capped.sum() <= 1 + 1e-9


def test_registry_and_references():
    m = methods()
    assert {"estimate", "mcp_counter", "deconvolve"} <= set(m["name"])
    refs = references()
    assert refs.set_index("name").loc["til10", "n_cell_types"] == 10
    assert refs.set_index("name").loc["safetme", "n_genes"] >= 900
    til = get_reference("til10")
    assert "cd8_t" in til.cell_types
