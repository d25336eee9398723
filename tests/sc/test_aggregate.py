"""State scores, composition, pseudobulk, feature table and the `tmescope sc` command."""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tmescope._errors import MissingKeyError
from tmescope.cli import main
from tmescope.io import FEATURE_COLUMNS, read_features
from tmescope.sc import (
    GBM_STATES,
    annotate_compartments,
    assign_gbm_states,
    composition,
    default_state_sets,
    prepare_cells,
    profile_cells,
    pseudobulk,
    sc_features,
    score_states,
    wilson_interval,
)

if TYPE_CHECKING:
    from pathlib import Path


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = func(*args, **kwargs)
    return out, [str(c.message) for c in caught]


@pytest.fixture
def annotated(cells: ad.AnnData) -> ad.AnnData:
    work = _quiet(prepare_cells, cells, sample_key="patient")[0]
    _quiet(annotate_compartments, work, seed=0)
    return work


def test_wilson_interval_against_the_formula() -> None:
    k, n, z = 7.0, 40.0, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = wilson_interval(np.array([k]), np.array([n]))
    assert lo[0] == pytest.approx(centre - half)
    assert hi[0] == pytest.approx(centre + half)
    lo0, hi0 = wilson_interval(np.array([0]), np.array([10]))
    assert lo0[0] == 0.0
    assert 0.0 < hi0[0] < 0.35


