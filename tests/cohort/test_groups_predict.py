"""Group comparison and the nested cross-validated response model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tmescope._errors import InputError
from tmescope.cohort import compare_groups, predict_response, simulate_cohort
from tmescope.cohort._groups import cliffs_delta, hedges_g
from tmescope.pl import _cohort as cfig


def test_hedges_g_and_cliffs_delta_oracles(rng: np.random.Generator) -> None:
    a, b = rng.normal(1.0, 1, 40), rng.normal(0.0, 1, 60)
    # slow, obvious versions
    sp = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    g_ref = (a.mean() - b.mean()) / sp * (1 - 3 / (4 * (len(a) + len(b)) - 9))
    assert hedges_g(a, b)[0] == pytest.approx(g_ref)
    delta_ref = np.mean([np.sign(x - y) for x in a for y in b])
    assert cliffs_delta(a, b) == pytest.approx(delta_ref)


def test_two_groups_recover_planted_difference() -> None:
    feats, clin = simulate_cohort(n_samples=200, n_features=5, effects={"sim.f3": 1.5}, seed=1)
    res = compare_groups(feats, groups="response", clinical=clin, reference="NR")
    assert set(res["comparison"]) == {"R vs NR"}
    top = res.iloc[0]
    assert top["feature"] == "sim.f3"
    assert top["g_ci_low"] > 0
    assert top["q"] < 1e-4
    assert (res.iloc[1:]["q"] > 0.05).all()
    # p agrees with scipy's Mann–Whitney
    wide = feats.pivot_table(index="sample", columns="feature", values="value")
    resp = clin.set_index("sample_id")["response"].reindex(wide.index)
    ref = stats.mannwhitneyu(wide.loc[resp == "R", "sim.f3"], wide.loc[resp == "NR", "sim.f3"]).pvalue
    assert top["p"] == pytest.approx(ref)


def test_many_groups_one_vs_rest_and_reference() -> None:
    feats, _ = simulate_cohort(n_samples=90, n_features=3, seed=2)
    res = compare_groups(feats, groups="sim.group")
    assert set(res["comparison"]) == {"A vs rest", "B vs rest", "C vs rest"}
    assert res["p_kruskal"].notna().all()
    assert not res["feature"].str.startswith("sim.group").any()
    res2 = compare_groups(feats, groups="sim.group", reference="A")
    assert set(res2["comparison"]) == {"B vs A", "C vs A"}
    labels = pd.Series(np.where(np.arange(90) < 45, "x", "y"), index=[f"S{i:04d}" for i in range(90)], name="half")
    res3 = compare_groups(feats, groups=labels)
    assert set(res3["comparison"]) == {"y vs x"}
    fig = cfig.volcano(res)
    assert len(fig.data) == 3


def test_group_refusals() -> None:
    feats, clin = simulate_cohort(n_samples=40, n_features=2, seed=3)
    clin["arm"] = np.where(np.arange(40) < 3, "small", "big")
    with pytest.raises(InputError, match=r"small \(n=3\)"):
        compare_groups(feats, groups="arm", clinical=clin)
    with pytest.raises(InputError, match="Reference group 'Z'"):
        compare_groups(feats, groups="sim.group", reference="Z")
    with pytest.raises(InputError, match="neither a feature"):
        compare_groups(feats, groups="nope")


def test_prediction_is_out_of_fold_seeded_and_honest() -> None:
    feats, clin = simulate_cohort(n_samples=140, n_features=6, effects={"sim.f0": 1.2}, seed=4)
    a = predict_response(feats, clinical=clin, n_inner=3, n_boot=200, seed=0)
    b = predict_response(feats, clinical=clin, n_inner=3, n_boot=200, seed=0)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    assert a.auc == b.auc
    assert 0.65 < a.auc < 0.95
    assert a.auc_ci[0] < a.auc < a.auc_ci[1]
    assert len(a.fold_auc) == 5
    assert sorted(a.predictions["fold"].unique()) == [0, 1, 2, 3, 4]
    assert a.predictions["probability"].notna().all()
    assert a.features.index[0] == "sim.f0"
    assert a.features.loc["sim.f0", "selected"] == 5


def test_prediction_on_null_data_is_near_chance() -> None:
    # With no signal the out-of-fold AUC must not look predictive (in-sample AUC would).
    feats, clin = simulate_cohort(n_samples=120, n_features=20, seed=5)
    res = predict_response(feats, clinical=clin, n_inner=3, n_boot=200, seed=1)
    assert res.auc_ci[0] < 0.5 + 0.05
    assert res.auc < 0.65


def test_prediction_refusals() -> None:
    feats, clin = simulate_cohort(n_samples=60, n_features=3, seed=6)
    with pytest.raises(InputError, match="not a prediction"):
        predict_response(feats, clinical=clin, n_outer=1)
    clin["response"] = np.where(np.arange(60) < 8, "R", "NR")
    with pytest.raises(InputError, match="at least 10 responders"):
        predict_response(feats, clinical=clin)
    with pytest.raises(InputError, match="penalty"):
        predict_response(feats, clinical=clin, penalty="l3")
