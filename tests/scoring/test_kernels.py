"""Kernel tests: ssGSEA, singscore and mean z against slow, obvious implementations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from tmescope.scoring import mean_z, singscore, ssgsea


def _gsva_walk(x: np.ndarray, genes: np.ndarray, alpha: float) -> float:
    """GSVA 1.46 `.rndWalk`, literally: average ranks truncated to int, stable decreasing order, cumsums."""
    r = stats.rankdata(x, method="average").astype(int)
    order = np.lexsort((np.arange(x.size), -r))  # decreasing rank, ties in column order
    inset = np.isin(order, genes)
    w = np.abs(r[order]) ** alpha * inset
    cdf_in = np.cumsum(w) / w.sum()
    cdf_out = np.cumsum(~inset) / (~inset).sum()
    return float(np.sum(cdf_in - cdf_out))


@pytest.mark.parametrize("alpha", [0.25, 1.0, 0.0])
def test_ssgsea_matches_random_walk_with_ties(rng, alpha):
    X = rng.gamma(1.0, size=(12, 300)).round(1)  # rounding makes many ties
    sets = [rng.choice(300, size=k, replace=False) for k in (3, 17, 60)]
    got = ssgsea(X, sets, alpha=alpha)
    want = np.array([[_gsva_walk(x, s, alpha) for s in sets] for x in X])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9)


def test_ssgsea_normalize_divides_by_whole_matrix_range(rng):
    X = rng.normal(size=(8, 200))
    sets = [rng.choice(200, size=20, replace=False) for _ in range(4)]
    es = ssgsea(X, sets)
    np.testing.assert_allclose(ssgsea(X, sets, normalize=True), es / (es.max() - es.min()))


def test_ssgsea_is_rank_based_and_ignores_duplicate_indices(rng):
    X = rng.normal(size=(5, 100))
    sets = [np.array([1, 2, 3, 4])]
    np.testing.assert_allclose(ssgsea(np.exp(X), sets), ssgsea(X, sets))
    np.testing.assert_allclose(ssgsea(X, [np.array([1, 2, 2, 3, 4, 4])]), ssgsea(X, sets))


def test_ssgsea_rejects_bad_input(rng):
    X = rng.normal(size=(3, 10))
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        ssgsea(X, [np.array([0, 1])])
    with pytest.raises(ValueError, match=r"outside 0\.\.9"):
        ssgsea(rng.normal(size=(3, 10)), [np.array([0, 10])])
    with pytest.raises(TypeError, match="dense numpy array"):
        ssgsea([[1.0, 2.0]], [np.array([0])])


def test_singscore_matches_definition(rng):
    X = rng.gamma(1.0, size=(6, 150)).round(1)
    s = rng.choice(150, size=25, replace=False)
    got = singscore(X, [s]).ravel()
    n, m = 150, 25
    for i, x in enumerate(X):
        r = stats.rankdata(x, method="min")
        low, high = (m + 1) / 2, (2 * n - m + 1) / 2
        assert got[i] == pytest.approx((r[s].mean() - low) / (high - low) - 0.5, abs=1e-12)


def test_mean_z_matches_definition(rng):
    X = rng.normal(size=(20, 40))
    X[:, 5] = 3.0  # constant gene contributes z = 0
    s = np.array([1, 5, 7, 9])
    z = (X - X.mean(axis=0)) / np.where(X.std(axis=0, ddof=1) > 0, X.std(axis=0, ddof=1), 1.0)
    np.testing.assert_allclose(mean_z(X, [s]).ravel(), z[:, s].mean(axis=1))


@settings(max_examples=60, deadline=None)
@given(
    data=hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=3, max_side=40), elements=st.integers(0, 6)
    ),
    seed=st.integers(0, 2**16),
)
def test_ssgsea_and_singscore_match_oracles_on_heavily_tied_data(data, seed):
    rng = np.random.default_rng(seed)
    n = data.shape[1]
    sets = [rng.choice(n, size=int(rng.integers(1, n)), replace=False) for _ in range(3)]
    got = ssgsea(data, sets)
    want = np.array([[_gsva_walk(x, s, 0.25) for s in sets] for x in data])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    ss = singscore(data, sets)
    for i, x in enumerate(data):
        r = stats.rankdata(x, method="min")
        for j, s in enumerate(sets):
            m = s.size
            low, high = (m + 1) / 2, (2 * n - m + 1) / 2
            assert ss[i, j] == pytest.approx((r[s].mean() - low) / (high - low) - 0.5, abs=1e-12)


def test_scores_follow_rows_and_ignore_monotone_transforms(rng):
    X = rng.gamma(1.0, size=(9, 120)).round(2)
    sets = [rng.choice(120, size=15, replace=False) for _ in range(3)]
    perm = rng.permutation(9)
    np.testing.assert_array_equal(ssgsea(X[perm], sets), ssgsea(X, sets)[perm])
    np.testing.assert_array_equal(ssgsea(np.log2(X + 1), sets), ssgsea(X, sets))
    np.testing.assert_array_equal(singscore(X.astype(np.float32), sets), singscore(X, sets))
