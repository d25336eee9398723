from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

import tmescope
from tmescope import _keys
from tmescope.subtype import (
    IMMUNE,
    STROMAL,
    SUBTYPES,
    classify_subtype,
    make_subtype_reference,
    mean_abs_deviation,
    median_scale,
    simulate_scores,
)
from tmescope.subtype._denovo import knn_vote, name_clusters
from tmescope.subtype._phenotype import CD8_GENES, TGFB_GENES, phenotype_rule


def _adata(scores: pd.DataFrame) -> ad.AnnData:
    adata = ad.AnnData(obs=pd.DataFrame(index=scores.index.astype(str)))
    adata.obsm[_keys.OBSM_SUBTYPE_SCORES] = scores
    return adata


# --- scaling -----------------------------------------------------------------------------------


def test_mad_is_pandas1_mean_absolute_deviation(rng):
    x = rng.normal(size=(50, 3))
    frame = pd.DataFrame(x)
    # pandas < 2.0 DataFrame.mad(): mean absolute deviation around the mean
    expected = (frame - frame.mean()).abs().mean().to_numpy()
    np.testing.assert_allclose(mean_abs_deviation(x), expected)
    # not the median absolute deviation
    from scipy.stats import median_abs_deviation

    assert not np.allclose(mean_abs_deviation(x), median_abs_deviation(x))


def test_median_scale_constant_column_is_zero():
    x = np.array([[1.0, 3.0], [2.0, 3.0], [4.0, 3.0]])
    out = median_scale(x, np.median(x, axis=0), mean_abs_deviation(x), clip=1.0)
    assert out[:, 1].tolist() == [0.0, 0.0, 0.0]
    assert out.max() == 1.0


# --- kernels -----------------------------------------------------------------------------------


def test_knn_vote_tie_goes_to_nearest_label():
    ref = np.array([[0.0], [1.0], [-1.5], [2.0]])
    labels = np.array(["a", "b", "a", "b"], dtype=object)
    lab, share, nn, dist = knn_vote(ref, labels, np.array([[0.1]]), k=4)
    assert lab.tolist() == ["a"]
    assert share.tolist() == [0.5]
    assert nn[0].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(dist[0], [0.1, 0.9, 1.6, 1.9])


def test_knn_vote_exclude_one_per_query():
    ref = np.array([[0.0], [0.1], [5.0]])
    _, _, nn, _ = knn_vote(ref, np.array(["a", "a", "b"]), np.array([[0.0], [4.0]]), k=1, exclude=np.array([0, -1]))
    assert nn[:, 0].tolist() == [1, 2]


def test_knn_vote_exclude_self():
    ref = np.array([[0.0], [0.1], [5.0]])
    _, _, nn, _ = knn_vote(ref, np.array(["a", "a", "b"]), ref, k=1, exclude_self=True)
    assert nn[:, 0].tolist() == [1, 0, 1]


def test_name_clusters_three_clusters_by_quadrant():
    x = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
    assert name_clusters(x, np.array([0, 1, 2]), [0], [1]) == {0: "IE/F", 1: "IE", 2: "D"}


# --- de novo -----------------------------------------------------------------------------------


def test_de_novo_recovers_simulated_subtypes_and_is_deterministic():
    scores, truth = simulate_scores(n_per_subtype=25, seed=3)
    a1, a2 = _adata(scores), _adata(scores)
    r1 = classify_subtype(a1, seed=7)
    r2 = classify_subtype(a2, seed=7)
    assert r1.equals(r2)
    pd.testing.assert_frame_equal(a1.uns[_keys.UNS_SUBTYPE]["scan"], a2.uns[_keys.UNS_SUBTYPE]["scan"])
    assert (r1["subtype"].astype(str) == truth).mean() >= 0.9
    assert a1.obs[_keys.OBS_SUBTYPE].cat.categories.tolist() == list(SUBTYPES)
    assert a1.obsm[_keys.OBSM_SUBTYPE_SCALED].shape == (100, 29)
    assert a1.obsm[_keys.OBSM_EMBEDDING].shape == (100, 2)
    assert r1["confidence"].between(0, 1).all()
    info = a1.uns[_keys.UNS_SUBTYPE]
    assert info["method"] == "de_novo"
    assert info["scan"]["chosen"].sum() == 1
    nearest = info["nearest"]
    assert list(nearest.columns) == ["sample", "rank", "neighbour", "distance", "subtype", "source"]
    assert (nearest["sample"] != nearest["neighbour"]).all()


