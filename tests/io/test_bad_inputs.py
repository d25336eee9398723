"""One test per case of the bad-input corpus (fixtures in tests/data/io/bad_inputs, built by
scripts/build_bad_inputs.py). Each checks the exact behaviour: the error type and the words that name the
problem and its place, or the warning and the items it lists.

Cases 10, 11, 13-16 (gene mapping) are tested at the ``tmescope.genes`` level; 9, 12 and 17 are checked here end
to end. Cases 18 (signature coverage), 37 (spatial coordinates) and 38 (concatenated single-cell samples) belong to
the scoring, spatial and single-cell readers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
from click.testing import CliRunner

from tmescope._errors import AutoFixWarning, InputError, ScaleError, TmescopeWarning
from tmescope._provenance import output_file
from tmescope.cli import main as cli
from tmescope.io import as_scale, match_samples, read_clinical, read_expression, write_h5ad

BAD = Path(__file__).resolve().parents[1] / "data" / "io" / "bad_inputs"


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmescopeWarning)
        return func(*args, **kwargs)


def info(adata):
    return adata.uns["tmescope_input"]


# --- 1-8: encodings, separators, row widths, compression, cells -------------------------------------------------


def test_01_bom_and_crlf_are_fixed_with_one_warning():
    with pytest.warns(AutoFixWarning, match=r"byte-order mark; read Windows \(CRLF\) line endings") as rec:
        a = read_expression(BAD / "01_bom_crlf.tsv")
    assert list(a.obs_names) == ["S1", "S2"]
    assert set(a.var_names) == {"CD8A", "PTPRC", "GZMB"}
    assert len([w for w in rec if issubclass(w.category, AutoFixWarning)]) == 1
    assert info(a)["fixes"][0]["step"] == "io.decode"


def test_02_utf16_with_bom_is_decoded_without_bom_refused():
    with pytest.warns(AutoFixWarning, match=r"UTF-16"):
        a = read_expression(BAD / "02_utf16_bom.txt")
    assert list(a.obs_names) == ["S1", "S2"]
    assert float(a[:, "PTPRC"].X[0, 0]) == pytest.approx(80.1)
    with pytest.raises(InputError, match=r"02_utf16_nobom.txt.*UTF-16 text without a byte-order mark"):
        read_expression(BAD / "02_utf16_nobom.txt")


def test_03_latin1_byte_named_with_line_and_byte():
    with pytest.raises(InputError, match=r"03_latin1_clinical.tsv', line 3, character 10: byte 0xfc"):
        read_clinical(BAD / "03_latin1_clinical.tsv")


def test_04_semicolon_and_decimal_comma():
    with pytest.raises(InputError, match=r"only 1 column parsed.*semicolon-separated.*decimal commas"):
        read_expression(BAD / "04_semicolon_decimal_comma.csv")
    with pytest.raises(InputError, match=r"line 2, row 'CD8A', column 'S1': '1,5' \(not a number\).*'1.5'"):
        read_expression(BAD / "04_semicolon_decimal_comma.csv", sep=";")


def test_05_short_row_named_by_line():
    with pytest.raises(InputError, match=r"1 row\(s\) do not have the 3 fields.*line 4 has 2"):
        read_expression(BAD / "05_short_last_row.tsv")


def test_06_extra_field_named_by_line():
    with pytest.raises(InputError, match=r"line 3 has 4"):
        read_expression(BAD / "06_extra_field.tsv")


def test_07_gzip_is_sniffed_not_trusted_by_extension():
    a = read_expression(BAD / "07_gzip_named.tsv")
    assert info(a)["format"] == "tsv.gz"
    assert a.shape == (2, 3)


def test_07_gzip_bomb_is_refused():
    assert (BAD / "07_gzip_bomb.tsv.gz").stat().st_size < 100_000
    with pytest.raises(InputError, match=r"200-fold.*decompression bomb"):
        read_expression(BAD / "07_gzip_bomb.tsv.gz")


def test_07_size_cap():
    with pytest.raises(InputError, match=r"decompresses to more than.*max_bytes"):
        read_expression(BAD / "07_gzip_named.tsv", max_bytes=100)
    with pytest.raises(InputError, match=r"above the input budget"):
        read_expression(BAD / "05_short_last_row.tsv", max_bytes=100)


def test_08_missing_and_nonfinite_cells_listed():
    with pytest.raises(InputError) as exc:
        read_expression(BAD / "08_missing_cells.tsv")
    text = str(exc.value)
    for part in (
        "5 cell(s) are not finite",
        "line 2, row 'CD8A', column 'S1': 'NA' (missing)",
        "line 3, row 'PTPRC', column 'S1': '#N/A' (missing)",
        "line 4, row 'GZMB', column 'S1': '-' (missing)",
        "column 'S2': 'inf' (infinite)",
        "column 'S3': '1e400' (infinite)",
        "allow_missing=True",
    ):
        assert part in text
    # Opting in to missing values does not accept infinities.
    with pytest.raises(InputError, match=r"2 cell\(s\).*'inf'.*'1e400'"):
        read_expression(BAD / "08_missing_cells.tsv", allow_missing=True)


def test_08_missing_values_only_when_opted_in():
    with pytest.raises(InputError, match=r"3 cell\(s\)"):
        read_expression(BAD / "08_missing_only.tsv")
    with pytest.warns(AutoFixWarning, match=r"3 missing cell\(s\) as NaN.*'NA'.*'#N/A'.*'-'"):
        a = read_expression(BAD / "08_missing_only.tsv", allow_missing=True)
    assert int(np.isnan(a.X).sum()) == 3


# --- 9, 12, 17: gene identifiers end to end ---------------------------------------------------------------------


def test_09_na_and_nan_gene_symbols_are_text():
    a = quiet(read_expression, BAD / "09_genes_na_nan.tsv")
    assert {"XK", "SCN11A", "CD8A", "PTPRC"} == set(a.var_names)
    np.testing.assert_allclose(a[:, "XK"].X.ravel(), [1.5, 2.5])


def test_12_versioned_ensembl_and_par_y():
    with pytest.warns(AutoFixWarning, match=r"CD99"):
        a = read_expression(BAD / "12_ensembl_versioned.tsv")
    assert set(a.var_names) == {"TP53", "CD99", "CD8A"}
    assert info(a)["id_type"] == "ensembl"
    # integer values -> counts -> duplicates summed
    assert info(a)["scale"] == "counts"
    np.testing.assert_allclose(a[:, "CD99"].X.ravel(), [6, 8])


def test_17_mouse_symbols_refused():
    with pytest.raises(InputError, match=r"like mouse genes.*Cd8a"):
        read_expression(BAD / "17_mouse_symbols.tsv")


# --- 19-24: value scale -----------------------------------------------------------------------------------------


def test_19_small_log_table_is_not_unlogged_until_declared():
    a = read_expression(BAD / "19_log2_small.tsv")
    assert info(a)["scale_source"] == "uncertain"
    with pytest.raises(ScaleError, match=r"EPIC needs to know the value scale.*scale='log2\(x\+1\)'"):
        as_scale(a, "linear", method="EPIC")
    declared = read_expression(BAD / "19_log2_small.tsv", scale="log2(x+1)")
    with pytest.warns(AutoFixWarning, match=r"EPIC: un-logged the input with 2\^x - 1"):
        lin = as_scale(declared, "linear", method="EPIC")
    assert lin[0, list(declared.var_names).index("CD8A")] == pytest.approx(2**3.64 - 1, rel=1e-5)


def test_19_confident_log2_conversion_is_never_silent(reference_dir, tmp_path):
    src = reference_dir / "icb_liu2019_melanoma_pd1" / "expression_log2tpm.tsv.gz"
    a = quiet(read_expression, src)
    assert info(a)["scale_source"] == "detected"
    with pytest.warns(AutoFixWarning, match=r"un-logged"):
        lin = as_scale(a, "linear", method="EPIC")
    assert lin.min() >= 0
    assert np.nanmax(lin) > 1000


def test_20_linear_max_40_is_not_unlogged():
    a = read_expression(BAD / "20_linear_max40.tsv")
    assert info(a)["scale"] == "linear"
    assert float(a.X.max()) == pytest.approx(40)
    np.testing.assert_allclose(as_scale(a, "linear", method="m"), a.X)


def test_21_zscores_are_centered_and_refused_by_methods():
    a = read_expression(BAD / "21_zscores.tsv")
    assert info(a)["scale"] == "centered"
    with pytest.raises(ScaleError, match=r"CIBERSORT needs non-negative expression.*centred or z-scored"):
        as_scale(a, "linear", method="CIBERSORT")


def test_22_few_negatives_refused_or_clipped():
    with pytest.raises(InputError, match=r"3 value\(s\) are negative.*-0.01.*negatives='clip'"):
        read_expression(BAD / "22_few_negatives.tsv")
    with pytest.warns(AutoFixWarning, match=r"set 3 negative value\(s\) to 0.*sample 'S1', gene 'CD19'"):
        a = read_expression(BAD / "22_few_negatives.tsv", negatives="clip")
    assert float(a.X.min()) == 0.0
    assert any(f["step"] == "io.clip_negative" for f in info(a)["fixes"])


def test_23_counts_to_tpm_with_library_sizes():
    a = read_expression(BAD / "23_raw_counts.tsv")
    assert info(a)["scale"] == "counts"
    assert info(a)["library_sizes"]["min"] == pytest.approx(float(a.X.sum(axis=1).min()))
    with pytest.warns(AutoFixWarning, match=r"EPIC: converted raw counts to TPM.*library sizes") as rec:
        tpm = as_scale(a, "linear", method="EPIC")
    fix = [w for w in rec if "counts to TPM" in str(w.message)]
    assert len(fix) == 1
    np.testing.assert_allclose(np.nansum(tpm, axis=1), 1e6)


def test_24_ln_and_log10_base_is_ambiguous():
    for name, base_hint in (("24_ln.tsv", "ln"), ("24_log10.tsv", "log10")):
        a = read_expression(BAD / name)
        assert info(a)["scale"] == "log_other"
        assert base_hint in info(a)["scale_evidence"]
        with pytest.raises(ScaleError, match=r"base other than 2.*declare|ambiguous"):
            as_scale(a, "linear", method="m")
    a = read_expression(BAD / "24_ln.tsv", scale="ln(x+0.001)")
    with pytest.warns(AutoFixWarning, match=r"un-logged"):
        lin = as_scale(a, "linear", method="m")
    assert lin.min() == 0.0


# --- 25-31: shape and names -------------------------------------------------------------------------------------


def test_25_transposed_refused_with_a_hint():
    with pytest.raises(InputError, match=r"looks transposed.*Transpose\? Pass orientation='samples_x_genes'"):
        read_expression(BAD / "25_transposed.tsv")
    a = read_expression(BAD / "25_transposed.tsv", orientation="samples_x_genes")
    assert list(a.obs_names) == ["S1", "S2"]
    assert info(a)["orientation"] == "samples_x_genes"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("26_empty.tsv", "is empty \\(0 bytes\\)"),
        ("26_header_only.tsv", "header line but no data rows"),
        ("26_one_gene.tsv", "single gene \\('CD8A'\\)"),
    ],
)
def test_26_empty_and_degenerate_tables(name, message):
    with pytest.raises(InputError, match=message):
        read_expression(BAD / name)


def test_26_one_sample_is_read_for_single_patient_profiles():
    a = read_expression(BAD / "26_one_sample.tsv")
    assert a.shape == (1, 3)


def test_27_constant_samples_are_named():
    with pytest.warns(TmescopeWarning, match=r"2 item\(s\): S2, S3 have the same value for every gene"):
        a = read_expression(BAD / "27_constant_sample.tsv")
    assert a.n_obs == 3


def test_28_duplicate_sample_names():
    with pytest.raises(InputError, match=r"duplicated sample names, 1 item\(s\): S1 \(×2\)"):
        read_expression(BAD / "28_duplicate_samples.tsv")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("29_truncated.h5ad", "incomplete or corrupt HDF5/h5ad"),
        ("29_empty.h5ad", "is empty \\(0 bytes\\)"),
        ("29_tsv_renamed.h5ad", "not HDF5.*rename it to .tsv"),
    ],
)
def test_29_damaged_h5ad(name, message):
    with pytest.raises(InputError, match=message):
        read_expression(BAD / name)


def test_30_huge_declared_shape_is_refused_before_loading():
    assert (BAD / "30_huge_shape.h5ad").stat().st_size < 50_000
    with pytest.raises(InputError, match=r"declares a 200,000 × 20,000 matrix.*not loaded"):
        read_expression(BAD / "30_huge_shape.h5ad")
    with pytest.raises(InputError, match=r"memory budget of 1.0 GiB"):
        read_expression(BAD / "30_huge_shape.h5ad", max_bytes=1 << 30)


def test_31_duplicate_obs_and_var_names_in_h5ad():
    with pytest.raises(InputError, match=r"duplicated sample names.*S1 \(×2\)"):
        read_expression(BAD / "31_duplicate_obs.h5ad")
    with pytest.warns(AutoFixWarning, match=r"Aggregated.*CD8A"):
        a = read_expression(BAD / "31_duplicate_var.h5ad")
    assert sorted(a.var_names) == ["CD8A", "PTPRC"]
    np.testing.assert_allclose(a[:, "CD8A"].X.ravel(), [1.5, 4.5])


@pytest.mark.parametrize("name", ["32_table.pkl", "32_model.joblib", "32_objects.npy", "32_pickle_named.tsv"])
def test_32_pickle_based_inputs_refused(name):
    with pytest.raises(InputError, match=r"does not read pickle-based files"):
        read_expression(BAD / name)


# --- 33-34: clinical --------------------------------------------------------------------------------------------


def test_33_id_normalisation_lists_both_sides():
    expr = read_expression(BAD / "33_tcga_expression.tsv")
    clin = read_clinical(BAD / "33_tcga_clinical.tsv")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        table, report = match_samples(expr.obs_names, clin)
    messages = [str(w.message) for w in rec]
    assert list(table.index) == ["TCGA-AB-0001-01A", "TCGA-AB-0002-01A", "TCGA-AB-0003-01A"]
    assert report["matched_by"] == {"exact": 0, "normalised": 0, "patient": 3}
    assert report["unmatched_samples"] == ["TCGA-AB-0009-01A"]
    assert report["unmatched_clinical"] == ["TCGA-AB-0004"]
    assert any("after normalisation" in m and "TCGA-AB-0002-01A->tcga.ab.0002" in m for m in messages)
    assert any("have no clinical row" in m and "TCGA-AB-0009-01A" in m for m in messages)
    assert any("have no expression sample" in m and "TCGA-AB-0004" in m for m in messages)
    assert table["os_time"].tolist() == [10.0, 20.0, 30.0]


def test_33_low_overlap_is_an_error():
    clin = read_clinical(BAD / "33_tcga_clinical.tsv")
    with pytest.raises(InputError, match=r"Only 0 of 2 expression samples match.*Expression IDs: 2 item\(s\): X1, X2"):
        match_samples(["X1", "X2"], clin)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("34_duplicate_patient.tsv", "patient P1, os_time: \\['12.0', '15.0'\\] \\(line 2, line 3\\)"),
        ("34_negative_os.tsv", "line 3: '-3' is negative"),
        ("34_blank_os.tsv", "OS event but a blank or missing time in 'os_time': line 3 \\(P2\\)"),
        ("34_mixed_events.tsv", "mixes event codings.*'Yes'.*'1'.*'dead'"),
    ],
)
def test_34_clinical_rows_refused(name, message):
    with pytest.raises(InputError, match=message):
        read_clinical(BAD / name)


# --- 35-36, 39: outputs -----------------------------------------------------------------------------------------


def test_35_unsafe_sample_ids_are_kept_and_never_leave_outdir(tmp_path):
    a = read_expression(BAD / "35_unsafe_ids.tsv")
    assert list(a.obs_names) == ["../x", "a/b", "CON"]
    for sid in a.obs_names:
        path = output_file(tmp_path, sid, ".tsv")
        assert path.parent == tmp_path.resolve()
        assert path.name.split(".")[0].upper() != "CON"


def test_36_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    a = read_expression(BAD / "26_one_sample.tsv")
    final = tmp_path / "out.h5ad"
    write_h5ad(a, final)
    before = final.read_bytes()

    def broken(self, filename, **kwargs):
        Path(filename).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(ad.AnnData, "write_h5ad", broken)
    with pytest.raises(KeyboardInterrupt):
        write_h5ad(a, final)
    assert final.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.h5ad"]


def test_36_killed_process_leaves_no_file_at_final_path(tmp_path):
    final = tmp_path / "killed.h5ad"
    code = textwrap.dedent(
        f"""
        import os, anndata as ad, numpy as np
        from pathlib import Path
        from tmescope.io import write_h5ad
        def die(self, filename, **kwargs):
            Path(filename).write_bytes(b"half")
            os._exit(9)
        ad.AnnData.write_h5ad = die
        write_h5ad(ad.AnnData(np.ones((2, 2), dtype=np.float32)), {str(final)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 9
    assert not final.exists()


def test_39_same_input_twice_gives_identical_outputs(tmp_path):
    runner = CliRunner()
    outs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        result = runner.invoke(cli, ["--seed", "7", "inspect", str(BAD / "20_linear_max40.tsv"), "-o", str(out)])
        assert result.exit_code == 0, result.output
        outs.append(out)
    assert (outs[0] / "inspection.json").read_bytes() == (outs[1] / "inspection.json").read_bytes()
    prov = json.loads((outs[0] / "provenance.json").read_text())
    assert prov["seed"] == 7
    assert prov["inputs"][0]["sha256"] == info(read_expression(BAD / "20_linear_max40.tsv"))["sha256"]
    assert prov["versions"]["numpy"] == np.__version__
    assert prov["resources"]["genes"]["hgnc_snapshot"]