def test_composition(annotated: ad.AnnData) -> None:
    comp = composition(annotated)
    assert set(comp["sample"]) == {"p1", "p2"}
    sums = comp.groupby("sample")["fraction"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    row = comp[(comp["sample"] == "p1") & (comp["compartment"] == "b_cell")].iloc[0]
    assert row["n_cells"] == pytest.approx(30, abs=2)
    assert row["n_total"] == 150
    assert row["ci_low"] < row["fraction"] < row["ci_high"]


def test_pseudobulk_sums_counts(annotated: ad.AnnData) -> None:
    pb = pseudobulk(annotated, groupby="compartment")
    counts = annotated.layers["counts"]
    for name, row in pb.obs.iterrows():
        mask = (annotated.obs["patient"].astype(str) == row["patient"]).to_numpy() & (
            annotated.obs["compartment"].astype(str) == row["compartment"]
        ).to_numpy()
        assert row["n_cells"] == mask.sum()
        np.testing.assert_allclose(pb[name].X.ravel(), np.asarray(counts[mask].sum(axis=0)).ravel())
    assert pb.uns["pseudobulk"]["values"].startswith("sum of adata.layers['counts']")
    per_sample = pseudobulk(annotated)
    assert per_sample.obs_names.tolist() == ["p1", "p2"]
    np.testing.assert_allclose(per_sample.X.sum(), counts.sum())


def test_pseudobulk_feeds_build_reference(annotated: ad.AnnData) -> None:
    bulk = pytest.importorskip("tmescope.bulk")
    if not hasattr(bulk, "build_reference"):
        pytest.skip("tmescope.bulk.build_reference is not available")
    pb = pseudobulk(annotated, groupby="compartment")
    ref = bulk.build_reference(pb, groupby="compartment", sample_key="patient", n_markers=5)
    assert {"b_cell", "cd8_t", "fibroblast", "monocyte_macrophage"} <= set(ref.cell_types)


def test_pseudobulk_of_log_input_is_normalised_expression(cells: ad.AnnData) -> None:
    work = _quiet(prepare_cells, cells, sample_key="patient")[0]
    del work.layers["counts"]
    work.obs["compartment"] = work.obs["truth"]
    pb = pseudobulk(work)
    assert "normalised expression" in pb.uns["pseudobulk"]["values"]
    np.testing.assert_allclose(pb.X.sum(axis=1), 1e4 * 150, rtol=1e-3)


def test_score_states(annotated: ad.AnnData) -> None:
    sets = {
        "fib_program": (["COL1A1", "COL1A2", "DCN", "LUM"], ["fibroblast"]),
        "everywhere": ["ACTB", "GAPDH", "B2M"],
    }
    summary = score_states(annotated, sets=sets, min_cells=5)
    assert annotated.obsm["sc_states"].shape == (annotated.n_obs, 2)
    fib = summary[summary["set"] == "fib_program"]
    assert set(fib["compartment"]) == {"fibroblast"}
    assert (fib["mean"] > 1.0).all()  # z-scores of the planted genes in their own cells
    every = summary[summary["set"] == "everywhere"]
    assert set(every["compartment"]) == set(annotated.obs["compartment"].astype(str))
    assert annotated.uns["sc_states"]["compartments"]["everywhere"] == ["all"]


def test_state_scores_do_not_depend_on_n_jobs(annotated: ad.AnnData) -> None:
    sets = {"fib_program": (["COL1A1", "COL1A2", "DCN", "LUM"], ["fibroblast"])}
    one = score_states(annotated, sets=sets, n_jobs=1)
    two = score_states(annotated, sets=sets, n_jobs=2)
    pd.testing.assert_frame_equal(one, two)


def test_default_state_sets_cover_the_issue() -> None:
    sets = default_state_sets()
    for name in (
        "mycaf_ohlund2017",
        "icaf_ohlund2017",
        "apcaf_elyada2019",
        "ecm_mycaf_kieffer2020",
        "ifng_icaf_kieffer2020",
        "t_exhaustion_sc",
        "t_cytotoxicity_sc",
        "macrophage_m2_like_sc",
        "mes2_neftel2019",
        "npc1_neftel2019",
        "tyrosine_catabolism_hpdl_nazemi2024",
        "collagens_naba2012",
    ):
        assert name in sets, name
    assert sets["collagens_naba2012"][1] == ("all",)


def test_features_table(annotated: ad.AnnData) -> None:
    score_states(annotated, sets={"fib_program": (["COL1A1", "COL1A2", "DCN", "LUM"], ["fibroblast"])})
    feats = sc_features(annotated, signatures=False)
    assert list(feats.columns) == list(FEATURE_COLUMNS)
    comp = feats[feats["feature"].str.startswith("composition.")]
    assert "composition.b_cell" in set(comp["feature"])
    assert (comp["unit"] == "fraction of cells").all()
    state = feats[feats["feature"] == "sc_state.fibroblast.fib_program"]
    assert len(state) == 2
    n = feats[feats["feature"] == "sc.n_cells"].set_index("sample")["value"]
    assert n.to_dict() == {"p1": 150.0, "p2": 150.0}
    with pytest.raises(MissingKeyError, match=r"run tmescope\.sc\.annotate_compartments"):
        sc_features(annotated, groupby="celltype", signatures=False)


def test_profile_cells_with_user_labels(cells: ad.AnnData) -> None:
    res, _ = _quiet(profile_cells, cells, sample_key="patient", labels_key="truth", states=False, signatures=False)
    assert "composition.mystery" in set(res.features["feature"])
    assert set(res.pseudobulk.obs["compartment"]) == {*res.cells.obs["truth"].astype(str)}


def test_cli_end_to_end(tmp_path: Path, cells: ad.AnnData) -> None:
    path = tmp_path / "tumour.h5ad"
    cells.write_h5ad(path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["--quiet", "sc", str(path), "-o", str(out), "--sample-key", "patient", "--no-states"]
    )
    assert result.exit_code == 0, result.output
    assert "prefixed with its sample" in result.output
    for name in ("features.parquet", "features.tsv", "cells.h5ad", "pseudobulk.h5ad", "provenance.json"):
        assert (out / name).is_file(), name
    feats = read_features(out)
    assert set(feats["sample"]) == {"p1", "p2"}
    assert "tme_signature.T_cells".lower() in {f.lower() for f in feats["feature"]}
    back = ad.read_h5ad(out / "cells.h5ad")
    assert back.obs["compartment"].astype(str).isin(["unknown"]).sum() >= 55
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["command"] == "sc"
    assert any(f["step"] == "sc.prefix_barcodes" for f in prov["automatic_fixes"])
    assert prov["inputs"][0]["role"] == "cells"


def test_cli_refuses_unknown_sample_key(tmp_path: Path, cells: ad.AnnData) -> None:
    path = tmp_path / "tumour.h5ad"
    cells.write_h5ad(path)
    result = CliRunner().invoke(main, ["sc", str(path), "-o", str(tmp_path / "o"), "--sample-key", "donor"])
    assert result.exit_code == 2
    assert "Sample column 'donor' not in adata.obs" in result.output
    assert not (tmp_path / "o" / "features.parquet").exists()


def test_gbm_states(rng: np.random.Generator) -> None:
    states = default_state_sets()
    neftel = {n: states[n] for sets in GBM_STATES.values() for n in sets}
    genes = sorted({g for gs, _ in neftel.values() for g in gs.genes})
    col = {g: i for i, g in enumerate(genes)}
    X = rng.gamma(0.5, size=(80, len(genes)))
    planted = {"mes_like": "mes1_neftel2019", "ac_like": "ac_neftel2019", "opc_like": "opc_neftel2019",
               "npc_like": "npc2_neftel2019"}  # fmt: skip
    truth = np.repeat(list(planted), 20)
    for k, name in enumerate(planted.values()):
        X[k * 20 : (k + 1) * 20, [col[g] for g in states[name][0].genes]] += 3.0
    a = ad.AnnData(X, var=pd.DataFrame(index=genes))
    a.obs["sample"] = ["g1", "g2"] * 40
    a.obs["compartment"] = pd.Categorical(["unknown"] * 78 + ["cd8_t"] * 2)
    score_states(a, sets=neftel, sample_key="sample")
    mix = assign_gbm_states(a)
    got = a.obs["gbm_state"].astype(str).to_numpy()
    assert (got[:78] == truth[:78]).mean() >= 0.95
    assert (got[78:] == "nan").all()
    assert set(mix.columns) == {"sample", "state", "n_cells", "n_total", "fraction", "ci_low", "ci_high"}
    np.testing.assert_allclose(mix.groupby("sample")["fraction"].sum(), 1.0)
    feats = sc_features(a, signatures=False)
    assert {"gbm_state.mes_like", "gbm_state.npc_like"} <= set(feats["feature"])


def test_gbm_states_need_state_scores(annotated: ad.AnnData) -> None:
    with pytest.raises(MissingKeyError, match=r"run tmescope\.sc\.score_states"):
        assign_gbm_states(annotated)


def test_cli_with_own_marker_table(tmp_path: Path, cells: ad.AnnData) -> None:
    path = tmp_path / "tumour.h5ad"
    cells.write_h5ad(path)
    markers = tmp_path / "markers.tsv"
    markers.write_text("compartment\tgene\nneuron\tSNAP25\nneuron\tSYT1\nb_cell\tMS4A1\nb_cell\tCD79A\n")
    out = tmp_path / "out"
    args = ["--quiet", "sc", str(path), "-o", str(out), "--sample-key", "patient", "--markers", str(markers)]
    result = CliRunner().invoke(main, [*args, "--no-states", "--no-signatures"])
    assert result.exit_code == 0, result.output
    feats = read_features(out)
    assert "composition.neuron" in set(feats["feature"])
    bad = tmp_path / "bad.tsv"
    bad.write_text("type\tsymbol\nneuron\tSNAP25\n")
    result = CliRunner().invoke(main, ["sc", str(path), "-o", str(tmp_path / "o2"), "--markers", str(bad)])
    assert result.exit_code == 2
    assert "lacks the column(s) ['compartment', 'gene']" in result.output


def test_cli_never_overwrites_its_input(tmp_path: Path, cells: ad.AnnData) -> None:
    path = tmp_path / "cells.h5ad"
    cells.write_h5ad(path)
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["sc", str(path), "-o", str(tmp_path), "--sample-key", "patient"])
    assert result.exit_code == 2
    assert "choose another output folder" in result.output
    assert path.read_bytes() == before


def test_cli_twice_gives_identical_tables(tmp_path: Path, cells: ad.AnnData) -> None:
    path = tmp_path / "tumour.h5ad"
    cells.write_h5ad(path)
    tables = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = CliRunner().invoke(
            main, ["--quiet", "--seed", "7", "sc", str(path), "-o", str(out), "--sample-key", "patient"]
        )
        assert result.exit_code == 0, result.output
        tables.append((out / "features.tsv").read_bytes())
        prov = json.loads((out / "provenance.json").read_text())
        assert prov["seed"] == 7
        assert prov["inputs"][0]["sha256"]
    assert tables[0] == tables[1]
