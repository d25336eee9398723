"""Kernel tests: ssGSEA, singscore and mean z against slow, obvious implementations."""

from __future__ import annotations

import numpy as np
import pytest
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