def test_de_novo_louvain_deterministic_and_recovers():
    scores, truth = simulate_scores(n_per_subtype=25, seed=4)
    r1 = classify_subtype(_adata(scores), seed=1, method="louvain")
    r2 = classify_subtype(_adata(scores), seed=1, method="louvain")
    assert r1.equals(r2)
    assert adjusted_rand_score(truth, r1["subtype"]) > 0.75


def test_copy_leaves_input_unchanged():
    scores, _ = simulate_scores(n_per_subtype=10)
    adata = _adata(scores)
    out = classify_subtype(adata, seed=0, copy=True)
    assert isinstance(out, ad.AnnData)
    assert _keys.OBS_SUBTYPE in out.obs
    assert _keys.OBS_SUBTYPE not in adata.obs
    assert set(adata.obsm) == {_keys.OBSM_SUBTYPE_SCORES}


def _liu(reference_dir):
    expr = pd.read_csv(reference_dir / "icb_liu2019_melanoma_pd1" / "expression_log2tpm.tsv.gz", sep="\t", index_col=0)
    tpm = np.clip(np.exp2(expr.fillna(expr.min().min())) - 0.001, 0, None).T
    return tpm.astype(float)


def _score(tpm: np.ndarray, samples, genes) -> pd.DataFrame:
    adata = ad.AnnData(
        np.asarray(tpm, dtype=float), obs=pd.DataFrame(index=list(samples)), var=pd.DataFrame(index=list(genes))
    )
    adata.uns["tmescope_input"] = {"scale": "linear", "pseudocount": None, "log_base": None}
    return tmescope.subtype.score_subtype_signatures(adata)


@pytest.fixture(scope="module")
def liu_scores(reference_dir):
    tpm = _liu(reference_dir)
    return tpm, _score(tpm.to_numpy(), tpm.index, tpm.columns)


def test_de_novo_recovers_planted_subtypes_in_real_profiles(liu_scores):
    """Planted subtypes: each sample mixes (in TPM) three real Liu 2019 melanoma profiles of one immune/stromal
    quadrant of the real cohort; the four quadrants are the planted IE/F, IE, F and D."""
    tpm, scores = liu_scores
    x = median_scale(scores.to_numpy(), np.median(scores, axis=0), mean_abs_deviation(scores.to_numpy()))
    x = pd.DataFrame(x, index=scores.index, columns=scores.columns)
    imm, strom = x[list(IMMUNE)].mean(axis=1), x[list(STROMAL)].mean(axis=1)
    cut = 0.4
    quadrants = {
        "IE/F": (imm > cut) & (strom > cut),
        "IE": (imm > cut) & (strom < -cut),
        "F": (imm < -cut) & (strom > cut),
        "D": (imm < -cut) & (strom < -cut),
    }
    assert all(int(m.sum()) >= 8 for m in quadrants.values())
    rng = np.random.default_rng(0)
    rows, truth = [], []
    for label, mask in quadrants.items():
        donors = tpm.index[mask.to_numpy()]
        for _ in range(30):
            pick = rng.choice(donors, size=3, replace=False)
            w = rng.dirichlet(np.ones(3))
            rows.append(w @ tpm.loc[pick].to_numpy())
            truth.append(label)
    sim = _score(np.array(rows), [f"P{i:03d}" for i in range(len(rows))], tpm.columns)
    adata = _adata(sim)
    result = classify_subtype(adata, seed=0)
    called = result["subtype"].astype(str).to_numpy()
    assert adjusted_rand_score(truth, called) >= 0.6
    assert (called == np.array(truth)).mean() >= 0.8
    again = classify_subtype(_adata(sim), seed=0)
    assert again.equals(result)


# --- reference mode ----------------------------------------------------------------------------


