"""Rule evaluation: firing, borderline from margins / intervals / label confidence, missing features, features rows."""

from __future__ import annotations

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope._errors import InputError, InputTypeError
from tmescope.insights import (
    BORDERLINE,
    FIRES,
    NOT_EVALUABLE,
    NOT_FIRING,
    add_insights,
    evaluate_insights,
    load_rules,
    strategy_summary,
)


def _rules(tmp_path: Path, condition: dict, **defaults) -> object:
    doc = {
        "name": "t",
        "version": "1",
        "defaults": defaults,
        "rules": [
            {
                "id": "r",
                "title": "t",
                "strategy": "caf_fap_targeting",
                "direction": "supports",
                "evidence_level": "preclinical",
                "condition": condition,
                "citations": [{"reference": "x", "doi": "10.1038/nature25501"}],
            }
        ],
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return load_rules(path, builtin=False)


def _state(res, sample: str) -> str:
    ev = res.evaluations
    return str(ev.loc[ev["sample"] == sample, "state"].iloc[0])


def test_percentile_threshold_with_margin(tmp_path: Path, tidy):
    kb = _rules(tmp_path, {"all": [{"feature": "tme_signature.caf", "op": ">=", "percentile": 75}]})
    rows = [{"sample": s, "feature": "tme_signature.caf", "value": v, "percentile": p}
            for s, v, p in (("hi", 3.0, 90.0), ("edge", 2.0, 77.0), ("lo", 1.0, 40.0), ("below", 1.9, 71.0))]  # fmt: skip
    res = evaluate_insights(tidy(rows), rules=kb)
    assert [_state(res, s) for s in ("hi", "edge", "lo", "below")] == [FIRES, BORDERLINE, NOT_FIRING, BORDERLINE]
    clause = res.clauses.set_index("sample").loc["hi"]
    assert clause["percentile"] == 90.0
    assert clause["percentile_source"] == "reference"
    assert clause["result"] == "yes"
    # Margin 0: the threshold itself decides.
    res0 = evaluate_insights(tidy(rows), rules=_rules(tmp_path, kb.rules[0]["condition"], percentile_margin=0))
    assert [_state(res0, s) for s in ("edge", "below")] == [FIRES, NOT_FIRING]


def test_interval_across_the_threshold_is_borderline(tmp_path: Path, tidy):
    kb = _rules(tmp_path, {"all": [{"feature": "composition.cd8_t", "op": "<=", "value": 0.05}]})
    rows = [
        {"sample": "sure", "feature": "composition.cd8_t", "value": 0.01, "ci_low": 0.0, "ci_high": 0.03},
        {"sample": "wide", "feature": "composition.cd8_t", "value": 0.04, "ci_low": 0.01, "ci_high": 0.09},
        {"sample": "high", "feature": "composition.cd8_t", "value": 0.20, "ci_low": 0.15, "ci_high": 0.25},
    ]
    res = evaluate_insights(tidy(rows), rules=kb)
    assert [_state(res, s) for s in ("sure", "wide", "high")] == [FIRES, BORDERLINE, NOT_FIRING]
    assert "[0.01–0.09]" in res.evaluations.set_index("sample").loc["wide", "evidence"]


def test_interval_bounds_are_placed_as_percentiles(tmp_path: Path, tidy):
    # 20 samples, values 0..19 with cohort percentiles; one sample's interval spans the 50th percentile.
    kb = _rules(
        tmp_path, {"all": [{"feature": "composition.cd8_t", "op": "<=", "percentile": 50}]}, percentile_margin=0
    )
    vals = np.arange(20.0)
    table = pd.DataFrame({"sample": [f"s{i:02d}" for i in range(20)], "feature": "composition.cd8_t", "value": vals})
    table["percentile"] = 100 * vals / 19
    table["ci_low"], table["ci_high"] = vals - 0.5, vals + 0.5
    table.loc[3, ["ci_low", "ci_high"]] = [1.0, 15.0]
    res = evaluate_insights(tidy(table.to_dict("records")), rules=kb)
    assert _state(res, "s03") == BORDERLINE
    assert _state(res, "s02") == FIRES
    assert _state(res, "s15") == NOT_FIRING


def test_low_confidence_label_that_meets_the_clause_is_borderline(tmp_path: Path, tidy):
    kb = _rules(tmp_path, {"all": [{"feature": "subtype.label", "op": "in", "value": ["IE", "IE/F"]}]})
    rows = [
        {"sample": "a", "feature": "subtype.label", "label": "IE"},
        {"sample": "a", "feature": "subtype.confidence", "value": 0.9},
        {"sample": "b", "feature": "subtype.label", "label": "IE/F"},
        {"sample": "b", "feature": "subtype.confidence", "value": 0.3},
        {"sample": "c", "feature": "subtype.label", "label": "D"},
        {"sample": "c", "feature": "subtype.confidence", "value": 0.3},
    ]
    res = evaluate_insights(tidy(rows), rules=kb)
    assert [_state(res, s) for s in "abc"] == [FIRES, BORDERLINE, NOT_FIRING]
    assert "confidence 30%" in res.evaluations.set_index("sample").loc["b", "evidence"]


def test_all_any_and_missing_features(tmp_path: Path, tidy):
    cond = {
        "all": [
            {
                "any": [
                    {"feature": "subtype.label", "op": "==", "value": "F"},
                    {"feature": "tme_signature.caf", "op": ">=", "value": 2},
                ]
            },
            {"feature": "composition.cd8_t", "op": "<=", "value": 0.1},
        ]
    }
    kb = _rules(tmp_path, cond)
    rows = [
        {"sample": "f_low", "feature": "subtype.label", "label": "F"},
        {"sample": "f_low", "feature": "composition.cd8_t", "value": 0.05},
        {"sample": "caf_low", "feature": "subtype.label", "label": "IE"},
        {"sample": "caf_low", "feature": "tme_signature.caf", "value": 3.0},
        {"sample": "caf_low", "feature": "composition.cd8_t", "value": 0.05},
        {"sample": "f_high", "feature": "subtype.label", "label": "F"},
        {"sample": "f_high", "feature": "composition.cd8_t", "value": 0.5},
        {"sample": "no_cd8", "feature": "subtype.label", "label": "F"},
    ]
    res = evaluate_insights(tidy(rows), rules=kb)
    # f_low: any() is true without the (absent) CAF score; no_cd8: the CD8 clause cannot be evaluated.
    assert [_state(res, s) for s in ("f_low", "caf_low", "f_high", "no_cd8")] == [
        FIRES,
        FIRES,
        NOT_FIRING,
        NOT_EVALUABLE,
    ]
    feats = res.features.set_index(["sample", "feature"])
    assert feats.loc[("f_low", "insight.r"), "value"] == 1.0
    assert np.isnan(feats.loc[("no_cd8", "insight.r"), "value"])
    assert feats.loc[("no_cd8", "insight.r"), "flag"] == "not_evaluable"
    assert feats.loc[("f_low", "insight.strategy.caf_fap_targeting"), "label"] == "supported"
    assert feats.loc[("f_high", "insight.strategy.caf_fap_targeting"), "label"] == "no rule fired"
    assert feats.loc[("no_cd8", "insight.strategy.caf_fap_targeting"), "label"] == "not evaluable"


def test_cohort_percentiles_when_the_table_has_none(tmp_path: Path, tidy, rng: np.random.Generator):
    kb = _rules(
        tmp_path, {"all": [{"feature": "tme_signature.caf", "op": ">=", "percentile": 75}]}, percentile_margin=0
    )
    n = 40
    table = pd.DataFrame({"sample": [f"s{i:02d}" for i in range(n)], "feature": "tme_signature.caf"})
    table["value"] = rng.normal(size=n)
    res = evaluate_insights(tidy(table.to_dict("records")), rules=kb)
    fired = set(res.evaluations.loc[res.evaluations["state"] == FIRES, "sample"])
    top = set(table.nlargest(10, "value")["sample"])
    assert fired == top  # leave-one-out: the 10 largest of 40 sit at or above the 75th percentile
    assert set(res.clauses["percentile_source"]) == {"cohort"}
    # Order of rows does not matter.
    shuffled = evaluate_insights(tidy(table.sample(frac=1, random_state=1).to_dict("records")), rules=kb)
    pd.testing.assert_frame_equal(
        shuffled.evaluations.sort_values("sample").reset_index(drop=True),
        res.evaluations.sort_values("sample").reset_index(drop=True),
    )
    # Too few samples: no percentile, not evaluable.
    small = evaluate_insights(tidy(table.head(5).to_dict("records")), rules=kb)
    assert set(small.evaluations["state"]) == {NOT_EVALUABLE}
    assert "cohort too small" in small.evaluations["evidence"].iloc[0]


def test_builtin_rules_on_the_reference_cohort(reference_table):
    table, _ = reference_table
    res = evaluate_insights(table)
    kb = load_rules()
    n = table["sample"].nunique()
    assert len(res.evaluations) == n * len(kb)
    assert set(res.evaluations["state"]) <= {FIRES, BORDERLINE, NOT_FIRING}  # every feature is in a real profile
    per_rule = res.evaluations.groupby("rule")["state"].apply(lambda s: (s == FIRES).mean())
    assert (per_rule < 0.6).all()  # percentile rules in the top quartile cannot fire for most samples
    gep = res.evaluations.query("rule == 'icb_tcell_inflamed_gep_high'")
    assert 0.1 < (gep["state"] == FIRES).mean() < 0.3
    assert set(res.features["feature"].str.split(".").str[0]) == {"insight"}
    summ = strategy_summary(res.evaluations)
    assert len(summ) == n * 6
    assert (summ["net"] == summ["n_supports"] - summ["n_argues_against"]).all()


def test_add_insights_writes_uns_and_replaces_old_rows(reference_table, tmp_path: Path):
    table, _ = reference_table
    samples = pd.unique(table["sample"])
    adata = ad.AnnData(obs=pd.DataFrame(index=samples))
    out = add_insights(adata, features=table)
    n_insight = int(out["feature"].str.startswith("insight.").sum())
    assert n_insight == len(samples) * (len(load_rules()) + 6)
    again = add_insights(adata, features=out)
    assert len(again) == len(out)
    info = adata.uns["insights"]
    assert {"evaluations", "clauses", "rules", "disclaimer", "version"} <= set(info)
    assert "not treatment recommendations" in info["disclaimer"]
    adata.write_h5ad(tmp_path / "p.h5ad")
    back = ad.read_h5ad(tmp_path / "p.h5ad")
    pd.testing.assert_frame_equal(
        back.uns["insights"]["evaluations"].reset_index(drop=True),
        info["evaluations"].reset_index(drop=True),
        check_dtype=False,
    )


def test_bad_inputs(tidy):
    with pytest.raises(InputTypeError, match="tidy feature table"):
        evaluate_insights([1, 2])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no rows to evaluate"):
        evaluate_insights(tidy([{"sample": "a", "feature": "insight.x", "value": 1.0}]))


def test_results_do_not_depend_on_chunks_when_the_reference_is_given(reference_table):
    from tmescope.profile import default_reference

    table, _ = reference_table
    table = table.copy()
    comp = table["feature"].str.startswith("composition.")
    table.loc[comp, "ci_low"] = (table.loc[comp, "value"] - 0.02).clip(lower=0)
    table.loc[comp, "ci_high"] = table.loc[comp, "value"] + 0.02
    ref = default_reference()
    whole = evaluate_insights(table, reference=ref).evaluations
    samples = pd.unique(table["sample"])
    parts = [
        evaluate_insights(table.loc[table["sample"].isin(chunk)], reference=ref).evaluations
        for chunk in (samples[:7], samples[7:60], samples[60:])
    ]
    joined = pd.concat(parts).sort_values(["rule", "sample"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(joined, whole.sort_values(["rule", "sample"]).reset_index(drop=True))
    assert (whole["state"] == BORDERLINE).any()


def test_numeric_equality_and_membership(tmp_path: Path, tidy):
    kb = _rules(
        tmp_path,
        {
            "any": [
                {"feature": "spatial.n_slides", "op": "in", "value": [2, 3]},
                {"feature": "x.y", "op": "==", "value": 7},
            ]
        },
    )
    rows = [
        {"sample": "two", "feature": "spatial.n_slides", "value": 2.0},
        {"sample": "one", "feature": "spatial.n_slides", "value": 1.0},
        {"sample": "one", "feature": "x.y", "value": 7.0},
        {"sample": "none", "feature": "spatial.n_slides", "value": 5.0},
        {"sample": "none", "feature": "x.y", "value": 6.0},
    ]
    res = evaluate_insights(tidy(rows), rules=kb)
    assert [_state(res, s) for s in ("two", "one", "none")] == [FIRES, FIRES, NOT_FIRING]
    assert "needs in {2, 3}" in res.evaluations.set_index("sample").loc["two", "evidence"]
