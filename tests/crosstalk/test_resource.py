from __future__ import annotations

import pandas as pd
import pytest

from tmescope._errors import InputError
from tmescope.crosstalk import load_resource, read_channels
from tmescope.crosstalk._resource import annotate_channels, check_resource, map_entities


def test_shipped_resource_has_complexes_and_sources():
    res = load_resource()
    assert len(res) == 4620
    assert not res.duplicated(["ligand", "receptor"]).any()
    assert (res["sources"] != "").all()
    assert (res["sources"] == "omnipath_consensus").sum() == 18
    complexes = res[res["receptor"].str.contains("_")]
    assert len(complexes) > 1000
    assert ((res["ligand"] == "TGFB1") & (res["receptor"] == "TGFBR1_TGFBR2")).any()


def test_channel_annotation_matches_rules():
    res = load_resource()
    again = annotate_channels(res, read_channels())
    pd.testing.assert_series_equal(again, res["channel"], check_names=False)
    lookup = res.set_index(["ligand", "receptor"])["channel"]
    assert lookup[("CD274", "PDCD1")] == "immune_checkpoint"
    assert lookup[("CXCL12", "CXCR4")] == "caf_exclusion"
    assert lookup[("CCL2", "CCR2")] == "myeloid_recruitment"
    assert lookup[("VEGFA", "NRP1")] == "angiogenesis"
    assert lookup[("COL1A1", "ITGA1_ITGB1")] == "ecm_integrin"
    assert lookup[("HLA-DRA", "LAG3")] == "immune_checkpoint"
    assert lookup[("CD80", "CD28")] == ""  # co-stimulation is not a checkpoint


def test_unknown_resource_and_bad_table():
    with pytest.raises(InputError, match="consensus"):
        load_resource("cellchat")
    with pytest.raises(InputError, match="'receptor'"):
        check_resource(pd.DataFrame({"ligand": ["A"]}))


def test_complex_needs_every_subunit():
    res = check_resource(pd.DataFrame({"ligand": ["TGFB1", "TGFB1"], "receptor": ["TGFBR1_TGFBR2", "TGFBR2"]}))
    ent = map_entities(res, pd.Index(["TGFB1", "TGFBR2"]))
    assert ent.table["receptor"].tolist() == ["TGFBR2"]
    ent = map_entities(res, pd.Index(["TGFBR1", "TGFB1", "TGFBR2"]))
    assert ent.genes == ["TGFB1", "TGFBR1", "TGFBR2"]
    row = ent.names.index("TGFBR1_TGFBR2")
    assert ent.subunits[row].tolist() == [1, 2]


def test_cellphonedb_v5_pairs_are_mostly_covered(reference_dir):
    # The CellPhoneDB v5 curated table is test-only; the shipped consensus covers most of its secreted pairs.
    genes = pd.read_csv(reference_dir / "cellphonedb_v5_database" / "gene_input.csv")
    inter = pd.read_csv(reference_dir / "cellphonedb_v5_database" / "interaction_input.csv")
    to_gene = genes.drop_duplicates("uniprot").set_index("uniprot")["gene_name"]
    simple = inter[inter["partner_a"].isin(to_gene.index) & inter["partner_b"].isin(to_gene.index)]
    pairs = set(zip(simple["partner_a"].map(to_gene), simple["partner_b"].map(to_gene), strict=True))
    res = load_resource()
    ours = set(zip(res["ligand"], res["receptor"], strict=True))
    both = {p for p in pairs if p in ours or p[::-1] in ours}
    assert len(both) / len(pairs) > 0.5
