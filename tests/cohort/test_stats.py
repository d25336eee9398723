"""Kernels of tmescope.cohort against lifelines, statsmodels, scikit-learn and hand computation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tmescope.cohort import _stats

DATA = Path(__file__).resolve().parents[1] / "data"
GOLDEN = DATA / "cohort" / "survival_lifelines.json"


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_logrank_hand_computed() -> None:
    # README.md in tests/data/cohort: O0 = 3, E0 = 1.15, V = 0.6775.
    r = _stats.logrank(np.arange(1.0, 7), np.array([1, 1, 1, 1, 1, 0]), np.array([0, 0, 0, 1, 1, 1]))
    assert r.observed[0] == 3
    assert r.expected[0] == pytest.approx(1.15)
    assert r.statistic == pytest.approx(3.4225 / 0.6775, rel=1e-12)
    assert r.p == pytest.approx(0.0246023, abs=1e-6)


def test_logrank_matches_lifelines_golden(golden: dict) -> None:
    d = pd.DataFrame(golden["data"])
    two = _stats.logrank(d["time"].to_numpy(), d["event"].to_numpy(), (d["group"] == "A").to_numpy())
    assert two.statistic == pytest.approx(golden["logrank_A_vs_rest"]["statistic"], rel=1e-9)
    assert two.p == pytest.approx(golden["logrank_A_vs_rest"]["p"], rel=1e-7)
    three = _stats.logrank(d["time"].to_numpy(), d["event"].to_numpy(), d["group"].to_numpy())
    assert three.df == 2
    assert three.statistic == pytest.approx(golden["logrank_3_groups"]["statistic"], rel=1e-9)


def test_cox_matches_lifelines_golden(golden: dict) -> None:
    d = pd.DataFrame(golden["data"])
    assert d["time"].duplicated().any()  # tied times: Efron's correction is exercised
    fit = _stats.cox_fit(d[["x", "age"]].to_numpy(), d["time"].to_numpy(), d["event"].to_numpy())
    assert fit.converged
    np.testing.assert_allclose(fit.beta, golden["cox"]["coef"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fit.se, golden["cox"]["se"], rtol=1e-5)
    p = 2 * stats.norm.sf(np.abs(fit.beta / fit.se))
    np.testing.assert_allclose(p, golden["cox"]["p"], rtol=1e-4)
    assert fit.loglik == pytest.approx(golden["cox"]["log_likelihood"], rel=1e-8)


def test_cox_matches_lifelines_live(rng: np.random.Generator) -> None:
    from lifelines import CoxPHFitter

    n = 80
    x = rng.normal(size=(n, 2))
    t = np.ceil(rng.exponential(10 * np.exp(-0.5 * x[:, 0])))
    e = (rng.random(n) < 0.7).astype(int)
    df = pd.DataFrame(x, columns=["a", "b"]).assign(T=t, E=e)
    ref = CoxPHFitter().fit(df, "T", "E")
    fit = _stats.cox_fit(x, t, e)
    np.testing.assert_allclose(fit.beta, ref.params_.to_numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fit.se, ref.standard_errors_.to_numpy(), rtol=1e-5)


def test_cox_separation_is_not_converged() -> None:
    t = np.arange(1.0, 9)
    e = np.ones(8)
    x = np.array([8.0, 7, 6, 5, 4, 3, 2, 1])  # higher x always dies first: monotone likelihood
    assert not _stats.cox_fit(x, t, e).converged


def test_kaplan_meier_matches_lifelines_golden(golden: dict) -> None:
    d = pd.DataFrame(golden["data"])
    tt, s, lo, hi, _, _ = _stats.kaplan_meier(d["time"].to_numpy(), d["event"].to_numpy())
    km = golden["km"]
    np.testing.assert_allclose(tt, km["time"])
    np.testing.assert_allclose(s, km["survival"], rtol=1e-10)
    finite = np.isfinite(np.asarray(km["ci_low"], dtype=float))
    np.testing.assert_allclose(lo[finite], np.asarray(km["ci_low"])[finite], rtol=1e-6)
    np.testing.assert_allclose(hi[finite], np.asarray(km["ci_high"])[finite], rtol=1e-6)


def test_logistic_matches_statsmodels(rng: np.random.Generator) -> None:
    sm = pytest.importorskip("statsmodels.api")
    x = rng.normal(size=(120, 2))
    y = (rng.random(120) < 1 / (1 + np.exp(-(0.3 + x[:, 0])))).astype(float)
    ref = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
    fit = _stats.logistic_fit(x, y)
    assert not fit.separated
    np.testing.assert_allclose(fit.beta, ref.params, rtol=1e-6)
    np.testing.assert_allclose(fit.se, ref.bse, rtol=1e-6)


def test_logistic_flags_separation() -> None:
    x = np.arange(10.0)
    y = (x > 4.5).astype(float)
    assert _stats.logistic_fit(x, y).separated


def test_auc_and_roc_match_sklearn(rng: np.random.Generator) -> None:
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as sk_roc

    score = np.round(rng.normal(size=50), 1)  # ties
    y = rng.random(50) < 0.4
    assert _stats.auc(score, y) == pytest.approx(roc_auc_score(y, score))
    fpr, tpr = _stats.roc_points(score, y)
    sk_fpr, sk_tpr, _ = sk_roc(y, score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)


def test_bootstrap_auc_is_seeded_and_covers(rng: np.random.Generator) -> None:
    score = rng.normal(size=60) + np.r_[np.ones(30), np.zeros(30)]
    y = np.r_[np.ones(30), np.zeros(30)].astype(bool)
    a = _stats.bootstrap_auc(score, y, n_boot=500, rng=np.random.default_rng(1))
    b = _stats.bootstrap_auc(score, y, n_boot=500, rng=np.random.default_rng(1))
    assert a == b
    assert a[0] < _stats.auc(score, y) < a[1]


def test_adjust_pvalues_matches_statsmodels(rng: np.random.Generator) -> None:
    mt = pytest.importorskip("statsmodels.stats.multitest")
    p = rng.random(40) ** 2
    for method in ("fdr_bh", "bonferroni", "holm"):
        np.testing.assert_allclose(_stats.adjust_pvalues(p, method=method), mt.multipletests(p, method=method)[1])
    with pytest.raises(ValueError, match="Unknown multiple-testing correction"):
        _stats.adjust_pvalues(p, method="nope")


def test_random_effects_matches_statsmodels() -> None:
    ma = pytest.importorskip("statsmodels.stats.meta_analysis")
    est = np.array([0.2, 0.5, -0.1, 0.35])
    se = np.array([0.1, 0.2, 0.15, 0.12])
    ref = ma.combine_effects(est, se**2, method_re="dl")
    r = _stats.random_effects(est, se)
    assert r.estimate == pytest.approx(ref.mean_effect_re, rel=1e-10)
    assert r.se == pytest.approx(ref.sd_eff_w_re, rel=1e-10)
    assert r.tau2 == pytest.approx(ref.tau2, rel=1e-10)