def test_reference_knn_calls_and_vote_share():
    scores, truth = simulate_scores(n_per_subtype=50, seed=10)
    is_query = np.arange(len(scores)) % 5 == 0
    ref = make_subtype_reference(scores[~is_query], truth[~is_query], name="toy reference")
    query_scores, query_truth = scores[is_query], truth[is_query]
    adata = _adata(query_scores.rename(index=lambda s: f"Q{s}"))
    table = classify_subtype(adata, reference=ref, k=35)
    assert (table["subtype"].astype(str).to_numpy() == query_truth.to_numpy()).mean() >= 0.9
    info = adata.uns[_keys.UNS_SUBTYPE]
    assert info["method"] == "reference_knn"
    assert info["reference"] == "toy reference"
    nearest = info["nearest"]
    assert len(nearest) == 10 * adata.n_obs
    assert nearest["neighbour"].isin(ref.scaled.index).all()
    # confidence = share of the 35 neighbours voting for the call
    first = adata.obs_names[0]
    assert info["k"] == 20  # capped at half the smallest reference subtype (40 samples)
    assert info["k_requested"] == 35
    top = knn_vote(ref.scaled.to_numpy(), ref.labels.to_numpy(), adata.obsm[_keys.OBSM_SUBTYPE_SCALED].iloc[:1], k=20)
    assert top[1][0] == pytest.approx(table.loc[first, "confidence"])
    assert np.abs(adata.obsm[_keys.OBSM_SUBTYPE_SCALED].to_numpy()).max() <= 2.0
    assert set(info["reference_embedding"].columns) == {"sample", "x", "y", "subtype"}


def test_reference_single_sample_works():
    ref_scores, ref_truth = simulate_scores(n_per_subtype=20, seed=1)
    ref = make_subtype_reference(ref_scores, ref_truth, name="r")
    one = _adata(ref_scores.iloc[[0]])
    table = classify_subtype(one, reference=ref, k=5)
    assert table.shape == (1, 2)


def test_errors_name_the_fix():
    adata = ad.AnnData(obs=pd.DataFrame(index=["a", "b"]))
    with pytest.raises(tmescope.MissingKeyError, match="score_subtype_signatures") as err:
        classify_subtype(adata)
    assert hasattr(tmescope.subtype, "score_subtype_signatures")
    del err
    scores, _ = simulate_scores(n_per_subtype=2)
    with pytest.raises(tmescope.InputError, match="at least 20 samples"):
        classify_subtype(_adata(scores))
    with pytest.raises(tmescope.InputError, match="lacks 1 of the 29"):
        classify_subtype(_adata(scores.drop(columns="CAF")))
    with pytest.raises(tmescope.InputTypeError, match="ReferenceCohort"):
        classify_subtype(_adata(scores), reference="tcga")
    with pytest.raises(tmescope.InputError, match="`k`"):
        classify_subtype(_adata(scores), k=0)


def test_missing_signatures_warn_then_refuse():
    scores, _ = simulate_scores(n_per_subtype=10)
    scores = scores.copy()
    scores.iloc[0, 0] = np.nan
    with pytest.warns(tmescope.CoverageWarning, match="Angiogenesis"):
        classify_subtype(_adata(scores), seed=0)
    scores.iloc[0, :5] = np.nan
    with pytest.raises(tmescope.InputError, match="more than 3"):
        classify_subtype(_adata(scores), seed=0)


# --- immune phenotype --------------------------------------------------------------------------


def test_phenotype_rule_cases():
    cd8 = np.array([2.0, 2.0, -0.2, -2.0, 0.3])
    tgfb = np.array([-1.0, 3.0, 1.0, 3.0, -0.5])
    assert phenotype_rule(cd8, tgfb).tolist() == ["inflamed", "excluded", "excluded", "desert", "inflamed"]


def _phenotype_adata(n=30, seed=0):
    rng = np.random.default_rng(seed)
    genes = list(CD8_GENES + TGFB_GENES) + [f"G{i}" for i in range(20)]
    x = rng.gamma(2.0, 5.0, size=(n, len(genes)))
    adata = ad.AnnData(x, obs=pd.DataFrame(index=[f"s{i}" for i in range(n)]), var=pd.DataFrame(index=genes))
    adata.uns["tmescope_input"] = {"scale": "linear", "pseudocount": None, "log_base": None}
    return adata


