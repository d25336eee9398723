"""Bad-input corpus cases 9-17, 25 and 31: exact behaviour of the gene-identifier harmonisation."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from tmescope._errors import AutoFixWarning, InputError, TmescopeWarning
from tmescope._provenance import Provenance, collect
from tmescope.genes import detect_id_type, harmonize, harmonize_var

from .conftest import make_adata, truth_target

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd


def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[tuple[type[Warning], str]]]:
    """Call ``fn`` and return its result with every warning it emitted (category, text)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [(w.category, str(w.message)) for w in rec]


def only(ws: list[tuple[type[Warning], str]], category: type[Warning], needle: str) -> str:
    """The one warning of ``category`` whose text contains ``needle``."""
    hits = [m for c, m in ws if c is category and needle in m]
    assert len(hits) == 1, f"expected one {category.__name__} with {needle!r}, got {ws}"
    return hits[0]


# --- 9: NA / NaN are gene symbols ------------------------------------------------------------------------


def test_case09_na_nan_kept_as_identifiers(case09_na_nan, hgnc_lookup: pd.DataFrame):
    assert truth_target(hgnc_lookup, "NA", "withdrawn") == {"XK"}
    assert truth_target(hgnc_lookup, "NaN", "alias") == {"SCN11A"}
    m, ws = run(harmonize, ["NA", "NaN", "CD8A"], source="expr.tsv")
    assert m.symbol == ("XK", "SCN11A", "CD8A")
    assert m.outcome == ("withdrawn_successor", "alias", "approved")
    text = only(ws, AutoFixWarning, "previous, alias and withdrawn")
    assert "NA→XK" in text
    assert "NaN→SCN11A" in text
    assert "expr.tsv" in text

    _, ws = run(harmonize_var, case09_na_nan)
    assert list(case09_na_nan.var_names) == ["XK", "SCN11A", "CD8A"]
    assert list(case09_na_nan.var["original_ids"]) == ["NA", "NaN", "CD8A"]


def test_case09_missing_values_are_not_nan_symbol():
    # A float NaN (what pandas makes of "NaN" with NA parsing on) is a missing value, never the symbol NaN.
    m, ws = run(harmonize, ["CD8A", float("nan"), None])
    assert m.symbol == ("CD8A", None, None)
    assert m.outcome == ("CD8A" and "approved", "unmapped", "unmapped")
    assert "2 missing value(s)" in only(ws, TmescopeWarning, "match no approved")


# --- 10 / 31: duplicated genes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected_cd8a"),
    [("mean", [2.0, 7.0]), ("sum", [4.0, 14.0]), ("max_mean", [3.0, 9.0]), ("first", [1.0, 5.0])],
)
def test_case10_duplicates_aggregated_by_rule(case10_duplicate, rule, expected_cd8a):
    out, ws = run(harmonize_var, case10_duplicate, duplicates=rule, copy=True)
    assert list(out.var_names) == ["CD8A", "PTPRC"]
    np.testing.assert_allclose(np.asarray(out[:, "CD8A"].X).ravel(), expected_cd8a)
    np.testing.assert_allclose(np.asarray(out[:, "PTPRC"].X).ravel(), [10.0, 20.0])
    text = only(ws, AutoFixWarning, "Aggregated")
    assert "CD8A" in text
    assert f"rule '{rule}'" in text
    assert out.var.loc["CD8A", "original_ids"] == "CD8A|CD8A"
    assert out.uns["tmescope_input"]["gene_mapping"]["n_aggregated"] == 1
    # copy=True leaves the input as it was
    assert list(case10_duplicate.var_names) == ["CD8A", "CD8A", "PTPRC"]


def test_case10_aggregation_recorded_in_provenance(case10_duplicate):
    prov = Provenance(command="test")
    with collect(prov):
        run(harmonize_var, case10_duplicate, duplicates="sum")
    steps = [f["step"] for f in prov.fixes]
    assert "genes.aggregate_duplicates" in steps
    fix = next(f for f in prov.fixes if f["step"] == "genes.aggregate_duplicates")
    assert fix["rule"] == "sum"
    assert fix["n_items"] == 1
    assert prov.resources["gene_table"]["hgnc_snapshot"] == "2024-07-23"


