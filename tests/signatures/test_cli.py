"""`tmescope signatures list|show|export`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tmescope.cli import main
from tmescope.signatures import read_gmt


def test_list_filters_and_formats():
    runner = CliRunner()
    res = runner.invoke(main, ["signatures", "list", "--collection", "estimate"])
    assert res.exit_code == 0, res.output
    assert "estimate_stromal_yoshihara2013" in res.output
    assert "2 set(s)" in res.output
    res = runner.invoke(main, ["signatures", "list", "--search", "HPDL", "--format", "json"])
    assert [r["name"] for r in json.loads(res.output)] == ["tyrosine_catabolism_hpdl_nazemi2024"]


def test_show_prints_citation_and_genes():
    res = CliRunner().invoke(main, ["signatures", "show", "tls_9gene_cabrita2020"])
    assert res.exit_code == 0, res.output
    assert "10.1038/s41586-019-1914-8" in res.output
    assert "CD79B" in res.output


def test_show_unknown_exits_2_with_suggestion():
    res = CliRunner().invoke(main, ["signatures", "show", "tls_9gene_cabrita2021"])
    assert res.exit_code == 2
    assert "Did you mean 'tls_9gene_cabrita2020'" in res.output


def test_export_gmt_tsv_json(tmp_path):
    runner = CliRunner()
    gmt = tmp_path / "caf.gmt"
    res = runner.invoke(main, ["signatures", "export", "--collection", "caf", "-o", str(gmt)])
    assert res.exit_code == 0, res.output
    assert "pan_caf_markers" in read_gmt(gmt)
    tsv = tmp_path / "two.tsv"
    res = runner.invoke(
        main, ["signatures", "export", "--name", "MHCI", "--name", "cytolytic_activity_rooney2015", "-o", str(tsv)]
    )
    assert res.exit_code == 0, res.output
    lines = tsv.read_text().splitlines()
    assert lines[0] == "set\tgene\tcollection\tcitation\tdoi"
    assert sum(line.startswith("cytolytic_activity_rooney2015\t") for line in lines) == 2
    js = tmp_path / "all.json"
    res = runner.invoke(main, ["signatures", "export", "--gmt", str(gmt), "-o", str(js)])
    assert res.exit_code == 0, res.output
    assert len(json.loads(js.read_text())["sets"]) > 200