def test_immune_phenotype_cohort_and_reference():
    adata = _phenotype_adata()
    table = tmescope.subtype.immune_phenotype(adata)
    assert set(table["phenotype"]) <= {"inflamed", "excluded", "desert"}
    assert adata.uns[_keys.UNS_IMMUNE_PHENOTYPE]["kind"] == "bulk expression proxy"
    assert list(adata.obsm[_keys.OBSM_IMMUNE_PHENOTYPE].columns) == [
        "cd8_signal",
        "stromal_tgfb_signal",
        "cd8_scaled",
        "stromal_tgfb_scaled",
    ]
    scores, truth = simulate_scores(n_per_subtype=8)
    signals = adata.obsm[_keys.OBSM_IMMUNE_PHENOTYPE].iloc[:, :2]
    signals.index = scores.index[: adata.n_obs]
    ref = make_subtype_reference(scores.iloc[:30], truth.iloc[:30], name="r", phenotype=signals)
    one = adata[:1].copy()
    t1 = tmescope.subtype.immune_phenotype(one, reference=ref)
    assert t1["phenotype"].iloc[0] == table["phenotype"].iloc[0]
    with pytest.raises(tmescope.InputError, match="at least 10 samples"):
        tmescope.subtype.immune_phenotype(adata[:3].copy())


def test_immune_phenotype_low_coverage_refused():
    adata = _phenotype_adata()
    keep = [g for g in adata.var_names if g not in CD8_GENES[:3]]
    with pytest.raises(tmescope.InputError, match="Only 2 of the 5"):
        tmescope.subtype.immune_phenotype(adata[:, keep].copy())


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.01, 100.0), shift=st.floats(-1e4, 1e4), seed=st.integers(0, 1000))
def test_calls_invariant_to_affine_score_transforms(scale, shift, seed):
    """Median/MAD scaling removes any positive affine change of a signature's scores."""
    scores, truth = simulate_scores(n_per_subtype=10, seed=seed)
    ref = make_subtype_reference(scores, truth, name="r")
    moved = make_subtype_reference(scores * scale + shift, truth, name="r")
    np.testing.assert_allclose(ref.scaled.to_numpy(), moved.scaled.to_numpy(), atol=1e-6)
    query = _adata(scores.iloc[::7])
    query2 = _adata(scores.iloc[::7] * scale + shift)
    a = classify_subtype(query, reference=ref, k=5)
    b = classify_subtype(query2, reference=moved, k=5)
    assert a["subtype"].tolist() == b["subtype"].tolist()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_knn_vote_invariant_to_reference_row_order(seed):
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=(40, 3))
    labels = rng.choice(np.array(list(SUBTYPES), dtype=object), size=40)
    query = rng.normal(size=(5, 3))
    perm = rng.permutation(40)
    a = knn_vote(ref, labels, query, k=7)
    b = knn_vote(ref[perm], labels[perm], query, k=7)
    assert a[0].tolist() == b[0].tolist()
    np.testing.assert_allclose(a[1], b[1])
    np.testing.assert_allclose(a[3], b[3])


# --- oracles ---------------------------------------------------------------------------------------


def test_knn_vote_matches_sklearn_without_ties(rng):
    from sklearn.neighbors import KNeighborsClassifier

    ref = rng.normal(size=(200, 29))
    labels = rng.choice(np.array(list(SUBTYPES), dtype=object), size=200)
    query = rng.normal(size=(50, 29))
    lab, share, _, _ = knn_vote(ref, labels, query, k=9)
    model = KNeighborsClassifier(n_neighbors=9).fit(ref, labels)
    proba = model.predict_proba(query)
    top = np.sort(proba, axis=1)
    no_tie = top[:, -1] > top[:, -2]
    assert no_tie.sum() > 30
    assert (lab[no_tie] == model.predict(query)[no_tie]).all()
    np.testing.assert_allclose(share, proba.max(axis=1))


def test_correlation_kernel_matches_numpy(rng):
    from tmescope.subtype._denovo import _correlation

    x = rng.normal(size=(30, 29))
    np.testing.assert_allclose(_correlation(x), np.corrcoef(x), atol=1e-12)
