from __future__ import annotations

import json

import anndata as ad
import pandas as pd
from click.testing import CliRunner

from tmescope.cli import main
from tmescope.io import read_features


def test_cli_on_merfish_cells(reference_dir, tmp_path):
    cells = reference_dir / "merfish_nsclc_tessera_chen2024" / "cells.tsv"
    out = tmp_path / "out"
    args = ["--quiet", "spatial", str(cells), "-o", str(out), "--unit", "um", "--tumor-types", "Epithelial"]
    res = CliRunner().invoke(main, [*args, "--cd8-types", "Lymphocyte", "--n-perms", "100"])
    assert res.exit_code == 0, res.output
    f = read_features(out)
    assert set(f["sample"]) == {"cells"}
    feats = set(f["feature"])
    for name in (
        "spatial.mixing_score",
        "spatial.immune_phenotype",
        "spatial.density_core.lymphocyte",
        "spatial.n_cells",
    ):
        assert name in feats
    assert f.loc[f["feature"] == "spatial.n_cells", "value"].item() == 3177
    assert f.loc[f["feature"] == "spatial.immune_phenotype", "label"].item() in {"inflamed", "excluded", "desert"}
    a = ad.read_h5ad(out / "spatial.h5ad")
    assert "spatial_connectivities" in a.obsp
    assert a.uns["nhood_enrichment"]["zscore"].shape == (7, 7)
    z = pd.read_csv(out / "nhood_enrichment.tsv", sep="\t", index_col=0)
    assert z.shape == (7, 7)
    html = (out / "report" / "index.html").read_text()
    for part in (
        "Cell-type maps",
        "Cellular neighbourhoods",
        "Neighbourhood enrichment",
        "immune phenotype",
        "scattergl",
    ):
        assert part in html
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["params"]["tumor_types"] == ["Epithelial"]


def test_cli_refuses_missing_unit(reference_dir, tmp_path):
    cells = reference_dir / "merfish_nsclc_tessera_chen2024" / "cells.tsv"
    res = CliRunner().invoke(main, ["spatial", str(cells), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "--unit um" in res.output
    assert not (tmp_path / "o").exists()


def test_cli_scimap_h5ad_pixels(reference_dir, tmp_path):
    h5 = reference_dir / "scimap_multiplex_examples" / "scimap_example_data.h5ad"
    out = tmp_path / "s"
    res = CliRunner().invoke(
        main,
        ["-q", "spatial", str(h5), "-o", str(out), "--unit", "px", "--pixel-size", "0.65", "--n-perms", "50",
         "--cell-type-key", "phenotype", "--no-report", "--tumor-types", "Tumor CD30+,Tumor CD45- CD30+"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    f = read_features(out)
    assert set(f["sample"]) == {"230"}
    assert "spatial.cd8_density_tumor" in set(f["feature"])
