from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from tmescope._errors import MissingKeyError
from tmescope.cli import main
from tmescope.crosstalk import channel_summary, crosstalk_features, infer_crosstalk, toy_cells
from tmescope.io import FEATURE_COLUMNS, read_features


@pytest.fixture(scope="module")
def two_samples():
    cells = toy_cells(n_cells=320, seed=3, n_samples=2)
    infer_crosstalk(cells, groupby="cell_type", sample_key="sample", n_perms=100, seed=0)
    return cells


def test_channel_features_per_sample(two_samples):
    feats = crosstalk_features(two_samples)
    assert list(feats.columns) == list(FEATURE_COLUMNS)
    assert sorted(feats["sample"].unique()) == ["S1", "S2"]
    table = feats.set_index(["sample", "feature"])
    for s in ("S1", "S2"):
        assert table.loc[(s, "crosstalk.caf_exclusion_n_significant"), "value"] >= 1
        assert table.loc[(s, "crosstalk.immune_checkpoint_n_significant"), "label"].startswith("tumour>T cell:CD274")
        # nothing in the toy data reaches endothelial receptors: not tested, flagged, counted as 0
        assert table.loc[(s, "crosstalk.angiogenesis_share"), "flag"] == "not_tested"
        assert table.loc[(s, "crosstalk.angiogenesis_n_significant"), "value"] == 0
    res = two_samples.uns["crosstalk"]["results"]
    summary = channel_summary(res).set_index(["sample", "channel"])
    s1 = res[(res["sample"] == "S1") & (res["fdr"] <= 0.05)]
    assert summary.loc[("S1", "all"), "n_significant"] == len(s1)
    assert summary.loc[("S1", "all"), "strength"] == pytest.approx(s1["lr_means"].sum())


def test_features_need_results():
    with pytest.raises(MissingKeyError, match="infer_crosstalk"):
        crosstalk_features(toy_cells(n_cells=20))


def test_cli_writes_tables_features_and_provenance(tmp_path):
    cells = toy_cells(n_cells=200, seed=1, n_samples=2)
    path = tmp_path / "cells.h5ad"
    cells.write_h5ad(path)
    out = tmp_path / "out"
    args = ["--seed", "2", "--quiet", "crosstalk", str(path), "-o", str(out), "--groupby", "cell_type"]
    args += ["--sample-key", "sample", "--n-perms", "64", "--spatial", "--radius", "60"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    feats = read_features(out)
    assert feats["feature"].str.startswith("crosstalk.spatial_").any()
    inter = pd.read_parquet(out / "interactions.parquet")
    assert set(inter["sample"]) == {"S1", "S2"}
    assert (out / "interactions_spatial.tsv").is_file()
    assert (out / "cells.h5ad").is_file()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 2
    assert prov["params"]["groupby"] == "cell_type"
    assert prov["resources"]["lr_resource"].startswith("omnipath-consensus")
    again = CliRunner().invoke(main, [*args, "--no-h5ad"])
    assert again.exit_code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "interactions.parquet"), inter)


def test_cli_refuses_bad_input(tmp_path):
    cells = toy_cells(n_cells=40)
    path = tmp_path / "c.h5ad"
    cells.write_h5ad(path)
    result = CliRunner().invoke(main, ["crosstalk", str(path), "-o", str(tmp_path / "o"), "--groupby", "nope"])
    assert result.exit_code == 2
    assert "'nope' not in adata.obs" in result.output
    result = CliRunner().invoke(main, ["crosstalk", str(tmp_path / "missing.h5ad"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "No file at" in result.output