# --- 11: case duplicates, white space ------------------------------------------------------------------


def test_case11_trim_case_and_aggregate(case11_case_and_space):
    out, ws = run(harmonize_var, case11_case_and_space, copy=True, duplicates="mean")
    assert list(out.var_names) == ["CD8A", "CD8B", "PTPRC"]
    np.testing.assert_allclose(np.asarray(out[:, "CD8A"].X).ravel(), [2.0, 7.0])
    trim = only(ws, AutoFixWarning, "white space")
    assert "'CD8B '" in trim
    assert "'PTPRC\\xa0'" in trim
    assert "2 item(s)" in trim
    case = only(ws, AutoFixWarning, "letter case")
    assert "cd8a→CD8A" in case
    agg = only(ws, AutoFixWarning, "Aggregated")
    assert "CD8A (from CD8A, cd8a)" in agg
    assert "rule 'mean'" in agg
    m = out.uns["tmescope_input"]["gene_mapping"]
    assert m["counts"]["trimmed"] == 2
    assert m["counts"]["case_fixed"] == 1


def test_case11_zero_width_and_tabs_trimmed():
    m, _ = run(harmonize, ["\ufeffCD8A", "\tGZMB\u200b", " PRF1\r"])
    assert m.symbol == ("CD8A", "GZMB", "PRF1")
    assert set(m.outcome) == {"trimmed"}


# --- 12: Ensembl versions and PAR_Y ------------------------------------------------------------------


def test_case12_versions_par_y_unmapped(case12_ensembl, hgnc_genes: pd.DataFrame):
    by_ens = dict(zip(hgnc_genes["ensembl_gene_id"], hgnc_genes["symbol"], strict=True))
    assert by_ens["ENSG00000141510"] == "TP53"
    assert by_ens["ENSG00000002586"] == "CD99"
    r = detect_id_type(case12_ensembl.var_names)
    assert r.kind == "ensembl"
    assert r.versioned
    out, ws = run(harmonize_var, case12_ensembl, copy=True, duplicates="sum")
    assert list(out.var_names) == ["TP53", "CD99"]
    np.testing.assert_allclose(np.asarray(out[:, "CD99"].X).ravel(), [4.0, 7.0])
    assert out.var.loc["CD99", "original_ids"] == "ENSG00000002586.20|ENSG00000002586.20_PAR_Y"
    ver = only(ws, AutoFixWarning, "version suffixes")
    assert "ENSG00000141510.19→TP53" in ver
    assert "_PAR_Y twin" in ver
    only(ws, AutoFixWarning, "Aggregated")
    unm = only(ws, TmescopeWarning, "match no approved")
    assert "ENSG00000000000.1" in unm
    assert out.uns["tmescope_input"]["gene_mapping"]["n_dropped"] == 1


def test_case12_unversioned_ensembl_is_plain_mapping():
    m, ws = run(harmonize, ["ENSG00000141510", "ENSG00000153563"])
    assert m.symbol == ("TP53", "CD8A")
    assert m.outcome == ("ensembl", "ensembl")
    assert ws == []


# --- 13: mixed identifier types ------------------------------------------------------------------------


def test_case13_mixed_types_error(case13_mixed):
    assert detect_id_type(case13_mixed).kind == "mixed"
    with pytest.raises(InputError, match="mix identifier types") as exc:
        harmonize(case13_mixed, source="mixed.tsv")
    msg = str(exc.value)
    for item in ("TP53", "ENSG00000153563", "5788", "mixed.tsv"):
        assert item in msg


