from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import Delaunay
from scipy.spatial.distance import cdist

from tmescope._errors import InputError
from tmescope.spatial import read_spatial, spatial_neighbors

from .conftest import make_cells


def _brute_knn(c: np.ndarray, k: int) -> set[tuple[int, int]]:
    d = cdist(c, c)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1, kind="stable")[:, :k]
    return {(i, int(j)) for i in range(len(c)) for j in nn[i]}


def test_knn_matches_brute_force_and_never_crosses_slides(small):
    spatial_neighbors(small, n_neighs=5)
    g = small.obsp["spatial_connectivities"].tocoo()
    slides = small.obs["slide"].to_numpy()
    assert np.all(slides[g.row] == slides[g.col])
    assert np.all(np.diff(small.obsp["spatial_connectivities"].indptr) == 5)
    for s in np.unique(slides):
        pos = np.flatnonzero(slides == s)
        expected = {(pos[i], pos[j]) for i, j in _brute_knn(small.obsm["spatial"][pos], 5)}
        got = {(int(r), int(c)) for r, c in zip(g.row, g.col, strict=True) if slides[r] == s}
        assert got == expected
    d = small.obsp["spatial_distances"].tocoo()
    xy = small.obsm["spatial"]
    np.testing.assert_allclose(d.data, np.linalg.norm(xy[d.row] - xy[d.col], axis=1), rtol=1e-5)


def test_radius_graph_is_exact(small):
    spatial_neighbors(small, method="radius", radius=20.0)
    g = small.obsp["spatial_connectivities"]
    xy, slides = small.obsm["spatial"], small.obs["slide"].to_numpy()
    dd = cdist(xy, xy)
    want = (dd < 20.0) & (slides[:, None] == slides[None, :])
    np.fill_diagonal(want, val=False)
    assert (g.toarray() > 0).sum() == want.sum()
    assert np.array_equal(g.toarray() > 0, want)


def test_delaunay_with_max_edge(small):
    spatial_neighbors(small, method="delaunay", max_edge=15.0)
    g = small.obsp["spatial_distances"]
    assert g.data.max() <= 15.0
    spatial_neighbors(small, method="delaunay")
    slides = small.obs["slide"].to_numpy()
    pos = np.flatnonzero(slides == "s0")
    tri = Delaunay(small.obsm["spatial"][pos])
    indptr, _ = tri.vertex_neighbor_vertices
    sub = small.obsp["spatial_connectivities"][pos][:, pos]
    assert sub.nnz == indptr[-1]
    assert (sub != sub.T).nnz == 0


def test_parameters_are_checked(small):
    with pytest.raises(InputError, match="positive radius"):
        spatial_neighbors(small, method="radius")
    with pytest.raises(InputError, match="'knn', 'radius' or 'delaunay'"):
        spatial_neighbors(small, method="grid")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match=r"spatial_neighbors\(adata\)"):
        from tmescope.spatial import nhood_enrichment

        nhood_enrichment(small)


def test_graph_independent_of_n_jobs():
    a = read_spatial(make_cells(2000, seed=3), unit="um")
    b = a.copy()
    spatial_neighbors(a, n_jobs=1)
    spatial_neighbors(b, n_jobs=2)
    assert (a.obsp["spatial_connectivities"] != b.obsp["spatial_connectivities"]).nnz == 0
