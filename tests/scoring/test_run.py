"""`tmescope signatures score` / run_scoring: any number of genes, the same scores as score_signatures."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tmescope.cli import main

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    pytest.mark.filterwarnings("ignore::tmescope.AutoFixWarning"),
    pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning"),
]


@pytest.fixture(scope="module")
def cohort(liu_table) -> pd.DataFrame:
    """Ten samples of the bundled Liu 2019 melanoma cohort, log2(TPM + 0.001), genes in rows."""
    return liu_table(10, genes_in_rows=True)


def test_scores_equal_score_signatures_on_the_values_as_given(cohort: pd.DataFrame, tmp_path: Path) -> None:
    """Scoring runs on log2(x+1) of the linear values: the same ranks, so the same ssGSEA as on the input itself."""
    from tmescope.io import read_expression, read_features
    from tmescope.scoring import score_signatures

    path = tmp_path / "expr.tsv"
    cohort.to_csv(path, sep="\t")
    res = CliRunner().invoke(
        main, ["signatures", "score", str(path), "-o", str(tmp_path / "out"), "--collection", "tls"]
    )
    assert res.exit_code == 0, res.output
    got = pd.read_csv(tmp_path / "out" / "scores.tsv", sep="\t", index_col=0)
    want = score_signatures(read_expression(path), sets="tls", method="ssgsea")
    assert got.shape == (10, want.shape[1])
    assert want.shape[1] >= 2
    np.testing.assert_allclose(got.to_numpy(), want.loc[got.index, got.columns].to_numpy(), rtol=1e-12)
    features = read_features(tmp_path / "out")
    assert set(features["feature"]) == {f"score.{c}" for c in want.columns}
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert prov["params"]["collection"] == "tls"


def test_a_panel_is_scored_with_its_coverage_and_own_gmt_sets(cohort: pd.DataFrame, tmp_path: Path) -> None:
    from tmescope import signatures

    gep = [g for g in signatures.get("gep_18gene_ayers2017").genes if g in cohort.index][:12]
    panel_genes = gep + list(cohort.index[:588])
    path = tmp_path / "panel.tsv"
    cohort.loc[cohort.index.isin(panel_genes)].to_csv(path, sep="\t")
    gmt = tmp_path / "mine.gmt"
    gmt.write_text("my_tcell\tdemo\tCD8A\tCD8B\tGZMA\tPRF1\n", encoding="utf-8")
    args = ["signatures", "score", str(path), "-o", str(tmp_path / "out"), "--name", "gep_18gene_ayers2017"]
    res = CliRunner().invoke(main, [*args, "--name", "ifng_6gene_ayers2017", "--gmt", str(gmt), "--method", "mean_z"])
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(tmp_path / "out" / "scores.tsv", sep="\t", index_col=0)
    coverage = pd.read_csv(tmp_path / "out" / "coverage.tsv", sep="\t").set_index("set")
    assert set(scores.columns) == {"gep_18gene_ayers2017", "ifng_6gene_ayers2017", "my_tcell"}
    assert coverage.loc["gep_18gene_ayers2017", "n_present"] == len(gep) == 12
    assert scores["gep_18gene_ayers2017"].notna().all()  # 12 of 18 genes: above the 50% floor
    expected_nan = coverage.loc["ifng_6gene_ayers2017", "coverage"] < 0.5
    assert scores["ifng_6gene_ayers2017"].isna().all() == expected_nan
    # only the GMT sets when nothing else is named
    res = CliRunner().invoke(main, ["signatures", "score", str(path), "-o", str(tmp_path / "gmt"), "--gmt", str(gmt)])
    assert res.exit_code == 0, res.output
    assert list(pd.read_csv(tmp_path / "gmt" / "scores.tsv", sep="\t", index_col=0).columns) == ["my_tcell"]


def test_profile_refuses_a_panel_and_points_to_signatures_score(cohort: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "panel.tsv"
    cohort.iloc[:600].to_csv(path, sep="\t")
    res = CliRunner().invoke(main, ["profile", str(path), "-o", str(tmp_path / "out"), "--no-report"])
    assert res.exit_code == 2
    assert "600 genes" in res.output
    assert "tmescope signatures score" in res.output


def test_profile_with_allow_missing_leaves_out_incomplete_genes(cohort: pd.DataFrame, tmp_path: Path) -> None:
    frame = cohort.astype(object)
    frame.iloc[5, 2] = "NA"
    frame.iloc[9, 7] = "NA"
    path = tmp_path / "na.tsv"
    frame.to_csv(path, sep="\t")
    base = ["--quiet", "profile", str(path), "--n-boot", "5", "--no-report"]
    res = CliRunner().invoke(main, [*base, "-o", str(tmp_path / "refused")])
    assert res.exit_code == 2
    assert "--allow-missing" in res.output
    res = CliRunner().invoke(main, [*base, "--allow-missing", "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    dropped = [f for f in prov["automatic_fixes"] if f["step"] == "genes.drop_missing"]
    assert len(dropped) == 1
    assert sorted(dropped[0]["items"]) == sorted([str(cohort.index[5]), str(cohort.index[9])])
    res = CliRunner().invoke(main, [*base, "--allow-missing", "--chunk-size", "5", "-o", str(tmp_path / "chunked")])
    assert res.exit_code == 2
    assert "not read in chunked profiling" in res.output