def test_case13_dominant_type_maps_rest_with_warning(hgnc_genes: pd.DataFrame):
    symbols = hgnc_genes.loc[hgnc_genes["status"] == "Approved", "symbol"].iloc[:40].tolist()
    ids = [*symbols, "ENSG00000153563"]  # 40/41 = 97.6% symbols
    m, ws = run(harmonize, ids)
    assert m.symbol[-1] == "CD8A"
    assert m.outcome[-1] == "ensembl"
    text = only(ws, TmescopeWarning, "are not symbol identifiers")
    assert "ENSG00000153563" in text


# --- 14: spreadsheet dates ------------------------------------------------------------------------------


def test_case14_excel_dates_restored_via_previous_only(case14_excel, excel_candidates: pd.DataFrame):
    prev = excel_candidates[excel_candidates["kind"] == "previous"]
    truth = dict(zip(prev["excel_day_month"], prev["approved_symbol"], strict=False))
    assert truth["1-Mar"] == "MARCHF1"
    assert truth["2-Sep"] == "SEPTIN2"
    assert truth["1-Sep"] == "SEPTIN1"
    m, ws = run(harmonize, case14_excel, source="expr.xlsx.tsv")
    assert m.symbol == ("MARCHF1", "SEPTIN2", "SEPTIN2", None, "SEPTIN1", "CD8A")
    assert m.outcome == ("excel_restored",) * 3 + ("ambiguous", "excel_restored", "approved")
    text = only(ws, AutoFixWarning, "spreadsheet")
    for item in ("1-Mar→MARCHF1", "2-Sep→SEPTIN2", "Sep-02→SEPTIN2", "38961→SEPTIN1", "MARCH1", "SEPT2"):
        assert item in text
    amb = only(ws, TmescopeWarning, "ambiguous")
    assert "1-Dec" in amb
    assert "DELEC1" in amb
    assert "BHLHE40" in amb


def test_case14_excel_serial_only_in_symbol_context():
    # As Entrez IDs, numbers are never read as dates.
    m, _ = run(harmonize, ["925", "5788"], id_type="entrez")
    assert m.symbol == ("CD8A", "PTPRC")
    assert m.outcome == ("entrez", "entrez")


def test_case14_alias_dates_are_not_restored():
    # 1-Apr only comes from an alias (APR1 of MAGEH1): never restored; 4-Mar comes from MARCH4 (previous).
    m, ws = run(harmonize, ["CD8A", "PTPRC", "1-Apr", "4-Mar"])
    assert m.symbol[2:] == (None, "MARCHF4")
    assert m.outcome[2:] == ("ambiguous", "excel_restored")
    assert "APR1 (alias of MAGEH1)" in only(ws, TmescopeWarning, "ambiguous")


# --- 15: previous symbols, aliases, ambiguous -----------------------------------------------------------


def test_case15_old_and_alias_mapped_ambiguous_reported(case15_old_alias, hgnc_lookup: pd.DataFrame):
    expected = [truth_target(hgnc_lookup, q) for q in case15_old_alias]
    assert [len(e) for e in expected] == [1, 1, 1, 1, 1, 3]
    m, ws = run(harmonize, case15_old_alias)
    assert m.symbol[:5] == tuple(next(iter(e)) for e in expected[:5])
    assert m.symbol[:5] == ("SEPTIN1", "MARCHF1", "CD8A", "CD274", "HAVCR2")
    assert m.outcome == ("previous", "previous", "previous", "alias", "alias", "ambiguous")
    assert m.symbol[5] is None
    text = only(ws, AutoFixWarning, "previous, alias and withdrawn")
    for item in ("SEPT1→SEPTIN1", "MARCH1→MARCHF1", "CD8→CD8A", "PDL1→CD274", "TIM3→HAVCR2"):
        assert item in text
    amb = only(ws, TmescopeWarning, "ambiguous")
    for item in ("NOV", "CCN3", "PLXNA1", "RPL10"):
        assert item in amb
    assert m.summary()["ambiguous"] == ["NOV (could be CCN3 or PLXNA1 or RPL10)"]


