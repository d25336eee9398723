from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from tmescope._errors import CoverageWarning, ScaleError
from tmescope.bulk import estimate
from tmescope.bulk._estimate import _gene_sets, estimate_kernel, estimate_purity

from .conftest import read_gct

COLS = ["StromalScore", "ImmuneScore", "ESTIMATEScore"]


def _rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.abs(np.asarray(b)))


def _oracle(x: np.ndarray, hits: np.ndarray) -> float:
    """ESTIMATE 1.0.13's loop, transcribed literally (order, cumsum, sum of the running sum)."""
    n = x.size
    m = 10000.0 * rankdata(x, method="average") / n
    order = np.argsort(-m, kind="stable")
    tag = np.isin(order, hits).astype(float)
    corr = np.abs(m[order]) ** 0.25
    p_hit = tag * corr / (corr * tag).sum()
    p_miss = (1 - tag) / (n - hits.size)
    return float(np.sum(np.cumsum(p_hit - p_miss)))


def test_kernel_matches_literal_loop_with_ties(rng):
    X = rng.integers(0, 6, size=(4, 60)).astype(float)  # many ties
    sets = [rng.choice(60, 7, replace=False), rng.choice(60, 15, replace=False)]
    got = estimate_kernel(X, sets)
    want = np.array([[_oracle(X[i], s) for s in sets] for i in range(4)])
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize(
    ("gct", "expected"),
    [
        ("ov_filterCommonGenes_output_10412genes.gct.gz", "expected_ov_estimate_1.0.13_affymetrix.tsv"),
        ("hugo2016_filterCommonGenes_output_9873genes.gct.gz", "expected_hugo2016_rnaseq_estimate_1.0.13.tsv"),
    ],
)
def test_golden_filtered_gct(golden_dir, gct, expected):
    adata = read_gct(golden_dir / gct)
    want = pd.read_csv(golden_dir / expected, sep="\t", index_col=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)  # the Hugo case has 9,873 of 10,412 genes on purpose
        got = estimate(adata, copy=True)
    assert list(got.index) == list(want.index)
    assert _rel(got[["stromal_score", "immune_score", "estimate_score"]], want[COLS]) < 1e-6
    assert _rel(got["purity"], want.iloc[:, 3]) < 1e-6


def test_golden_ovarian_from_unfiltered_input(golden_dir):
    x = pd.read_csv(golden_dir / "ov_sample_input_17256genes.txt.gz", sep="\t")
    adata = ad.AnnData(x.T.to_numpy(float), obs=pd.DataFrame(index=x.columns), var=pd.DataFrame(index=x.index))
    adata.uns["tmescope_input"] = {"scale": "log2", "platform": "affymetrix"}
    estimate(adata)
    want = pd.read_csv(golden_dir / "expected_ov_estimate_1.0.13_affymetrix.tsv", sep="\t", index_col=0)
    got = adata.obsm["estimate"]
    assert _rel(got.to_numpy(), want.to_numpy()) < 1e-6
    assert adata.uns["estimate"]["n_universe_genes"] == 10412
    assert adata.uns["estimate"]["platform_affymetrix"] is True
    assert not adata.uns["estimate"]["purity_note"].startswith("approximate")


def test_golden_rnaseq_missing_genes_and_ties_via_reader(reference_dir, golden_dir):
    from tmescope.io import read_expression

    path = reference_dir / "icb_hugo2016_melanoma_pd1" / "expression_log2tpm.tsv.gz"
    adata = read_expression(path, harmonize=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        got = estimate(adata, copy=True)
    want = pd.read_csv(golden_dir / "expected_hugo2016_rnaseq_estimate_1.0.13.tsv", sep="\t", index_col=0)
    assert _rel(got[["stromal_score", "immune_score", "estimate_score"]], want[COLS]) < 1e-6
    # ESTIMATE's own (Affymetrix) curve, applied to RNA-seq only as a formula check
    assert _rel(got["purity"], want["TumorPurity_affymetrix_formula_NOT_VALID_FOR_RNASEQ"]) < 1e-6


def test_rnaseq_purity_is_labelled_approximate(golden_dir):
    adata = read_gct(golden_dir / "ov_filterCommonGenes_output_10412genes.gct.gz")
    estimate(adata)
    assert adata.uns["estimate"]["purity_note"].startswith("approximate")
    assert adata.uns["estimate"]["overlap"] == {"stromal": "141/141", "immune": "141/141"}


def test_scores_invariant_to_monotone_transform(golden_dir):
    adata = read_gct(golden_dir / "ov_filterCommonGenes_output_10412genes.gct.gz")
    a = estimate(adata, copy=True)
    lin = adata.copy()
    lin.X = np.exp2(lin.X)
    np.testing.assert_allclose(estimate(lin, copy=True).to_numpy(), a.to_numpy(), rtol=1e-12)


def test_matches_shared_ssgsea_without_ties(golden_dir):
    from tmescope.scoring import ssgsea

    adata = read_gct(golden_dir / "ov_filterCommonGenes_output_10412genes.gct.gz")
    sets = [adata.var_names.get_indexer(pd.Index(_gene_sets()[n])) for n in ("stromal", "immune")]
    sets = [s[s >= 0] for s in sets]
    np.testing.assert_allclose(estimate_kernel(adata.X, sets), ssgsea(np.ascontiguousarray(adata.X), sets), rtol=1e-10)


def test_centred_input_refused(golden_dir):
    adata = read_gct(golden_dir / "ov_filterCommonGenes_output_10412genes.gct.gz")
    adata.X = adata.X - adata.X.mean(axis=0)
    with pytest.raises(ScaleError, match="centred"):
        estimate(adata)


def test_low_universe_coverage_warns(golden_dir):
    adata = read_gct(golden_dir / "ov_filterCommonGenes_output_10412genes.gct.gz")[:, :3000].copy()
    with pytest.warns(CoverageWarning, match="3000 of ESTIMATE's 10412"):
        estimate(adata)


def test_copy_leaves_input_and_purity_formula():
    assert estimate_purity(np.array([0.0]))[0] == pytest.approx(np.cos(0.6049872018))
    adata = ad.AnnData(np.ones((1, 3)), var=pd.DataFrame(index=["A2M", "B2M", "C3"]))
    with pytest.warns(CoverageWarning):
        estimate(adata, copy=True)
    assert "estimate" not in adata.obsm
