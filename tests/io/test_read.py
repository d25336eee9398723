"""read_expression on real files and small tables."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

from tmescope._errors import InputError, TmescopeWarning
from tmescope.io import read_expression


def _read_quiet(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmescopeWarning)
        return read_expression(path, **kwargs)


@pytest.fixture(scope="module")
def racle(reference_dir):
    return _read_quiet(reference_dir / "epic" / "racle2017_melanoma_LN_expression_TPM.tsv")


def test_racle_tpm_is_genes_by_samples_linear_symbols(racle):
    info = racle.uns["tmescope_input"]
    assert racle.n_obs == 4
    assert info["orientation"] == "genes_x_samples"
    assert info["scale"] == "linear"
    assert info["id_type"] == "symbol"
    assert info["gene_mapping"]["counts"]["approved"] > 10_000
    assert racle.X.dtype == np.float32
    assert {"CD8A", "PTPRC"} <= set(racle.var_names)


def test_log2_copy_of_racle_is_log2(reference_dir, tmp_path):
    src = reference_dir / "epic" / "racle2017_melanoma_LN_expression_TPM.tsv"
    lines = src.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        name, *vals = line.split("\t")
        out.append("\t".join([name, *(f"{np.log2(float(v) + 1):.5f}" for v in vals)]))
    path = tmp_path / "racle_log2.tsv.gz"
    path.write_bytes(gzip.compress(("\n".join(out) + "\n").encode()))
    a = _read_quiet(path)
    info = a.uns["tmescope_input"]
    assert (info["scale"], info["pseudocount"], info["format"]) == ("log2", 1.0, "tsv.gz")


def test_values_are_kept_as_given(tmp_path):
    p = tmp_path / "x.tsv"
    p.write_text("gene\tS1\tS2\nCD8A\t12.5\t3\nPTPRC\t80.25\t40\nGZMB\t5.5\t0\n")
    a = read_expression(p)
    np.testing.assert_array_equal(a[:, ["CD8A", "PTPRC", "GZMB"]].X, np.array([[12.5, 80.25, 5.5], [3, 40, 0]]))
    assert list(a.obs_names) == ["S1", "S2"]


def test_transposed_table_is_refused_with_a_hint(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("sample\tCD8A\tPTPRC\tGZMB\nS1\t1\t2\t3\nS2\t4\t5\t6\n")
    with pytest.raises(InputError, match=r"transposed.*orientation='samples_x_genes'"):
        read_expression(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmescopeWarning)
        a = read_expression(p, orientation="samples_x_genes")
    assert list(a.obs_names) == ["S1", "S2"]