def test_case15_withdrawn_symbol_to_single_successor(hgnc_genes: pd.DataFrame, hgnc_lookup: pd.DataFrame):
    wd = hgnc_lookup[(hgnc_lookup["kind"] == "withdrawn") & (hgnc_lookup["n_targets_ci"] == "1")]
    approved = set(hgnc_genes.loc[hgnc_genes["status"] == "Approved", "symbol"])
    upper = {s.upper() for s in approved}
    other_kinds = set(hgnc_lookup.loc[hgnc_lookup["kind"].isin(["previous", "alias"]), "query"])
    wd = wd[~wd["query"].str.upper().isin(upper) & ~wd["query"].isin(other_kinds) & ~wd["query"].str.isdigit()]
    sample = wd.iloc[:: max(1, len(wd) // 50)]
    m, _ = run(harmonize, sample["query"].tolist())
    assert list(m.symbol) == sample["approved_symbol"].tolist()
    assert set(m.outcome) == {"withdrawn_successor"}


# --- 16: an alias that is another gene's approved symbol ----------------------------------------------------


def test_case16_approved_wins(case16_alias_is_approved, hgnc_lookup: pd.DataFrame):
    row = hgnc_lookup[(hgnc_lookup["query"] == "ACAT1") & (hgnc_lookup["kind"] == "alias")]
    assert row["approved_symbol"].tolist() == ["SOAT1"]
    assert row["is_other_approved_symbol"].tolist() == ["1"]
    m, ws = run(harmonize, case16_alias_is_approved)
    assert m.symbol == ("ACAT1", "SOAT1", "CD8A")
    assert m.outcome == ("approved",) * 3
    text = only(ws, TmescopeWarning, "approved symbol wins")
    assert "ACAT1 (also alias of SOAT1)" in text


def test_case16_every_dual_string_stays_approved(hgnc_lookup: pd.DataFrame):
    dual = sorted(set(hgnc_lookup.loc[hgnc_lookup["is_other_approved_symbol"] == "1", "query"]))
    approved = set(hgnc_lookup.loc[hgnc_lookup["kind"] == "approved", "query"])
    exact = [q for q in dual if q in approved]
    assert len(exact) > 600
    m, ws = run(harmonize, exact)
    assert list(m.symbol) == exact
    assert set(m.outcome) == {"approved"}
    assert f"{len(exact)} gene symbol(s)" in only(ws, TmescopeWarning, "approved symbol wins")


# --- 17: mouse genes ------------------------------------------------------------------------------------------


def test_case17_mouse_case_error(case17_mouse):
    assert detect_id_type(case17_mouse).species_hint == "mouse"
    with pytest.raises(InputError, match="looks like mouse") as exc:
        harmonize(case17_mouse, source="mouse.tsv")
    assert "Cd8a" in str(exc.value)
    assert "mouse.tsv" in str(exc.value)
    with pytest.raises(InputError, match="looks like mouse"):
        harmonize_var(make_adata(case17_mouse))


def test_case17_mouse_ensembl_error():
    ids = ["ENSMUSG00000053977", "ENSMUSG00000026395", "ENSMUSG00000015437"]
    assert detect_id_type(ids).species_hint == "mouse"
    with pytest.raises(InputError, match="looks like mouse"):
        harmonize(ids)


def test_case17_human_orf_symbols_are_not_mouse():
    ids = ["C1orf21", "C2orf69", "C19orf12", "CD8A"]
    assert detect_id_type(ids).species_hint is None
    m, _ = run(harmonize, ids)
    assert set(m.outcome) == {"approved"}


# --- 25: transposed table detected through the hit rate --------------------------------------------------


def test_case25_transposed_axis_has_low_hit_rate(hgnc_genes: pd.DataFrame):
    genes = hgnc_genes.loc[hgnc_genes["status"] == "Approved", "symbol"].iloc[100:130].tolist()
    samples = [f"TCGA-AB-{i:04d}-01A" for i in range(30)]
    on_genes = detect_id_type(genes)
    on_samples = detect_id_type(samples)
    assert on_genes.kind == "symbol"
    assert on_genes.fractions["symbol"] == 1.0
    assert on_samples.kind == "unknown"
    assert on_samples.fractions["unknown"] == 1.0
