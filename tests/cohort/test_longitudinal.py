"""Longitudinal change: paired tests, technical noise, subtype transitions, refusals, report and CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from tmescope._errors import InputError, MissingKeyError
from tmescope.cli import main
from tmescope.cohort import analyze_cohort, longitudinal_change, simulate_longitudinal, write_cohort
from tmescope.io import write_features
from tmescope.pl import _cohort as cfig


def test_planted_shift_recovered_and_null_features_quiet() -> None:
    feats, clin = simulate_longitudinal(n_patients=30, n_features=6, shift={"sim.f2": 0.8}, noise=0.3, seed=1)
    res = longitudinal_change(feats, clinical=clin)
    ch = res.changes.set_index("feature")
    assert res.changes.loc[0, "feature"] == "sim.f2"
    assert ch.loc["sim.f2", "mean_change"] == pytest.approx(0.8, abs=0.2)
    assert ch.loc["sim.f2", "q"] < 1e-4
    assert (ch.drop(index="sim.f2")["q"] > 0.05).all()
    assert (ch["n_pairs"] == 30).all()
    assert (ch["from"] == "pre-treatment").all()
    assert (ch["to"] == "on-treatment").all()


def test_paired_tests_match_scipy() -> None:
    feats, clin = simulate_longitudinal(n_patients=12, n_features=2, shift={"sim.f0": 0.5}, seed=2)
    res = longitudinal_change(feats, clinical=clin)
    wide = feats.pivot_table(index="sample", columns="feature", values="value")
    pre = wide.loc[[f"P{i:03d}_pra" for i in range(12)], "sim.f0"].to_numpy()
    on = wide.loc[[f"P{i:03d}_ona" for i in range(12)], "sim.f0"].to_numpy()
    row = res.changes.set_index("feature").loc["sim.f0"]
    assert row["p"] == pytest.approx(stats.wilcoxon(on - pre).pvalue)
    assert row["p_ttest"] == pytest.approx(stats.ttest_rel(on, pre).pvalue)
    pp = res.per_patient[res.per_patient["feature"] == "sim.f0"]
    np.testing.assert_allclose(pp["change"].to_numpy(), on - pre)


def test_technical_noise_from_replicates_and_from_intervals() -> None:
    # replicates (second pre-treatment sample) give the SD of a repeat measurement: sqrt(2) * noise
    feats, clin = simulate_longitudinal(n_patients=60, n_features=3, noise=0.4, replicates=60, seed=3)
    res = longitudinal_change(feats, clinical=clin)
    ch = res.changes.set_index("feature")
    assert res.info["replicate_pairs"] == 60
    assert ch.loc["sim.f0", "noise_source"] == "60 replicate pairs"
    assert ch.loc["sim.f0", "noise_sd"] == pytest.approx(0.4 * np.sqrt(2), rel=0.25)
    # without replicates the features' CIs (±1.96 noise) give the same quantity
    feats, clin = simulate_longitudinal(n_patients=20, n_features=3, noise=0.4, seed=4)
    ch = longitudinal_change(feats, clinical=clin).changes.set_index("feature")
    assert ch.loc["sim.f0", "noise_source"] == "feature confidence intervals"
    assert ch.loc["sim.f0", "noise_sd"] == pytest.approx(0.4 * np.sqrt(2), rel=1e-4)
    # between-patient spread is ~1 SD while the noise is 0.57: most changes exceed nothing planted
    assert ch.loc["sim.f0", "n_beyond_noise"] < 20


def test_subtype_transitions_and_timeline() -> None:
    feats, clin = simulate_longitudinal(n_patients=25, seed=5)
    res = longitudinal_change(feats, clinical=clin)
    tr = res.transitions
    assert len(tr) == 25
    assert res.info["subtype_changed"] == int((tr["from"] != tr["to"]).sum())
    assert 0 < res.info["subtype_changed"] < 25
    fig = cfig.timeline(res.timeline, feature="sim.f1")
    assert len(fig.data) == 25
    assert list(fig.layout.xaxis.ticktext) == ["pre-treatment", "on-treatment"]


def test_refusals_and_explicit_order() -> None:
    feats, clin = simulate_longitudinal(n_patients=4, seed=6)
    with pytest.raises(InputError, match=r"Only 4 patient\(s\) have samples at two or more timepoints"):
        longitudinal_change(feats, clinical=clin)
    feats, clin = simulate_longitudinal(n_patients=8, seed=6)
    clin["timepoint"] = clin["timepoint"].replace({"pre-treatment": "A", "on-treatment": "B"})
    with pytest.raises(InputError, match="Cannot place the timepoint"):
        longitudinal_change(feats, clinical=clin)
    res = longitudinal_change(feats, clinical=clin, order=["B", "A"])  # B first: the change flips sign
    res2 = longitudinal_change(feats, clinical=clin, order=["A", "B"])
    np.testing.assert_allclose(
        res.changes.set_index("feature")["mean_change"],
        -res2.changes.set_index("feature")["mean_change"].reindex(res.changes["feature"]),
    )
    with pytest.raises(MissingKeyError, match="timepoint"):
        longitudinal_change(feats, clinical=clin.drop(columns=["timepoint"]))


def test_in_analyze_cohort_report_and_cli(tmp_path: Path) -> None:
    feats, clin = simulate_longitudinal(n_patients=15, shift={"sim.f0": 1.0}, seed=7)
    res = analyze_cohort(feats, clinical=clin)
    assert res.longitudinal is not None
    assert res.association.empty
    write_cohort(res, tmp_path / "a")
    html = (tmp_path / "a" / "report" / "index.html").read_text()
    assert 'id="longitudinal"' in html
    assert (tmp_path / "a" / "subtype_transitions.tsv").exists()
    d = tmp_path / "prof"
    d.mkdir()
    write_features(feats, d)
    clin.to_csv(tmp_path / "clin.tsv", sep="\t", index=False)
    out = CliRunner().invoke(
        main, ["cohort", str(d), "--clinical", str(tmp_path / "clin.tsv"), "-o", str(tmp_path / "c"), "--no-report"]
    )
    assert out.exit_code == 0, out.output
    assert "longitudinal: 15 paired patients" in out.output
    ch = pd.read_csv(tmp_path / "c" / "longitudinal_changes.tsv", sep="\t")
    assert ch.loc[0, "feature"] == "sim.f0"
