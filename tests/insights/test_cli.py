"""`tmescope insights` and `tmescope insights-rules` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import anndata as ad
import pandas as pd
from click.testing import CliRunner

from tmescope.cli import main
from tmescope.io import read_features, write_features


def _profile_dir(tmp_path: Path, reference_table) -> Path:
    table, _ = reference_table
    keep = pd.unique(table["sample"])[:12]
    d = tmp_path / "prof"
    d.mkdir()
    write_features(table.loc[table["sample"].isin(keep)], d)
    ad.AnnData(obs=pd.DataFrame(index=keep)).write_h5ad(d / "profile.h5ad")
    return d


def test_insights_command_writes_every_output(tmp_path: Path, reference_table):
    prof = _profile_dir(tmp_path, reference_table)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["--quiet", "insights", str(prof), "-o", str(out), "--report"])
    assert res.exit_code == 0, res.output
    assert "not treatment recommendations" in res.output
    for name in ("features.parquet", "features.tsv", "insights.tsv", "insight_clauses.tsv", "rules.tsv"):
        assert (out / name).exists(), name
    feats = read_features(out)
    assert feats["feature"].str.startswith("insight.").all()
    assert feats["sample"].nunique() == 12
    prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert prov["command"] == "insights"
    page = next((out / "report" / "samples").glob("*.html")).read_text(encoding="utf-8")
    assert 'id="insights"' in page
    assert "Not a treatment recommendation." in page


def test_user_rules_and_errors(tmp_path: Path, reference_table):
    prof = _profile_dir(tmp_path, reference_table)
    rules = tmp_path / "mine.json"
    rule = {
        "id": "my_hypoxia",
        "title": "Hypoxia high",
        "strategy": "metabolic_targeting",
        "direction": "supports",
        "evidence_level": "rationale",
        "condition": {"all": [{"feature": "metabolic.hypoxia_15gene_ye2019", "op": ">=", "percentile": 90}]},
        "citations": [{"reference": "Ye et al. 2019", "doi": "10.1038/s42255-019-0045-8"}],
    }
    rules.write_text(json.dumps({"name": "mine", "version": "0.1", "rules": [rule]}), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["-q", "insights", str(prof), "-o", str(out), "--rules", str(rules), "--no-builtin"])
    assert res.exit_code == 0, res.output
    ev = pd.read_csv(out / "insights.tsv", sep="\t")
    assert set(ev["rule"]) == {"my_hypoxia"}
    listing = CliRunner().invoke(main, ["insights-rules", "--rules", str(rules)])
    assert listing.exit_code == 0
    assert "my_hypoxia [metabolic_targeting, supports, rationale]" in listing.output
    rule["citations"] = []
    rules.write_text(json.dumps({"name": "mine", "version": "0.1", "rules": [rule]}), encoding="utf-8")
    bad = CliRunner().invoke(main, ["insights-rules", "--rules", str(rules)])
    assert bad.exit_code == 2
    assert "Error: Rules file" in bad.output
    assert "at least one citation" in bad.output
    same = CliRunner().invoke(main, ["insights", str(prof), "-o", str(prof)])
    assert same.exit_code == 2
    assert "is the profile folder" in same.output
