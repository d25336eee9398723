"""Tests of the packaged signature library, its API and GMT round trips."""

from __future__ import annotations

import re

import pytest

from tmescope import signatures as sig


def test_bagaev_has_29_sets_in_mfp_order(reference_dir):
    order = (reference_dir / "signatures" / "bagaev2021_mfp" / "gene_signatures_order.tsv").read_text().split()
    sets = sig.get_sets(collection="bagaev2021")
    assert list(sets) == order
    assert len(sets) == 29


def test_required_names_exist_and_gep_is_not_expanded_immune():
    for name in (
        "cytolytic_activity_rooney2015",
        "ifng_6gene_ayers2017",
        "expanded_immune_ayers2017",
        "gep_18gene_ayers2017",
        "tide_ctl_jiang2018",
        "tls_9gene_cabrita2020",
        "estimate_stromal_yoshihara2013",
        "estimate_immune_yoshihara2013",
        "tyrosine_catabolism_hpdl_nazemi2024",
    ):
        gs = sig.get(name)
        assert gs.citation
        assert gs.doi
        assert gs.licence
        assert gs.source
    gep = set(sig.get("gep_18gene_ayers2017").genes)
    assert len(gep) == 18
    assert {"CD274", "PDCD1LG2", "CD276", "TIGIT"} <= gep
    assert gep != set(sig.get("expanded_immune_ayers2017").genes)
    assert "HPDL" in sig.get("tyrosine_catabolism_hpdl_nazemi2024").genes
    assert len(sig.get("estimate_stromal_yoshihara2013").genes) == 141


def test_outdated_symbols_are_mapped():
    every = {g for s in sig.get_sets().values() for g in s.genes}
    for old in ("CTGF", "WISP2", "SEPT11", "KIAA0101", "CYR61", "FYB", "GPR124"):
        assert old not in every
    assert {"CCN2", "CCN5", "SEPTIN11", "PCLAF"} <= every
    remap = sig.remapped_symbols()
    assert set(remap.loc[remap["published"] == "SEPT11", "current"]) == {"SEPTIN11"}


def test_every_set_is_cited_and_named_consistently():
    df = sig.list_sets()
    assert set(df["collection"]) == set(sig.COLLECTIONS)
    assert df["name"].is_unique
    assert (df["n_genes"] > 0).all()
    assert df["citation"].str.len().gt(20).all()
    assert df["doi"].str.match(r"^10\.\d{4,}/").all()
    other = df[df["collection"] != "bagaev2021"]
    assert all(re.fullmatch(r"[a-z0-9_]+", n) for n in other["name"])


def test_search_and_filters():
    assert sig.list_sets(search="hpdl")["name"].tolist() == ["tyrosine_catabolism_hpdl_nazemi2024"]
    caf = sig.list_sets(collection="caf")
    assert {"pan_caf_markers", "mycaf_ohlund2017", "icaf_ohlund2017", "apcaf_elyada2019"} <= set(caf["name"])
    assert len(sig.list_sets(collection="hallmark")) == 50
    assert (sig.list_sets(category="caf_state")["collection"] == "caf").all()


def test_unknown_names_suggest_close_matches():
    with pytest.raises(KeyError, match="cytolytic_activity_rooney2015"):
        sig.get("cytolytic_activity_rooney2016")
    with pytest.raises(ValueError, match="Unknown collection"):
        sig.get_sets(collection="nope")


def test_gmt_round_trip_and_user_sets(tmp_path):
    path = tmp_path / "caf.gmt"
    sig.write_gmt(sig.get_sets(collection="caf"), path)
    back = sig.read_gmt(path)
    assert {k: v.genes for k, v in back.items()} == {k: v.genes for k, v in sig.get_sets(collection="caf").items()}
    sig.add_sets({"my_set": ["CD3D", "CD3E", "CD3E"]})
    try:
        assert sig.get("my_set").genes == ("CD3D", "CD3E")
        assert "my_set" in set(sig.list_sets()["name"])
        with pytest.raises(ValueError, match="already added"):
            sig.add_sets({"my_set": ["CD2"]})
        with pytest.raises(ValueError, match="built-in"):
            sig.add_sets({"MHCI": ["CD2"]})
    finally:
        sig.remove_sets(["my_set"])
    bad = tmp_path / "bad.gmt"
    bad.write_text("only_name\n")
    with pytest.raises(ValueError, match="line 1"):
        sig.read_gmt(bad)


def test_docs_list_every_set():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "signatures.md").read_text(encoding="utf-8")
    missing = [n for n in sig.get_sets() if f"`{n}`" not in text]
    assert not missing, f"regenerate docs with scripts/build_signature_library.py; missing {missing[:5]}"


def test_user_collection_is_scored_by_name():
    import anndata as ad
    import numpy as np
    import pandas as pd

    from tmescope.scoring import score_signatures

    with pytest.raises(TypeError, match="Wrap a single gene in a list"):
        sig.GeneSet("one", "CD3D")
    sig.add_sets(
        [sig.GeneSet("lab_t", ("CD3D", "CD3E"), collection="lab"), sig.GeneSet("lab_b", ("MS4A1",), collection="lab")]
    )
    try:
        adata = ad.AnnData(
            np.random.default_rng(0).gamma(2.0, size=(5, 4)), var=pd.DataFrame(index=["CD3D", "CD3E", "MS4A1", "X"])
        )
        df = score_signatures(adata, sets="lab", method="singscore")
        assert list(df.columns) == ["lab_t", "lab_b"]
    finally:
        sig.remove_sets(["lab_t", "lab_b"])
