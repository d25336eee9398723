from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from tmescope.cli import main

from .conftest import synthetic_mixtures


def _write_tpm(tmp_path, n=3):
    adata, truth = synthetic_mixtures("til10", n, seed=11)
    frame = pd.DataFrame(adata.X.T, index=adata.var_names, columns=adata.obs_names)
    path = tmp_path / "expr.tsv"
    frame.to_csv(path, sep="\t", index_label="gene")
    return path, truth


def test_composition_command_writes_outputs(tmp_path):
    path, truth = _write_tpm(tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["--seed", "3", "composition", str(path), "-o", str(out), "--n-boot", "20", "--scale", "linear"]
    )
    assert res.exit_code == 0, res.output
    feats = pd.read_csv(out / "features.tsv", sep="\t")
    cd8 = feats[feats["feature"] == "composition.cd8_t"].set_index("sample")
    np.testing.assert_allclose(cd8["value"], truth["cd8_t"], atol=0.02)
    assert (cd8["ci_low"] <= cd8["value"]).all()
    assert {"estimate.purity", "abundance.fibroblasts", "composition.other", "composition.fit"} <= set(feats["feature"])
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 3
    assert (out / "composition.h5ad").exists()


def test_composition_command_refuses_centred_input(tmp_path):
    path, _ = _write_tpm(tmp_path, n=4)
    frame = pd.read_csv(path, sep="\t", index_col=0)
    frame = frame.sub(frame.mean(axis=1), axis=0)
    frame.to_csv(path, sep="\t")
    res = CliRunner().invoke(main, ["composition", str(path), "-o", str(tmp_path / "o"), "--scale", "centered"])
    assert res.exit_code == 2
    assert "Error:" in res.output


def test_composition_reads_a_samples_by_genes_table_once_declared(tmp_path):
    adata, _ = synthetic_mixtures("til10", 4, seed=12)
    path = tmp_path / "rows.tsv"
    pd.DataFrame(adata.X, index=adata.obs_names, columns=adata.var_names).to_csv(path, sep="\t", index_label="sample")
    args = ["--quiet", "composition", str(path), "--n-boot", "0", "--scale", "linear"]
    res = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "a")])
    assert res.exit_code == 2
    assert "looks transposed" in res.output
    res = CliRunner().invoke(main, [*args, "--orientation", "samples_x_genes", "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    feats = pd.read_csv(tmp_path / "b" / "features.tsv", sep="\t")
    assert set(feats["sample"]) == set(adata.obs_names)
    prov = json.loads((tmp_path / "b" / "provenance.json").read_text())
    assert prov["params"]["read_options"]["orientation"] == "samples_x_genes"
