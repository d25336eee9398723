"""Model fidelity: distances, fidelity scores, compartment deficits, ranking, refusals, CLI and report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tmescope._errors import InputError
from tmescope.cli import main
from tmescope.cohort import model_fidelity, simulate_models
from tmescope.cohort._fidelity import _distances
from tmescope.io import write_features


@pytest.fixture(scope="module")
def sim() -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate_models(n_patients=50, seed=1)


def test_distance_oracle(rng: np.random.Generator) -> None:
    a, b = rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    b[0, 2] = np.nan
    d = _distances(a, b)
    for i in range(3):
        for j in range(4):
            ok = np.isfinite(b[j])
            assert d[i, j] == pytest.approx(np.sqrt(np.mean((a[i, ok] - b[j, ok]) ** 2)))


def test_deficits_and_ranking(sim: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    models, patients = sim
    res = model_fidelity(models, patients)
    comp = res.compartments
    assert comp.loc["cell_line", "deficits"] == "no immune compartment; no CAF signal; no vasculature signal"
    assert comp.loc["organoid", "deficits"] == "no immune compartment; no vasculature signal"
    assert comp.loc["xenograft_like_patient", "deficits"] == ""
    # the model built from patient T000 is the best model for T000 and closer than every other tumour
    assert res.fidelity.loc["xenograft_like_patient", "T000"] == 1.0
    top = res.ranking[(res.ranking["target"] == "T000") & (res.ranking["rank"] == 1)]
    assert top["model"].item() == "xenograft_like_patient"
    # within each target, equal fidelity is ordered by distance
    for _, g in res.ranking.groupby("target"):
        assert g.sort_values("rank")[["fidelity", "distance"]].apply(tuple, axis=1).tolist() == sorted(
            g[["fidelity", "distance"]].apply(tuple, axis=1).tolist(), key=lambda t: (-t[0], t[1])
        )
    mean_fid = res.fidelity.mean(axis=1)
    assert mean_fid["xenograft_like_patient"] > 0.3
    assert mean_fid["cell_line"] < mean_fid["organoid"] < mean_fid["xenograft_like_patient"]
    assert ((res.fidelity >= 0) & (res.fidelity <= 1)).all().all()


def test_a_patient_as_model_is_typical(sim: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # A held-out real tumour used as a "model" must be about as close as a typical other tumour (fidelity ~0.5).
    _, patients = sim
    held = [f"T{i:03d}" for i in range(40, 50)]
    models = patients[patients["sample"].isin(held)]
    rest = patients[~patients["sample"].isin(held)]
    res = model_fidelity(models, rest)
    assert 0.35 < float(res.fidelity.to_numpy().mean()) < 0.65
    assert (res.compartments["deficits"] == "").mean() >= 0.7


def test_grouped_fidelity(sim: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    models, patients = sim
    samples = sorted(patients["sample"].unique())
    groups = pd.Series(np.where(np.arange(len(samples)) % 2 == 0, "even", "odd"), index=samples)
    res = model_fidelity(models, patients, groups=groups)
    assert list(res.fidelity.columns) == ["even", "odd"]
    assert set(res.ranking["target"]) == {"even", "odd"}


def test_refusals(sim: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    models, patients = sim
    with pytest.raises(InputError, match=r"share only 4 feature\(s\) \(at least 10 needed\)"):
        model_fidelity(models, patients, include=["tme_signature.caf", "tme_signature.matrix", "estimate.stromal"])
    clash = models.assign(sample=models["sample"].replace({"organoid": "T001"}))
    with pytest.raises(InputError, match="in both tables"):
        model_fidelity(clash, patients)


def test_cli_fidelity(sim: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    models, patients = sim
    (tmp_path / "m").mkdir()
    (tmp_path / "p").mkdir()
    write_features(models, tmp_path / "m")
    write_features(patients, tmp_path / "p")
    res = CliRunner().invoke(main, ["fidelity", str(tmp_path / "m"), str(tmp_path / "p"), "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "cell_line: mean fidelity" in res.output
    assert "no CAF signal" in res.output
    for name in ("fidelity.tsv", "distance.tsv", "compartments.tsv", "ranking.tsv", "provenance.json"):
        assert (tmp_path / "o" / name).exists()
    html = (tmp_path / "o" / "report" / "index.html").read_text()
    assert 'id="matrix"' in html
    assert "no immune compartment" in html
    bad = CliRunner().invoke(
        main, ["fidelity", str(tmp_path / "m"), str(tmp_path / "p"), "-o", str(tmp_path / "o2"), "--groupby", "x.y"]
    )
    assert bad.exit_code == 2
    assert "no feature 'x.y'" in bad.output
