from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tmescope.spatial import nhood_enrichment, read_spatial, spatial_neighbors
from tmescope.spatial._enrichment import pair_counts, permutation_seeds, shuffle_segments

from .conftest import GOLDEN, make_cells


def test_pair_counts_oracle(rng):
    n, k = 300, 5
    g = sp.random(n, n, density=0.03, random_state=1, format="csr")
    labels = rng.integers(0, k, n).astype(np.int16)
    want = np.zeros((k, k), dtype=np.int64)
    coo = g.tocoo()
    for r, c in zip(coo.row, coo.col, strict=True):
        want[labels[r], labels[c]] += 1
    np.testing.assert_array_equal(pair_counts(g.indptr.astype(np.int64), g.indices, labels, k), want)


def test_shuffle_keeps_segments_and_is_seeded():
    v = np.repeat(np.arange(3, dtype=np.int16), [10, 20, 30])
    a, b = v.copy(), v.copy()
    bounds = np.array([0, 10, 30, 60], dtype=np.int64)
    shuffle_segments(a, bounds, np.uint64(7))
    shuffle_segments(b, bounds, np.uint64(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, v)  # constant segments stay put
    w = np.arange(60, dtype=np.int16)
    shuffle_segments(w, bounds, np.uint64(3))
    assert sorted(w[:10]) == list(range(10))
    assert not np.array_equal(w, np.arange(60))
    assert len(set(permutation_seeds(0, 100).tolist())) == 100


def test_identical_for_any_n_jobs_and_seeded():
    a = read_spatial(make_cells(3000, n_types=6, seed=2), unit="um")
    spatial_neighbors(a)
    out = []
    for n_jobs in (1, 2, 1):
        nhood_enrichment(a, n_perms=200, seed=5, n_jobs=n_jobs)
        out.append(a.uns["nhood_enrichment"]["zscore"])
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])
    nhood_enrichment(a, n_perms=200, seed=6)
    assert not np.array_equal(out[0], a.uns["nhood_enrichment"]["zscore"])


def test_random_labels_give_null_zscores():
    a = read_spatial(make_cells(4000, n_types=3, n_slides=1, seed=4), unit="um")
    spatial_neighbors(a)
    nhood_enrichment(a, n_perms=300, seed=0)
    z = a.uns["nhood_enrichment"]["zscore"]
    assert np.abs(z).max() < 4


@pytest.mark.parametrize(("name", "kw"), [("knn6", {"n_neighs": 6}), ("delaunay", {"method": "delaunay"})])
def test_agrees_with_squidpy(lung5, name, kw):
    """Same graph, same 1,000 permutations: counts identical, z-scores Pearson >= 0.99 (squidpy 1.8.2)."""
    spatial_neighbors(lung5, **kw)
    nhood_enrichment(lung5, n_perms=1000, seed=0, n_jobs=2)
    res = dict(lung5.uns["nhood_enrichment"])
    cats = res["categories"]
    res = {k: pd.DataFrame(res[k], index=cats, columns=cats) for k in ("count", "zscore")}
    count = pd.read_csv(GOLDEN / f"nhood_{name}_count.tsv", sep="\t", index_col=0)
    zref = pd.read_csv(GOLDEN / f"nhood_{name}_zscore.tsv", sep="\t", index_col=0)
    got = res["count"].loc[count.index, count.columns].to_numpy()
    assert got.sum() == count.to_numpy().sum()
    if name == "delaunay":
        np.testing.assert_array_equal(got, count.to_numpy())
    else:  # integer pixel coordinates tie; equidistant neighbours may be chosen differently
        diff = np.abs(got - count.to_numpy())
        assert diff.max() <= 2
        assert (diff > 0).mean() < 0.01
    z = res["zscore"].loc[zref.index, zref.columns].to_numpy().ravel()
    zr = zref.to_numpy().ravel()
    ok = np.isfinite(z) & np.isfinite(zr)
    assert ok.mean() > 0.95
    assert np.corrcoef(z[ok], zr[ok])[0, 1] >= 0.99
    # the strongest pairs agree in sign and rough size
    big = ok & (np.abs(zr) > 10)
    assert np.all(np.sign(z[big]) == np.sign(zr[big]))
    assert np.median(np.abs(z[big] - zr[big]) / np.abs(zr[big])) < 0.1


