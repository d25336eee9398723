"""Association of features with outcomes: refusals, multiple testing, simulation (type-I error, power), real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tmescope._errors import InputError, MissingKeyError, TmescopeWarning
from tmescope.cohort import associate, meta_analysis, roc_curve, simulate_cohort, survival_curves

DATA = Path(__file__).resolve().parents[1] / "data"
SUBSET = DATA / "cohort" / "liu2019_features_subset.tsv"


@pytest.fixture(scope="module")
def liu() -> tuple[pd.DataFrame, pd.DataFrame]:
    from tmescope.datasets import liu2019_melanoma
    from tmescope.io import read_features

    _, clinical = liu2019_melanoma()
    return read_features(SUBSET), clinical


def test_planted_survival_effect_recovered() -> None:
    feats, clin = simulate_cohort(n_samples=300, n_features=6, effects={"sim.f0": np.log(1.5)}, seed=3)
    res = associate(feats, clinical=clin, outcome="os", ph_check=0).set_index("feature")
    row = res.loc["sim.f0"]
    assert row["ci_low"] < 1.5 < row["ci_high"]
    assert row["q"] < 1e-3
    assert row["effect_type"] == "HR per SD"
    assert (res.drop(index="sim.f0")["q"] > 0.05).all()


def test_planted_response_effect_recovered() -> None:
    feats, clin = simulate_cohort(n_samples=300, n_features=4, effects={"sim.f2": 0.8}, seed=4)
    res = associate(feats, clinical=clin, outcome="response", n_boot=200).set_index("feature")
    row = res.loc["sim.f2"]
    assert row["ci_low"] < np.exp(0.8) < row["ci_high"]
    assert row["auc"] > 0.6
    assert row["auc_ci_low"] < row["auc"] < row["auc_ci_high"]
    assert res.index[0] == "sim.f2"


def test_type_one_error_is_nominal_on_null_data() -> None:
    # 300 null features: the share with p < 0.05 must lie inside the binomial 99.9% range around 5% (1.7–9.3%).
    feats, clin = simulate_cohort(n_samples=150, n_features=300, seed=5)
    sub = feats[feats["feature"] != "sim.group"]
    os_ = associate(sub, clinical=clin, outcome="os", ph_check=0)
    resp = associate(sub, clinical=clin, outcome="response", n_boot=10)
    for res in (os_, resp):
        rate = float((res["p"] < 0.05).mean())
        assert 0.017 < rate < 0.093, rate
        assert (res["q"] >= res["p"] - 1e-12).all()
        assert (res["q"] > 0.05).all()


def test_table_is_ranked_and_complete() -> None:
    feats, clin = simulate_cohort(n_samples=80, n_features=5, effects={"sim.f1": 0.7}, seed=6)
    res = associate(feats, clinical=clin, outcome="os")
    assert list(res["rank"]) == list(range(1, len(res) + 1))
    finite = res["p"].dropna()
    assert finite.is_monotonic_increasing
    # sim.group A/B/C becomes three group-vs-rest rows
    assert {"sim.group=A", "sim.group=B", "sim.group=C"} <= set(res["feature"])
    assert (res.loc[res["feature"].str.startswith("sim.group"), "effect_type"] == "HR (group vs rest)").all()
    assert res["ph_p"].notna().sum() == min(20, len(res))
    assert res.attrs["outcome"] == "os"


def test_seed_gives_identical_tables() -> None:
    feats, clin = simulate_cohort(n_samples=60, n_features=3, seed=7)
    a = associate(feats, clinical=clin, outcome="response", n_boot=100, seed=1)
    b = associate(feats, clinical=clin, outcome="response", n_boot=100, seed=1)
    c = associate(feats, clinical=clin, outcome="response", n_boot=100, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["auc_ci_low"], c["auc_ci_low"])


def test_refuses_too_few_events() -> None:
    feats, clin = simulate_cohort(n_samples=30, n_features=3, seed=8)
    clin["os_event"] = 0
    clin.loc[:5, "os_event"] = 1
    with pytest.raises(InputError, match=r"Only 6 OS event\(s\) among 30 sample\(s\).*at least 10"):
        associate(feats, clinical=clin, outcome="os")


def test_refuses_too_many_covariates_for_events() -> None:
    feats, clin = simulate_cohort(n_samples=40, n_features=3, seed=9)
    clin["os_event"] = 0
    clin.loc[:11, "os_event"] = 1  # 12 events; 3 covariates + feature need 20
    clin["a"], clin["b"], clin["c"] = np.arange(40.0), np.arange(40.0) ** 0.5, np.arange(40.0) % 3
    with pytest.raises(InputError, match=r"5 per model term \(20\)"):
        associate(feats, clinical=clin, outcome="os", covariates=["a", "b", "c"])


def test_refuses_small_response_group() -> None:
    feats, clin = simulate_cohort(n_samples=30, n_features=3, seed=10)
    clin["response"] = "NR"
    clin.loc[:2, "response"] = "R"
    with pytest.raises(InputError, match=r"at least 5 samples in each group; got R: 3, NR: 27"):
        associate(feats, clinical=clin, outcome="response")


def test_refuses_missing_outcome_and_unknown_names() -> None:
    feats, clin = simulate_cohort(n_samples=30, n_features=3, seed=11)
    with pytest.raises(InputError, match="os_time, os_event"):
        associate(feats, clinical=clin.drop(columns=["os_time"]), outcome="os")
    with pytest.raises(InputError, match="Unknown outcome 'dfs'"):
        associate(feats, clinical=clin, outcome="dfs")
    with pytest.raises(MissingKeyError, match="neither clinical columns nor features"):
        associate(feats, clinical=clin, outcome="os", covariates=["stage"])
    with pytest.raises(InputError, match="No feature starts with"):
        associate(feats, clinical=clin, outcome="os", include=["composition."])


def test_per_feature_refusal_is_a_row() -> None:
    feats, clin = simulate_cohort(n_samples=60, n_features=2, seed=12)
    # a rare group (3 of 60 samples) is kept as a row saying why it was not tested
    lab = feats["feature"] == "sim.group"
    rare = feats.loc[lab, "sample"].iloc[:3]
    feats.loc[lab, "label"] = np.where(feats.loc[lab, "sample"].isin(rare), "Z", "A")
    res = associate(feats, clinical=clin, outcome="os").set_index("feature")
    assert res.loc["sim.group=Z", "status"].startswith("refused: group of 3 samples")
    assert np.isnan(res.loc["sim.group=Z", "p"])


def test_covariate_adjustment_removes_confounded_effect() -> None:
    feats, clin = simulate_cohort(n_samples=400, n_features=3, effects={"sim.f0": 0.7}, seed=13)
    # sim.f1 := sim.f0 + noise is associated only through sim.f0
    wide = feats.pivot_table(index="sample", columns="feature", values="value")
    rng = np.random.default_rng(0)
    f1 = wide["sim.f0"] + 0.5 * rng.normal(size=len(wide))
    feats.loc[feats["feature"] == "sim.f1", "value"] = f1.reindex(
        feats.loc[feats["feature"] == "sim.f1", "sample"]
    ).to_numpy()
    crude = associate(feats, clinical=clin, outcome="os", ph_check=0).set_index("feature")
    adj = associate(feats, clinical=clin, outcome="os", covariates=["sim.f0"], ph_check=0).set_index("feature")
    assert crude.loc["sim.f1", "p"] < 1e-6
    assert adj.loc["sim.f1", "p"] > 0.01
    assert "sim.f0" not in adj.index
    assert adj.loc["sim.f1", "covariates"] == "sim.f0"


def test_recist_and_categorical_covariate() -> None:
    feats, clin = simulate_cohort(n_samples=120, n_features=3, effects={"sim.f0": 1.0}, seed=14)
    rec = associate(feats, clinical=clin, outcome="recist").set_index("feature")
    assert rec.loc["sim.f0", "effect"] > 0.2
    assert rec.loc["sim.f0", "p_kruskal"] < 0.01
    with pytest.raises(InputError, match="not supported for the RECIST"):
        associate(feats, clinical=clin, outcome="recist", covariates=["treatment"])
    clin["site"] = np.where(np.arange(120) % 2, "skin", "node")
    res = associate(feats, clinical=clin, outcome="response", covariates=["site"], n_boot=50)
    assert (res["covariates"] == "site=skin").all()
    clin["arm"] = "one"
    with pytest.raises(InputError, match="single value"):
        associate(feats, clinical=clin, outcome="response", covariates=["arm"])


def test_survival_curves_by_tertile_subtype_and_refusal() -> None:
    feats, clin = simulate_cohort(n_samples=120, n_features=2, effects={"sim.f0": 1.0}, seed=15)
    sc = survival_curves(feats, clinical=clin, by="sim.f0")
    assert list(sc.curves["group"].unique()) == ["low", "mid", "high"]
    assert sc.test["p"] < 1e-4
    assert sum(sc.test["groups"].values()) == 120
    assert sc.curves.groupby("group")["survival"].apply(lambda s: s.is_monotonic_decreasing).all()
    lab = feats["feature"] == "sim.group"
    feats.loc[lab & feats["sample"].isin(["S0000", "S0001"]), "label"] = "tiny"
    with pytest.warns(TmescopeWarning, match=r"tiny \(n=2\).*left out"):
        sc2 = survival_curves(feats, clinical=clin, by="sim.group")
    assert "tiny" not in sc2.test["groups"]
    feats.loc[lab, "label"] = np.where(feats.loc[lab, "sample"].isin(["S0000", "S0001", "S0002"]), "B", "A")
    with pytest.warns(TmescopeWarning), pytest.raises(InputError, match="at least 5 samples in each group"):
        survival_curves(feats, clinical=clin, by="sim.group")
    with pytest.raises(InputError, match="survival outcome"):
        survival_curves(feats, clinical=clin, by="sim.f0", outcome="response")


def test_roc_curve() -> None:
    feats, clin = simulate_cohort(n_samples=100, n_features=2, effects={"sim.f1": 1.2}, seed=16)
    roc = roc_curve(feats, clinical=clin, feature="sim.f1")
    assert roc["fpr"].is_monotonic_increasing
    assert roc.attrs["auc"] == pytest.approx(float(np.trapezoid(roc["tpr"], roc["fpr"])))
    with pytest.raises(InputError, match="not in the table"):
        roc_curve(feats, clinical=clin, feature="sim.nope")


def test_meta_analysis_pools_cohorts() -> None:
    tables = {}
    for i in range(4):
        feats, clin = simulate_cohort(n_samples=100, n_features=3, effects={"sim.f0": 0.5}, seed=20 + i)
        tables[f"c{i}"] = associate(feats, clinical=clin, outcome="os", ph_check=0)
    pooled = meta_analysis(tables).set_index("feature")
    row = pooled.loc["sim.f0"]
    assert row["k"] == 4
    assert row["ci_low"] < np.exp(0.5) < row["ci_high"]
    assert row["same_direction"] == 1.0
    assert row["n"] == 400


def test_liu2019_real_subset(liu: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    feats, clin = liu
    res = associate(feats, clinical=clin, outcome="response", n_boot=200).set_index("feature")
    assert res.attrs["n_samples"] == 121
    cyt = res.loc["immunotherapy.cyt_rooney2015"]
    assert cyt["n"] == 112  # 9 samples without a response label
    assert cyt["n_events"] == 52
    # Published direction: cytolytic activity higher in responders (Liu 2019 report CYT among the predictors).
    assert cyt["effect"] > 1
    assert cyt["auc"] > 0.5
    os_ = associate(feats, clinical=clin, outcome="os", covariates=["treatment"]).set_index("feature")
    assert os_.loc["immunotherapy.cyt_rooney2015", "effect"] < 1
    assert os_.loc["immunotherapy.cyt_rooney2015", "n_events"] == 62


def test_monotone_likelihood_is_refused_not_reported() -> None:
    feats, clin = simulate_cohort(n_samples=60, n_features=2, seed=30)
    lab = feats["feature"] == "sim.group"
    # group Z: 8 samples none of which has an event -> HR of Z vs rest is 0, not estimable
    censored = clin.loc[clin["os_event"] == 0, "sample_id"].iloc[:8]
    feats.loc[lab, "label"] = np.where(feats.loc[lab, "sample"].isin(censored), "Z", "A")
    res = associate(feats, clinical=clin, outcome="os", ph_check=0).set_index("feature")
    row = res.loc["sim.group=Z"]
    assert row["flag"] == "not_converged"
    assert row["status"].startswith("refused: the Cox fit did not converge")
    assert np.isnan(row["effect"])
    assert np.isnan(row["p"])
