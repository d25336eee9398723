"""Formats (csv, parquet, h5ad), atomic writing, the demo dataset and the CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tmescope._errors import TmescopeWarning
from tmescope._provenance import Provenance, collect
from tmescope.cli import main as cli
from tmescope.datasets import liu2019_melanoma
from tmescope.io import read_expression, write_h5ad

FRAME = pd.DataFrame(
    {"S1": [12.5, 80.25, 5.5], "S2": [3.0, 40.0, 0.0]}, index=pd.Index(["CD8A", "PTPRC", "GZMB"], name="gene")
)


def test_csv_parquet_h5ad_give_the_same_values(tmp_path):
    FRAME.to_csv(tmp_path / "x.csv")
    FRAME.to_parquet(tmp_path / "x.parquet")
    FRAME.reset_index().to_parquet(tmp_path / "plain.parquet", index=False)
    ad.AnnData(FRAME.T.astype(np.float32)).write_h5ad(tmp_path / "x.h5ad")
    reads = {name: read_expression(tmp_path / name) for name in ("x.csv", "x.parquet", "plain.parquet", "x.h5ad")}
    for name, a in reads.items():
        assert list(a.obs_names) == ["S1", "S2"], name
        np.testing.assert_allclose(a[:, ["CD8A", "PTPRC", "GZMB"]].X, FRAME.T.to_numpy(), err_msg=name)
    assert reads["x.csv"].uns["tmescope_input"]["format"] == "csv"
    assert reads["x.parquet"].uns["tmescope_input"]["format"] == "parquet"
    assert reads["x.h5ad"].uns["tmescope_input"]["orientation"] == "samples_x_genes"


def test_r_style_header_without_rowname_field(tmp_path):
    p = tmp_path / "r.tsv"
    p.write_text("S1\tS2\nCD8A\t12.5\t3\nPTPRC\t80.25\t40\nGZMB\t5.5\t0\n")
    with pytest.warns(match="R write.table style"):
        a = read_expression(p)
    assert list(a.obs_names) == ["S1", "S2"]


def test_write_h5ad_round_trip_keeps_input_record(tmp_path):
    a = read_expression(_tsv(tmp_path))
    out = write_h5ad(a, tmp_path / "o" / "x.h5ad")
    b = read_expression(out)
    np.testing.assert_array_equal(a.X, b[:, a.var_names].X)
    stored = ad.read_h5ad(out).uns["tmescope_input"]
    assert stored["scale"] == "linear"
    assert stored["sha256"] == a.uns["tmescope_input"]["sha256"]


def test_reader_adds_input_and_fixes_to_active_provenance(tmp_path):
    p = tmp_path / "bom.tsv"
    p.write_bytes(b"\xef\xbb\xbf" + _tsv(tmp_path).read_bytes())
    prov = Provenance("test")
    with collect(prov), warnings.catch_warnings():
        warnings.simplefilter("ignore", TmescopeWarning)
        a = read_expression(p)
    assert prov.inputs[0]["sha256"] == a.uns["tmescope_input"]["sha256"]
    assert [f["step"] for f in prov.fixes] == ["io.decode"]
    assert prov.resources["genes"]["hgnc_snapshot"]


def test_demo_dataset_matches_source(reference_dir):
    adata, clinical = liu2019_melanoma()
    assert adata.shape == (121, 16737)
    assert adata.X.dtype == np.float32
    assert list(clinical.index) == list(adata.obs_names)
    info = adata.uns["tmescope_input"]
    assert (info["scale"], info["pseudocount"]) == ("log2", 0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmescopeWarning)
        src = read_expression(reference_dir / "icb_liu2019_melanoma_pd1" / "expression_log2tpm.tsv.gz")
    assert list(src.var_names) == list(adata.var_names)
    assert float(np.abs(src.X - adata.X).max()) <= 0.0006


def test_cli_inspect_done_when(reference_dir, tmp_path):
    """The issue's acceptance check: racle TPM is genes × samples, linear TPM, HGNC symbols; a log2 copy is log2."""
    src = reference_dir / "epic" / "racle2017_melanoma_LN_expression_TPM.tsv"
    runner = CliRunner()
    result = runner.invoke(cli, ["inspect", str(src)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "genes × samples" in out
    assert "linear TPM/FPKM-like" in out
    assert "HGNC symbols" in out
    assert "Gene mapping: 49902 identifiers ->" in out
    frame = pd.read_csv(src, sep="\t", index_col=0)
    logged = tmp_path / "racle_log2.tsv"
    np.log2(frame + 1).to_csv(logged, sep="\t", float_format="%.5f")
    result = runner.invoke(cli, ["inspect", str(logged), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert (summary["scale"], summary["pseudocount"], summary["scale_source"]) == ("log2", 1.0, "detected")


def test_cli_inspect_refusal_exits_2(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("gene\tS1\tS1\nCD8A\t1\t2\nPTPRC\t3\t4\n")
    result = CliRunner().invoke(cli, ["inspect", str(p)])
    assert result.exit_code == 2
    assert "Error: File" in result.output
    assert "S1 (×2)" in result.output


def test_cli_demo_is_registered():
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0
    assert "Liu et al. 2019" in result.output


def _tsv(tmp_path):
    p = tmp_path / "x.tsv"
    FRAME.to_csv(p, sep="\t")
    return p


def test_gct_and_comment_lines(tmp_path):
    gct = tmp_path / "a.gct"
    gct.write_text("#1.2\n3\t2\nName\tDescription\tS1\tS2\nCD8A\tna\t12.5\t3\nPTPRC\tna\t80\t40\nGZMB\tna\t5\t0\n")
    with pytest.warns(match="GCT 1.2 preamble"):
        a = read_expression(gct)
    assert list(a.obs_names) == ["S1", "S2"]
    commented = tmp_path / "c.tsv"
    commented.write_text("# exported by a pipeline\ngene\tS1\tS2\nCD8A\t12.5\t3\nPTPRC\t80\t40\nGZMB\t5\tx\n")
    with pytest.warns(match="skipped 1 comment line"), pytest.raises(Exception, match="line 5, row 'GZMB'"):
        read_expression(commented)


def test_annotation_columns_are_named(tmp_path):
    p = tmp_path / "fc.txt"
    p.write_text(
        "Geneid\tChr\tStart\tEnd\tStrand\tLength\ts1.bam\ts2.bam\n"
        "CD8A\tchr2;chr2\t1;5\t3;9\t-;-\t2000\t100\t200\nPTPRC\tchr1\t5\t9\t+\t3000\t500\t600\n"
    )
    with pytest.raises(ValueError, match=r"Chr, Strand hold text in every row.*featureCounts"):
        read_expression(p)


def test_cli_inspect_with_clinical_table(tmp_path):
    bad = Path(__file__).resolve().parents[1] / "data" / "io" / "bad_inputs"
    out = tmp_path / "o"
    args = ["inspect", str(bad / "33_tcga_expression.tsv"), "--clinical", str(bad / "33_tcga_clinical.tsv")]
    result = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Matching:     3 of 4 samples matched" in result.output
    assert "TCGA-AB-0009-01A" in result.output
    prov = json.loads((out / "provenance.json").read_text())
    assert [i["role"] for i in prov["inputs"]] == ["expression", "clinical"]
    assert any(f["step"] == "clinical.normalise_ids" for f in prov["automatic_fixes"])