def test_packed_kernel_equals_plain_kernel(rng):
    from tmescope.spatial._enrichment import _perm_counts, _perm_counts_packed

    n, k = 500, 7
    g = sp.random(n, n, density=0.02, random_state=3, format="csr")
    labels = rng.integers(0, k, n)
    bounds = np.array([0, 200, 500], dtype=np.int64)
    seeds = permutation_seeds(1, 13)  # not a multiple of the pack width or the chunk
    ptr, idx = g.indptr.astype(np.int64), g.indices.astype(np.int32)
    a = _perm_counts(ptr, idx, labels.astype(np.int16), np.arange(n, dtype=np.int64), bounds, seeds, k)
    b = _perm_counts_packed(ptr, idx, labels.astype(np.uint8), bounds, seeds, k)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (13, k, k)
    # every permutation keeps the number of edges, and permutations differ from one another
    assert set(a.sum(axis=(1, 2)).tolist()) == {g.nnz}
    assert len({p.tobytes() for p in a}) == 13


def test_many_types_take_the_plain_kernel():
    """More than 255 types cannot be packed into bytes; the plain kernel gives the same statistic."""
    from tmescope.spatial._enrichment import slide_permutation_counts

    rng = np.random.default_rng(0)
    n, k = 3000, 300
    g = sp.random(n, n, density=0.003, random_state=2, format="csr")
    codes = rng.integers(0, k, n)
    seeds = permutation_seeds(0, 9)
    obs, perms = slide_permutation_counts(g.indptr, g.indices, codes, k, seeds=seeds)
    assert perms.shape == (9, k, k)
    assert obs.sum() == g.nnz
    assert set(perms.sum(axis=(1, 2)).tolist()) == {g.nnz}


def test_slides_are_chunks_with_their_own_seeds():
    """A slide's permutations do not depend on the other slides: the count of a two-slide data set is the sum."""
    from tmescope.spatial._enrichment import nhood_zscores, slide_permutation_counts, slide_seed

    a = read_spatial(make_cells(2000, n_types=4, n_slides=2, seed=3), unit="um")
    spatial_neighbors(a)
    nhood_enrichment(a, n_perms=64, seed=11)
    res = a.uns["nhood_enrichment"]
    g = sp.csr_matrix(a.obsp["spatial_connectivities"])
    codes = a.obs["cell_type"].cat.codes.to_numpy()
    coords = np.asarray(a.obsm["spatial"], dtype=float)
    slides = a.obs["slide"].cat.codes.to_numpy()
    total = np.zeros((64, 4, 4), dtype=np.int64)
    for i in range(2):
        pos = np.flatnonzero(slides == i)
        sub = g[pos][:, pos]
        seeds = permutation_seeds(slide_seed(11, i), 64)
        _, perms = slide_permutation_counts(sub.indptr, sub.indices, codes[pos], 4, seeds=seeds, coords=coords[pos])
        total += perms
    mean = total.mean(axis=0)
    z = (res["count"] - mean) / total.std(axis=0)
    np.testing.assert_allclose(res["zscore"], z, rtol=1e-9)
    # the same kernel without the AnnData wrapper, and group order = slide order
    groups = [np.flatnonzero(slides == i) for i in range(2)]
    z2, c2 = nhood_zscores(g, codes, 4, groups, n_perms=64, seed=11, coords=coords)
    np.testing.assert_array_equal(z2, res["zscore"])
    np.testing.assert_array_equal(c2, res["count"])


def test_relabelling_types_permutes_the_result():
    a = read_spatial(make_cells(1500, n_types=5, seed=9), unit="um")
    spatial_neighbors(a)
    b = a.copy()
    # the same cells under other names, in another category order
    rename = {f"type{i}": f"z{4 - i}" for i in range(5)}
    b.obs["cell_type"] = b.obs["cell_type"].map(rename).astype("category")
    nhood_enrichment(a, n_perms=50, seed=1)
    nhood_enrichment(b, n_perms=50, seed=1)
    ra, rb = a.uns["nhood_enrichment"], b.uns["nhood_enrichment"]
    idx = [rb["categories"].index(rename[c]) for c in ra["categories"]]
    np.testing.assert_array_equal(ra["count"], rb["count"][np.ix_(idx, idx)])
    np.testing.assert_allclose(ra["zscore"], rb["zscore"][np.ix_(idx, idx)], rtol=1e-12)
