"""score_signatures over AnnData: dense/sparse, chunks, threads, coverage, keys, errors."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import tmescope
from tmescope import signatures
from tmescope._registry import methods
from tmescope.scoring import METHODS, score_signatures, ssgsea

GENES = [f"G{i}" for i in range(300)]
SETS = {
    "a": GENES[:20],
    "b": GENES[50:130],
    "c": [*GENES[200:205], "MISSING1", "MISSING2"],
    "d": ["MISSING3", "MISSING4", GENES[0]],
}


@pytest.fixture
def adata(rng) -> ad.AnnData:
    X = rng.gamma(1.0, size=(37, 300)).round(1)
    X[:, 10] = 0.0  # a constant gene
    return ad.AnnData(X, obs=pd.DataFrame(index=[f"s{i}" for i in range(37)]), var=pd.DataFrame(index=GENES))


@pytest.mark.parametrize("method", METHODS)
def test_dense_sparse_chunks_and_threads_agree_exactly(adata, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tmescope.CoverageWarning)
        ref = score_signatures(adata.copy(), sets=SETS, method=method, chunk_size=1000, n_jobs=1)
        for chunk, jobs, X in [
            (1, 2, adata.X),
            (7, 2, sparse.csr_matrix(adata.X)),
            (16, 1, sparse.csc_matrix(adata.X)),
        ]:
            other = ad.AnnData(X, obs=adata.obs, var=adata.var)
            got = score_signatures(other, sets=SETS, method=method, chunk_size=chunk, n_jobs=jobs)
            pd.testing.assert_frame_equal(got, ref, check_exact=True)


def test_matches_kernel_and_writes_only_documented_keys(adata):
    before = adata.copy()
    with pytest.warns(
        tmescope.CoverageWarning, match=r"1 gene set\(s\) are below the coverage floor.*d \(1/3\)"
    ) as rec:
        df = score_signatures(adata, sets=SETS, normalize=True)
    assert rec[0].filename == __file__
    assert set(adata.obsm) == {"scores_ssgsea"}
    assert set(adata.uns) == {"coverage_ssgsea"}
    np.testing.assert_array_equal(adata.X, before.X)
    assert df.index.equals(adata.obs_names)
    assert list(df.columns) == list(SETS)
    pd.testing.assert_frame_equal(adata.obsm["scores_ssgsea"], df)
    idx = [np.array([GENES.index(g) for g in SETS[k] if g in GENES]) for k in "abc"]
    np.testing.assert_allclose(df[["a", "b", "c"]].to_numpy(), ssgsea(adata.X, idx, normalize=True), rtol=1e-12)
    assert df["d"].isna().all()
    cov = adata.uns["coverage_ssgsea"]
    assert list(cov.columns) == ["set", "n_genes", "n_present", "coverage", "below_floor"]
    assert cov.set_index("set").loc["c", "n_present"] == 5
    assert cov.set_index("set").loc["c", "coverage"] == pytest.approx(5 / 7)
    assert cov["below_floor"].tolist() == [False, False, False, True]


def test_key_added_copy_and_set_selection(adata):
    out = score_signatures(adata, sets={"a": SETS["a"]}, method="mean_z", key_added="mine", copy=True)
    assert isinstance(out, ad.AnnData)
    assert "mine" in out.obsm
    assert "coverage_mine" in out.uns
    assert not adata.obsm
    genes = list(signatures.get("cytolytic_activity_rooney2015").genes)
    bulk = ad.AnnData(np.abs(adata.X[:, :2]) + 1, var=pd.DataFrame(index=genes))
    df = score_signatures(bulk, sets="cytolytic_activity_rooney2015", method="singscore", min_coverage=1.0)
    assert list(df.columns) == ["cytolytic_activity_rooney2015"]


def test_collection_name_scores_real_data_with_coverage(reference_dir):
    tpm = pd.read_csv(reference_dir / "epic" / "racle2017_melanoma_LN_expression_TPM.tsv", sep="\t", index_col=0)
    adata = ad.AnnData(np.log2(tpm.T.to_numpy() + 1), var=pd.DataFrame(index=tpm.index))
    df = score_signatures(adata, sets="bagaev2021")
    assert list(df.columns) == list(signatures.get_sets(collection="bagaev2021"))
    assert df.notna().all().all()
    assert (adata.uns["coverage_ssgsea"]["coverage"] > 0.8).all()


def test_errors_name_the_fix(adata):
    with pytest.raises(ValueError, match="expected one of ssgsea, singscore, mean_z"):
        score_signatures(adata, sets=SETS, method="gsva")
    with pytest.raises(ValueError, match="method='ssgsea' only"):
        score_signatures(adata, sets=SETS, method="singscore", normalize=True)
    with pytest.raises(KeyError, match=r"Layer .counts. not in adata\.layers"):
        score_signatures(adata, sets=SETS, layer="counts")
    with pytest.raises(KeyError, match="list_sets"):
        score_signatures(adata, sets="no_such_set")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dup = ad.AnnData(adata.X[:, :3], var=pd.DataFrame(index=["A", "A", "B"]))
    with pytest.raises(ValueError, match="must be unique"):
        score_signatures(dup, sets={"x": ["A"]})
    bad = adata.copy()
    bad.X[3, 4] = np.nan
    with pytest.raises(ValueError, match="observation 3"):
        score_signatures(bad, sets={"a": SETS["a"]})
    with pytest.raises(TypeError, match="must be an AnnData"):
        score_signatures(adata.X, sets=SETS)


def test_methods_are_registered():
    reg = methods("scoring")
    assert set(reg["name"]) >= set(METHODS)


def test_backed_h5ad_reads_chunks_and_matches_memory(adata, tmp_path):
    path = tmp_path / "x.h5ad"
    adata.write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tmescope.CoverageWarning)
        want = score_signatures(adata.copy(), sets=SETS, method="singscore")
        got = score_signatures(backed, sets=SETS, method="singscore", chunk_size=10)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    backed.file.close()


def test_records_library_version_in_provenance(adata):
    from tmescope._provenance import Provenance, collect

    prov = Provenance("test")
    with collect(prov):
        score_signatures(adata, sets={"a": SETS["a"]}, method="singscore")
    assert prov.resources["signature_library"]["version"] == signatures.LIBRARY_VERSION
    assert prov.params["scoring"][0]["method"] == "singscore"


def test_results_survive_h5ad_round_trip_and_threads_are_restored(adata, tmp_path):
    import numba

    before = numba.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tmescope.CoverageWarning)
        df = score_signatures(adata, sets=SETS, n_jobs=1)
    assert numba.get_num_threads() == before
    adata.write_h5ad(tmp_path / "scored.h5ad")
    back = ad.read_h5ad(tmp_path / "scored.h5ad")
    pd.testing.assert_frame_equal(back.obsm["scores_ssgsea"], df)
    assert back.uns["coverage_ssgsea"]["n_present"].tolist() == [20, 80, 5, 1]
