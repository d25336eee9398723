from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tmescope._errors import InputError, MissingKeyError
from tmescope.crosstalk import local_lr_scores, spatial_crosstalk, toy_cells
from tmescope.crosstalk._spatial_kernels import contact_pvalues, local_bivariate


@pytest.fixture
def cells():
    return toy_cells(n_cells=400, seed=2)


def _contact_oracle(x, graph, codes, subunits, src, tgt, lig, rec):
    dense, g = x.toarray(), graph.toarray()
    out = []
    for s, t, lg, rc in zip(src, tgt, lig, rec, strict=True):
        edges = [(i, j) for i, j in zip(*np.nonzero(g), strict=True) if codes[i] == s and codes[j] == t]
        lm = min(np.mean([dense[i, c] for i, _ in edges]) for c in subunits[lg] if c >= 0)
        rm = min(np.mean([dense[j, c] for _, j in edges]) for c in subunits[rc] if c >= 0)
        out.append(0.5 * (lm + rm))
    return np.array(out)


def test_contact_score_matches_edge_oracle_and_ignores_n_jobs(rng):
    n = 40
    x = sp.random(n, 4, density=0.6, random_state=rng, format="csr")
    upper = sp.triu(sp.random(n, n, density=0.15, random_state=rng), k=1)
    graph = ((upper + upper.T) > 0).astype(float).tocsr()
    codes = (np.arange(n) % 3).astype(np.int32)
    subunits = np.array([[0, -1], [1, 2], [3, -1]])
    src, tgt, lig, rec = (np.array(v) for v in ([0, 1, 2], [1, 2, 0], [0, 2, 1], [1, 0, 2]))
    score, p1 = contact_pvalues(x, graph, codes, 3, subunits, src, tgt, lig, rec, n_perms=130, seed=1, n_jobs=1)
    np.testing.assert_allclose(score, _contact_oracle(x, graph, codes, subunits, src, tgt, lig, rec))
    _, p2 = contact_pvalues(x, graph, codes, 3, subunits, src, tgt, lig, rec, n_perms=130, seed=1, n_jobs=2)
    np.testing.assert_array_equal(p1, p2)


def test_only_touching_groups_are_tested(cells):
    spatial_crosstalk(cells, groupby="cell_type", radius=60.0, n_perms=100, seed=0)
    res = cells.uns["crosstalk_spatial"]["results"]
    assert (res["n_contacts"] > 0).all()
    hit = res[(res["ligand"] == "CXCL12") & (res["receptor"] == "CXCR4") & (res["target"] == "T cell")]
    assert hit["source"].tolist() == ["fibroblast"]
    assert hit["fdr"].iloc[0] < 0.05
    # fibroblasts (0, 0) and tumour cells (200, 200) sit far apart: fewer contacts than fibroblasts and T cells
    pairs = res.groupby(["source", "target"])["n_contacts"].first()
    assert pairs.get(("fibroblast", "tumour"), 0) < pairs[("fibroblast", "T cell")]
    spatial_crosstalk(cells, groupby="cell_type", radius=1e-3, n_perms=10, seed=0, key_added="tiny")
    assert cells.uns["tiny"]["results"].empty


def test_stored_graph_gives_the_same_result(cells):
    from tmescope.spatial._graph import build_graph

    conn, _ = build_graph(np.asarray(cells.obsm["spatial"]), [np.arange(cells.n_obs)], method="radius", radius=60.0)
    cells.obsp["spatial_connectivities"] = conn
    spatial_crosstalk(cells, groupby="cell_type", radius=60.0, n_perms=64, seed=0)
    spatial_crosstalk(
        cells, groupby="cell_type", connectivity_key="spatial_connectivities", n_perms=64, seed=0, key_added="g"
    )
    pd.testing.assert_frame_equal(cells.uns["crosstalk_spatial"]["results"], cells.uns["g"]["results"])


def test_bad_coordinates_are_refused(cells):
    bad = cells.copy()
    bad.obsm["spatial"][3, 0] = np.nan
    with pytest.raises(InputError, match=r"NaN or infinite coordinates.*cell3"):
        spatial_crosstalk(bad, groupby="cell_type", n_perms=5)
    flat = cells.copy()
    flat.obsm["spatial"] = np.asarray(flat.obsm["spatial"])[:, :1]
    with pytest.raises(InputError, match="cells x 2"):
        spatial_crosstalk(flat, groupby="cell_type", n_perms=5)
    del flat.obsm["spatial"]
    with pytest.raises(MissingKeyError, match=r"obsm\['spatial'\] is missing"):
        local_lr_scores(flat)
    with pytest.raises(MissingKeyError, match="spatial_neighbors"):
        spatial_crosstalk(cells, groupby="cell_type", connectivity_key="nope", n_perms=5)


def test_local_score_oracle_and_colocalisation(cells):
    w = sp.csr_matrix(np.array([[0, 1.0, 0], [0.5, 0, 0.5], [0, 1.0, 0]]))
    lig, rec = np.array([[1.0], [2.0], [6.0]]), np.array([[3.0], [1.0], [2.0]])
    zl, zr = (lig - lig.mean()) / lig.std(), (rec - rec.mean()) / rec.std()
    expected = zl[:, 0] * (w.toarray() @ zr[:, 0])
    np.testing.assert_allclose(local_bivariate(lig, rec, w)[:, 0], expected)

    local_lr_scores(cells, radius=60.0)
    apart = cells.uns["lr_local"]["pairs"].set_index(["ligand", "receptor"])["global_moran_i"]
    assert cells.obsm["lr_local"].shape == (cells.n_obs, len(apart))
    moved = cells.copy()
    t_cells = (moved.obs["cell_type"] == "T cell").to_numpy()
    moved.obsm["spatial"][t_cells] -= np.array([200.0, 0.0])  # T cells move among the fibroblasts
    local_lr_scores(moved, radius=60.0)
    together = moved.uns["lr_local"]["pairs"].set_index(["ligand", "receptor"])["global_moran_i"]
    assert apart[("CXCL12", "CXCR4")] < 0 < together[("CXCL12", "CXCR4")]
    local_lr_scores(moved, radius=60.0, pairs=[("CXCL12", "CXCR4")], key_added="one")
    assert list(moved.obsm["one"].columns) == ["CXCL12^CXCR4"]
    np.testing.assert_allclose(moved.obsm["one"]["CXCL12^CXCR4"], moved.obsm["lr_local"]["CXCL12^CXCR4"])
