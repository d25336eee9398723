from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmescope._errors import InputError
from tmescope.spatial import infiltration, mixing_score, read_spatial, spatial_neighbors


def _slide(kind: str, seed: int = 0) -> pd.DataFrame:
    """1 x 1 mm slide, tumour on the left half; 400 CD8 T cells placed by ``kind``."""
    r = np.random.default_rng(seed)
    x, y = r.uniform(0, 1000, 6000), r.uniform(0, 1000, 6000)
    t = pd.DataFrame({"x": x, "y": y, "cell_type": np.where(x < 500, "Tumor", "Fibroblast"), "slide": kind})
    n = 400
    if kind == "inflamed":
        cx = r.uniform(50, 450, n)
    elif kind == "excluded":
        cx = r.uniform(550, 950, n)
    else:
        n = 5
        cx = r.uniform(0, 1000, n)
    cd8 = pd.DataFrame({"x": cx, "y": r.uniform(0, 1000, n), "cell_type": "CD8 T", "slide": kind})
    return pd.concat([t, cd8], ignore_index=True)


@pytest.fixture
def three():
    t = pd.concat([_slide(k, i) for i, k in enumerate(("inflamed", "excluded", "desert"))], ignore_index=True)
    return read_spatial(t, unit="um")


def test_phenotypes_follow_the_documented_rule(three):
    infiltration(three, tumor_types=["Tumor"], threshold=100.0)
    res = three.uns["spatial_infiltration"]
    ph = res["phenotype"]["phenotype"]
    assert ph.to_dict() == {"desert": "desert", "excluded": "excluded", "inflamed": "inflamed"}
    assert res["cd8_types"] == ["CD8 T"]
    # ~800 CD8/mm² inside the tumour half of the inflamed slide
    assert res["phenotype"].loc["inflamed", "cd8_tumor"] == pytest.approx(800, rel=0.2)
    tiles = res["tiles"]
    assert set(tiles["phenotype"]) <= {"inflamed", "excluded", "desert", "no_tumor"}
    assert (tiles.query("slide == 'inflamed'")["phenotype"] != "excluded").all()


def test_compartments_and_distances(three):
    infiltration(three, tumor_types=["Tumor"], width=100.0)
    obs = three.obs
    x = three.obsm["spatial"][:, 0]
    d = obs["tumor_boundary_distance"].to_numpy()
    # the boundary is the line x = 500: signed distance follows x within a raster bin or two
    mid = (np.abs(three.obsm["spatial"][:, 1] - 500) < 400) & (obs["slide"] != "desert").to_numpy()
    assert np.median(np.abs(d[mid] - (x[mid] - 500))) < 15
    comp = obs["tumor_compartment"].to_numpy()
    assert (comp[mid & (x < 400)] == "core").mean() > 0.95
    assert (comp[mid & (x > 600)] == "stroma").mean() > 0.95
    assert (comp[mid & (np.abs(x - 500) < 40)] == "interface").mean() > 0.9
    tumor = (obs["cell_type"] == "Tumor").to_numpy()
    assert np.all(obs["tumor_cell_distance"].to_numpy()[tumor] == 0)
    dens = three.uns["spatial_infiltration"]["densities"]
    core = dens.query("slide == 'inflamed' and cell_type == 'Tumor' and compartment == 'core'")
    assert core["density"].iloc[0] == pytest.approx(6000, rel=0.15)  # 6000 cells per mm²


def test_mixing_score_oracle(three):
    spatial_neighbors(three, method="delaunay")
    m = mixing_score(three, tumor_types=["Tumor"], immune_types=["CD8 T"])
    g = three.obsp["spatial_connectivities"].tocoo()
    types = three.obs["cell_type"].to_numpy()
    slides = three.obs["slide"].to_numpy()
    for s in ("inflamed", "excluded"):
        sel = slides[g.row] == s
        src, dst = types[g.row[sel]], types[g.col[sel]]
        it = np.sum((src == "CD8 T") & (dst == "Tumor"))
        ii = np.sum((src == "CD8 T") & (dst == "CD8 T"))
        assert m.loc[s, "mixing_score"] == pytest.approx(it / ii)
    assert m.loc["inflamed", "mixing_score"] > 5 * m.loc["excluded", "mixing_score"]


def test_errors_name_the_fix(three):
    with pytest.raises(InputError, match="not cell types of this data"):
        infiltration(three, tumor_types=["Tumour"])
    with pytest.raises(InputError, match="tumor_types is empty"):
        infiltration(three, tumor_types=[])
