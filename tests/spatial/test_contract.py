from __future__ import annotations

import numpy as np

from tmescope import spatial
from tmescope.spatial import co_occurrence, nhood_enrichment, read_spatial, spatial_neighbors

from .conftest import make_cells


def test_registry_lists_the_methods():
    names = set(spatial.methods()["name"])
    assert {"spatial_neighbors", "nhood_enrichment", "co_occurrence", "cellular_neighborhoods"} <= names
    assert {"infiltration", "mixing_score"} <= names


def test_copy_leaves_input_unchanged_and_writes_documented_keys():
    a = read_spatial(make_cells(500, seed=7), unit="um")
    before = (set(a.obsp), set(a.uns), set(a.obs.columns))
    b = spatial_neighbors(a, copy=True)
    assert (set(a.obsp), set(a.uns), set(a.obs.columns)) == before
    assert b is not None
    assert set(b.obsp) - set(a.obsp) == {"spatial_connectivities", "spatial_distances"}
    c = nhood_enrichment(b, n_perms=20, copy=True)
    assert c is not None
    assert set(c.uns) - set(b.uns) == {"nhood_enrichment"}
    d = co_occurrence(c, interval=[0, 10, 20], copy=True)
    assert d is not None
    assert set(d.uns) - set(c.uns) == {"co_occurrence"}
    assert list(d.obs_names) == list(a.obs_names)


def test_cell_order_does_not_change_counts():
    a = read_spatial(make_cells(800, seed=8), unit="um")
    perm = np.random.default_rng(0).permutation(a.n_obs)
    b = a[perm].copy()
    for x in (a, b):
        spatial_neighbors(x, method="delaunay")
        nhood_enrichment(x, n_perms=10)
        co_occurrence(x, interval=[0, 15, 30])
    np.testing.assert_array_equal(a.uns["nhood_enrichment"]["count"], b.uns["nhood_enrichment"]["count"])
    np.testing.assert_array_equal(a.uns["co_occurrence"]["count"], b.uns["co_occurrence"]["count"])
