"""Response stratification: odds ratios against scipy, Mantel-Haenszel, and a run on real ICB response data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import contingency

from tmescope.insights import evaluate_insights, mantel_haenszel, odds_ratio, response_binary, stratify_response


@pytest.mark.parametrize("table", [(8, 2, 3, 7), (12, 30, 5, 40), (1, 9, 4, 4)])
def test_odds_ratio_matches_scipy(table):
    a, b, c, d = table
    ours = odds_ratio(a, b, c, d)
    ref = contingency.odds_ratio([[a, b], [c, d]], kind="sample")
    ci = ref.confidence_interval(confidence_level=0.95)
    np.testing.assert_allclose(ours[:3], [ref.statistic, ci.low, ci.high], rtol=1e-9)


def test_odds_ratio_with_a_zero_cell_and_empty_group():
    or_, lo, hi, p = odds_ratio(5, 0, 2, 6)
    assert or_ == pytest.approx((5.5 * 6.5) / (0.5 * 2.5))
    assert lo < or_ < hi
    assert 0 < p < 0.05
    assert np.isnan(odds_ratio(0, 0, 3, 4)[0])


def test_mantel_haenszel_one_stratum_is_the_odds_ratio():
    np.testing.assert_allclose(mantel_haenszel([(8, 2, 3, 7)]), odds_ratio(8, 2, 3, 7)[:3], rtol=1e-9)
    # Strata with opposite effects pool towards 1.
    mh = mantel_haenszel([(8, 2, 2, 8), (2, 8, 8, 2)])[0]
    assert mh == pytest.approx(1.0)


def test_response_coding():
    assert response_binary(pd.Series(["R", "NR", "PR", "PD", "x", "1", "0"])).tolist()[:4] == [1.0, 0.0, 1.0, 0.0]
    assert np.isnan(response_binary(pd.Series(["x"]))[0])


def test_stratify_counts_add_up_on_real_response(reference_table):
    table, response = reference_table
    ev = evaluate_insights(table).evaluations
    out = stratify_response(ev, response)
    known = int(response_binary(response).notna().sum())
    assert known == 112  # Liu 2019: 52 R + 60 NR with RNA-seq
    rules = out.loc[out["kind"] == "rule"]
    assert len(rules) == ev.loc[ev["strategy"] == "immune_checkpoint_blockade", "rule"].nunique()
    assert ((rules["n_1"] + rules["n_2"] + rules["n_left_out"]) == known).all()
    strat = out.loc[out["kind"] == "strategy"].iloc[0]
    assert strat["n_1"] + strat["n_2"] + strat["n_left_out"] == known
    for r in out.itertuples():
        if r.n_1 and r.n_2:
            a, b = r.responders_1, r.n_1 - r.responders_1
            c, d = r.responders_2, r.n_2 - r.responders_2
            assert r.odds_ratio == pytest.approx(odds_ratio(a, b, c, d)[0])


def test_stratify_refuses_unknown_tables():
    with pytest.raises(KeyError, match="lacks the column 'state'"):
        stratify_response(pd.DataFrame({"sample": [], "rule": [], "strategy": [], "direction": []}), pd.Series())


def test_borderline_counted_as_firing_moves_patients_into_group_1():
    ev = pd.DataFrame(
        {
            "sample": ["a", "b", "c", "d"],
            "rule": "r",
            "strategy": "immune_checkpoint_blockade",
            "direction": "supports",
            "state": ["fires", "borderline", "does not fire", "does not fire"],
        }
    )
    resp = pd.Series(["R", "R", "NR", "R"], index=list("abcd"))
    firm = stratify_response(ev, resp).set_index("kind").loc["rule"]
    assert (firm["n_1"], firm["n_2"], firm["n_left_out"]) == (1, 2, 1)
    sens = stratify_response(ev, resp, count_borderline=True).set_index("kind").loc["rule"]
    assert (sens["n_1"], sens["responders_1"], sens["n_left_out"]) == (2, 2, 0)
    strat = stratify_response(ev, resp, count_borderline=True).set_index("kind").loc["strategy"]
    assert (strat["group_1"], strat["n_1"], strat["n_2"]) == ("supported", 2, 0)
