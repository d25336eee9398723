"""analyze_cohort / run_cohort, the cohort figures and page, and `tmescope cohort`."""

from __future__ import annotations

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tmescope._errors import InputError
from tmescope.cli import main
from tmescope.cohort import analyze_cohort, associate, run_cohort, simulate_cohort, survival_curves, write_cohort
from tmescope.io import write_features
from tmescope.pl import _cohort as cfig


@pytest.fixture(scope="module")
def sim() -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate_cohort(n_samples=90, n_features=6, effects={"sim.f0": 0.8, "sim.f1": -0.6}, seed=42)


@pytest.fixture
def profile_dir(tmp_path: Path, sim: tuple[pd.DataFrame, pd.DataFrame]) -> Path:
    feats, clin = sim
    d = tmp_path / "prof"
    d.mkdir()
    write_features(feats, d)
    clin.to_csv(tmp_path / "clinical.tsv", sep="\t", index=False)
    return d


def test_analyze_skips_what_the_table_cannot_support(sim: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    feats, clin = sim
    res = analyze_cohort(feats, clinical=clin.drop(columns=["pfs_time", "pfs_event"]), by=["sim.group"], n_boot=50)
    assert set(res.association["outcome"]) == {"os", "response", "recist"}
    assert "pfs" in res.skipped
    assert "pfs_time" in res.skipped["pfs"]
    assert list(res.curves) == ["os by sim.group"]
    assert len(res.roc) == 5
    # asked for explicitly: the refusal is raised, not skipped
    with pytest.raises(InputError, match="pfs_time, pfs_event"):
        analyze_cohort(feats, clinical=clin.drop(columns=["pfs_time"]), outcomes=["pfs"])


def test_figures(sim: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    feats, clin = sim
    res = associate(feats, clinical=clin, outcome="response", n_boot=50)
    fig = cfig.forest(res, top=4)
    assert len(fig.data[0].y) == 4
    # strongest on top: plotly draws the first category at the bottom
    assert fig.data[0].y[-1].startswith(res.loc[0, "feature"].split(".")[1])
    colors = fig.data[0].marker.color
    assert colors[-1] == cfig._SIG
    rec = associate(feats, clinical=clin, outcome="recist")
    assert cfig.forest(rec).layout.xaxis.type == "linear"
    files = cfig.forest_static(res, tmp_path / "forest")
    assert [p.suffix for p in files] == [".png", ".svg"]
    sc = survival_curves(feats, clinical=clin, by="sim.group")
    km = cfig.km_curves(*sc)
    assert "log-rank p" in km.layout.title.text
    assert all(p.stat().st_size > 1000 for p in cfig.km_static(*sc, tmp_path / "km"))
    with pytest.raises(InputError, match="nothing to plot"):
        cfig.forest(res.assign(status="refused: x"))


def test_run_cohort_writes_every_output(profile_dir: Path) -> None:
    out = run_cohort(
        profile_dir, profile_dir.parent / "out", clinical=profile_dir.parent / "clinical.tsv", by=["sim.f0"], n_boot=50
    )
    names = {p.name for p in out.iterdir()}
    assert {
        "association.parquet",
        "association.tsv",
        "km_curves.tsv",
        "km_tests.json",
        "roc.tsv",
        "provenance.json",
        "report",
    } <= names
    assoc = pd.read_parquet(out / "association.parquet")
    top_os = assoc[assoc["outcome"] == "os"].iloc[0]
    assert top_os["feature"] == "sim.f0"
    tests = json.loads((out / "km_tests.json").read_text())
    assert tests["tests"]["os by sim.f0"]["p"] < 0.01
    prov = json.loads((out / "provenance.json").read_text())
    assert {i["role"] for i in prov["inputs"]} == {"features", "clinical"}
    html = (out / "report" / "index.html").read_text()
    for anchor in ("outcome-os", "outcome-response", "outcome-recist", "km", "roc", "methods"):
        assert f'id="{anchor}"' in html
    assert (out / "report" / "assets" / "plotly.min.js").exists()
    assert (out / "report" / "figures" / "forest_os.svg").exists()


def test_clinical_read_from_profile_h5ad(profile_dir: Path, sim: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, clin = sim
    obs = clin.set_index("sample_id").drop(columns=["patient_id"])
    ad.AnnData(obs=obs).write_h5ad(profile_dir / "profile.h5ad")
    out = run_cohort(profile_dir, profile_dir.parent / "out2", outcomes=["response"], by=[], n_boot=20, report=False)
    assoc = pd.read_parquet(out / "association.parquet")
    assert set(assoc["outcome"]) == {"response"}
    assert not (out / "report").exists()


def test_cli_cohort(profile_dir: Path) -> None:
    runner = CliRunner()
    out = profile_dir.parent / "cli_out"
    res = runner.invoke(
        main,
        [
            "cohort",
            str(profile_dir),
            "--clinical",
            str(profile_dir.parent / "clinical.tsv"),
            "-o",
            str(out),
            "--outcome",
            "os",
            "--covariates",
            "sim.f5",
            "--by",
            "sim.group",
            "--n-boot",
            "20",
            "--no-report",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "os: 8 features tested" in res.output
    assoc = pd.read_parquet(out / "association.parquet")
    assert (assoc["covariates"] == "sim.f5").all()
    # refusal: a clear message and exit status 2
    clin = pd.read_csv(profile_dir.parent / "clinical.tsv", sep="\t")
    clin["os_event"] = np.where(np.arange(len(clin)) < 4, 1, 0)
    clin.to_csv(profile_dir.parent / "few.tsv", sep="\t", index=False)
    res = runner.invoke(
        main,
        [
            "cohort",
            str(profile_dir),
            "--clinical",
            str(profile_dir.parent / "few.tsv"),
            "-o",
            str(out / "x"),
            "--outcome",
            "os",
        ],
    )
    assert res.exit_code == 2
    assert "Only 4 OS event(s)" in res.output


def test_write_cohort_without_curves(sim: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    feats, clin = sim
    res = analyze_cohort(feats, clinical=clin, outcomes=["recist"], by=[])
    written = write_cohort(res, tmp_path / "w")
    assert (tmp_path / "w" / "report" / "index.html") in written
    html = (tmp_path / "w" / "report" / "index.html").read_text()
    assert "No survival outcome could be analysed" in html
    assert "No response outcome was analysed" in html


def test_run_with_groups_and_prediction(profile_dir: Path) -> None:
    runner = CliRunner()
    out = profile_dir.parent / "gp"
    res = runner.invoke(
        main,
        [
            "cohort",
            str(profile_dir),
            "--clinical",
            str(profile_dir.parent / "clinical.tsv"),
            "-o",
            str(out),
            "--outcome",
            "response",
            "--compare",
            "sim.group",
            "--predict",
            "--by",
            "",
            "--n-boot",
            "50",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "out-of-fold AUC" in res.output
    assert (out / "groups.tsv").exists()
    summary = json.loads((out / "prediction.json").read_text())
    assert 0 <= summary["auc_out_of_fold"] <= 1
    html = (out / "report" / "index.html").read_text()
    assert 'id="groups"' in html
    assert 'id="prediction"' in html
    assert "Out-of-fold AUC" in html
