"""Scale detection and conversion on real and constructed matrices."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope._errors import AutoFixWarning, ScaleError
from tmescope.io import as_scale, detect_scale
from tmescope.io._scale import is_uncertain, parse_scale


@pytest.fixture(scope="module")
def liu_log(reference_dir):
    frame = pd.read_csv(reference_dir / "icb_liu2019_melanoma_pd1" / "expression_log2tpm.tsv.gz", sep="\t", index_col=0)
    return frame.to_numpy(dtype=np.float64).T


@pytest.fixture(scope="module")
def racle_tpm(reference_dir):
    frame = pd.read_csv(reference_dir / "epic" / "racle2017_melanoma_LN_expression_TPM.tsv", sep="\t", index_col=0)
    return frame.to_numpy(dtype=np.float64).T


def test_liu_is_log2_with_pseudocount_0001(liu_log):
    r = detect_scale(liu_log)
    assert (r.scale, r.pseudocount) == ("log2", 0.001)
    assert "-9.966" in r.evidence
    assert not is_uncertain(r)


def test_racle_tpm_is_linear_and_its_log2_is_log2(racle_tpm):
    assert detect_scale(racle_tpm).scale == "linear"
    r = detect_scale(np.log2(racle_tpm + 1))
    assert (r.scale, r.pseudocount) == ("log2", 1.0)


def test_ln_and_log10_are_log_other(racle_tpm, liu_log):
    assert detect_scale(np.log(racle_tpm + 1)).scale == "log_other"
    assert detect_scale(np.log10(racle_tpm + 1)).scale == "log_other"
    lin = np.clip(2.0**liu_log - 0.001, 0, None)
    r = detect_scale(np.log(lin + 0.001))
    assert r.scale == "log_other"
    assert "ln" in r.evidence


def test_linear_marker_subset_with_max_40_is_not_log(liu_log):
    # Case 20: a linear TPM subset whose maximum is 40 must not be read as log (the "max < 50" rule would).
    lin = np.clip(2.0**liu_log - 0.001, 0, None)
    low = np.flatnonzero((lin.max(axis=0) <= 40) & (lin.max(axis=0) > 5))[:20]
    sub = lin[:, low]
    sub = sub / sub.max() * 40
    assert detect_scale(sub).scale == "linear"


def test_zscores_are_centered(liu_log):
    z = (liu_log - liu_log.mean(axis=0)) / (liu_log.std(axis=0) + 1e-9)
    assert detect_scale(z).scale == "centered"


def test_few_small_negatives_do_not_change_the_scale(racle_tpm):
    x = racle_tpm.copy()
    x[0, :5] = -0.01
    r = detect_scale(x)
    assert r.scale == "linear"
    assert "5 small negative" in r.evidence


def test_integer_counts(rng):
    counts = rng.poisson(50, size=(4, 500)).astype(float)
    assert detect_scale(counts).scale == "counts"


def test_parse_scale():
    assert parse_scale("log2(x+1)") == ("log2", 1.0, 2.0)
    assert parse_scale("TPM").scale == "linear"
    with pytest.raises(ValueError, match="base"):
        parse_scale("log(x+1)")


def _adata(x, **info):
    a = ad.AnnData(np.asarray(x, dtype=np.float32))
    a.uns["tmescope_input"] = {"scale_source": "detected", **info}
    return a


def test_as_scale_unlogs_with_a_warning():
    a = _adata([[np.log2(1.001), np.log2(0.001)]], scale="log2", pseudocount=0.001, log_base=2.0)
    with pytest.warns(AutoFixWarning, match="un-logged"):
        out = as_scale(a, "linear", method="demo")
    np.testing.assert_allclose(out, [[1.0, 0.0]], atol=1e-6)


def test_as_scale_refuses_centered_naming_the_method():
    a = _adata([[0.5, -0.5]], scale="centered", pseudocount=None, log_base=None)
    with pytest.raises(ScaleError, match=r"mymethod .*centred"):
        as_scale(a, "linear", method="mymethod")


def test_as_scale_refuses_undeclared_log_other():
    a = _adata([[1.0, 2.0]], scale="log_other", pseudocount=1.0, log_base=None)
    with pytest.raises(ScaleError, match=r"ln\(x\+1\)"):
        as_scale(a, "linear", method="m")


def test_as_scale_refuses_negative_linear():
    a = _adata([[1.0, -2.0]], scale="linear", pseudocount=None, log_base=None)
    with pytest.raises(ScaleError, match="1 negative value"):
        as_scale(a, "log2p1", method="m")


def test_as_scale_layers_use_their_own_scale(rng):
    lin = rng.lognormal(1.0, 1.5, size=(3, 40))
    a = _adata(np.log2(lin + 0.001), scale="log2", pseudocount=0.001, log_base=2.0)
    a.layers["linear"] = lin.astype(np.float32)
    np.testing.assert_allclose(as_scale(a, "linear", layer="linear", method="m"), lin, rtol=1e-6)
    a.layers["other"] = lin.astype(np.float32) * 1000
    out = as_scale(a, "log2p1", layer="other", method="m")
    np.testing.assert_allclose(out, np.log2(lin * 1000 + 1), rtol=1e-5)


def test_counts_to_tpm_marks_genes_without_length(rng):
    counts = rng.poisson(200, size=(2, 3)).astype(np.float32)
    a = ad.AnnData(counts, var=pd.DataFrame(index=["CD8A", "PTPRC", "NOT_A_GENE"]))
    a.uns["tmescope_input"] = {"scale": "counts", "pseudocount": None, "log_base": None, "scale_source": "detected"}
    with pytest.warns(AutoFixWarning, match="1 gene\\(s\\) without a known length.*NOT_A_GENE"):
        tpm = as_scale(a, "linear", method="m")
    assert np.isnan(tpm[:, 2]).all()
    np.testing.assert_allclose(tpm[:, :2].sum(axis=1), 1e6)


def test_shallow_integer_counts_are_counts(rng):
    shallow = rng.poisson(0.5, size=(10, 3000)).astype(float)
    assert shallow.max() <= 30
    assert detect_scale(shallow).scale == "counts"


def test_all_missing_gene_does_not_warn():
    x = np.array([[1.0, np.nan, 3.0], [2.0, np.nan, 5.0], [4.0, np.nan, 1.0]] * 4)
    assert detect_scale(x).scale in {"linear", "log2"}
    z = np.random.default_rng(1).standard_normal((12, 3))
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    z[:, 1] = np.nan
    assert detect_scale(z).scale == "centered"


def test_integer_data_with_negative_minimum_are_not_logs():
    x = np.array([[1.0, 2.0, -3.0], [-2.0, 4.0, 5.0], [4.0, -3.0, -1.0]] * 4)
    assert detect_scale(x).scale != "log_other"
