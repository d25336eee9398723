"""read_clinical and match_samples on the Liu 2019 clinical table and small tables."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tmescope._errors import AutoFixWarning, InputError, TmescopeWarning
from tmescope.io import match_samples, normalize_id, read_clinical, read_expression


@pytest.fixture(scope="module")
def liu_clinical(reference_dir):
    return read_clinical(reference_dir / "icb_liu2019_melanoma_pd1" / "clinical.tsv")


def test_liu_standard_columns(liu_clinical):
    c = liu_clinical
    assert len(c) == 121
    assert list(c.columns[:10]) == [
        "sample_id",
        "patient_id",
        "os_time",
        "os_event",
        "pfs_time",
        "pfs_event",
        "response",
        "recist",
        "timepoint",
        "treatment",
    ]
    # Counts from the data's PROVENANCE.md.
    assert c["response"].value_counts().to_dict() == {"NR": 60, "R": 52}
    assert int(c["response"].isna().sum()) == 9
    assert c["recist"].value_counts().to_dict() == {"PD": 56, "PR": 31, "SD": 18, "CR": 16}
    assert int(c["os_event"].sum()) == 62
    assert int(c["pfs_event"].sum()) == 86
    assert c["treatment"].value_counts().to_dict() == {"Pembrolizumab": 70, "Nivolumab": 51}
    assert c.attrs["columns_used"]["os_time"] == "os_time_months"
    assert "src.patientid" in c.columns  # original columns kept


def test_liu_samples_match_expression_exactly(reference_dir, liu_clinical):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmescopeWarning)
        expr = read_expression(reference_dir / "icb_liu2019_melanoma_pd1" / "expression_log2tpm.tsv.gz")
    table, report = match_samples(expr.obs_names, liu_clinical)
    assert report["n_matched"] == 121
    assert report["matched_by"]["exact"] == 121
    assert report["unmatched_samples"] == report["unmatched_clinical"] == []
    assert list(table.index) == list(expr.obs_names)


def test_liu_ids_in_other_spellings_match_with_a_warning(liu_clinical):
    ids = [s.upper().replace("PATIENT", "patient_") for s in liu_clinical["sample_id"][:10]]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        table, report = match_samples(ids, liu_clinical, min_overlap=0.05)
    fixes = [w for w in rec if issubclass(w.category, AutoFixWarning)]
    assert len(fixes) == 1
    assert "Matched 10 sample ID(s)" in str(fixes[0].message)
    assert "patient_105->Patient105" in str(fixes[0].message)
    assert report["matched_by"]["normalised"] == 10
    assert table["sample_id"].tolist() == liu_clinical["sample_id"][:10].tolist()
    assert any("111 clinical row(s)" in str(w.message) for w in rec)


def test_normalize_id_rules():
    assert normalize_id("TCGA-AB-0001-01A") == normalize_id("tcga.ab.0001.01a") == "TCGA-AB-0001-01"
    assert normalize_id("TCGA-AB-0001-01A-11R-A262-07") == "TCGA-AB-0001-01"
    assert normalize_id("pt_12 ") == "PT-12"


def test_response_words_and_recist_words(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(
        "Patient,OS_days,OS_status,Responder,Best Overall Response\n"
        "a,100,1:DECEASED,yes,Partial Response\nb,200,0:LIVING,no,progressive disease\n"
    )
    c = read_clinical(p)
    assert c["sample_id"].tolist() == ["a", "b"]
    assert c["os_event"].tolist() == [1.0, 0.0]
    assert c["response"].tolist() == ["R", "NR"]
    assert c["recist"].tolist() == ["PR", "PD"]


def test_event_without_time_in_a_real_cohort(reference_dir):
    path = reference_dir / "icb_hugo2016_melanoma_pd1" / "clinical.tsv"
    with pytest.raises(InputError, match=r"OS event but a blank or missing time in 'os_time_months': line 8 \(Pt8\)"):
        read_clinical(path)
    with pytest.warns(AutoFixWarning, match=r"OS event without a time.*line 8 \(Pt8\)"):
        c = read_clinical(path, bad_survival="missing")
    row = c.set_index("sample_id").loc["Pt8"]
    assert np.isnan(row["os_time"])
    assert np.isnan(row["os_event"])
    assert int(c["os_time"].notna().sum()) == 26


def test_unknown_response_value_named(tmp_path):
    p = tmp_path / "c.tsv"
    p.write_text("sample\tresponse\nA\tR\nB\tmaybe\n")
    with pytest.raises(InputError, match="line 3: 'maybe'"):
        read_clinical(p)


def test_duplicate_sample_rows_refused(tmp_path):
    p = tmp_path / "c.tsv"
    p.write_text("sample\tos_time\nA\t1\nA\t2\n")
    with pytest.raises(InputError, match="A \\(line 2, line 3\\)"):
        read_clinical(p)
