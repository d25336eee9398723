from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from tmescope._errors import InputError
from tmescope.spatial import co_occurrence, read_spatial
from tmescope.spatial._cooccurrence import cooccurrence_counts, cooccurrence_ratio

from .conftest import GOLDEN, PIXEL_UM, make_cells


def _oracle(xy: np.ndarray, codes: np.ndarray, k: int, interval: np.ndarray) -> np.ndarray:
    d = cdist(xy, xy)
    np.fill_diagonal(d, np.inf)
    out = np.zeros((k, k, len(interval) - 1), dtype=np.int64)
    for r, t in enumerate(interval[1:]):
        i, j = np.nonzero(d <= t)
        np.add.at(out[:, :, r], (codes[i], codes[j]), 1)
    return out


def test_counts_match_brute_force(rng):
    xy = rng.uniform(0, 100, (700, 2))
    codes = rng.integers(0, 4, 700)
    iv = np.array([0.0, 3, 7, 15, 30])
    for n_jobs in (1, 2):
        np.testing.assert_array_equal(cooccurrence_counts(xy, codes, 4, iv, n_jobs=n_jobs), _oracle(xy, codes, 4, iv))


def test_ratio_definition():
    counts = np.zeros((2, 2, 1))
    counts[:, :, 0] = [[6, 2], [2, 2]]
    occ = cooccurrence_ratio(counts)
    # P(a=0 | partner 1) = 2/4, P(a=0) = 8/12
    assert occ[0, 1, 0] == pytest.approx((2 / 4) / (8 / 12))


def test_slides_are_separate():
    t = make_cells(400, n_slides=2, seed=1)
    a = read_spatial(t, unit="um")
    co_occurrence(a, interval=[0, 50])
    xy, s = a.obsm["spatial"], a.obs["slide"].to_numpy()
    codes = a.obs["cell_type"].cat.codes.to_numpy()
    want = sum(_oracle(xy[s == v], codes[s == v], 4, np.array([0, 50.0])) for v in ("s0", "s1"))
    np.testing.assert_array_equal(a.uns["co_occurrence"]["count"], want)
    with pytest.raises(InputError, match="increasing"):
        co_occurrence(a, interval=[10, 5])


def test_tiles_with_halo_give_the_counts_of_whole_slides(rng):
    """Tiles plus a halo of the largest distance count every ordered pair exactly once, whatever the tile size."""
    t = make_cells(3000, n_types=5, n_slides=2, seed=4)
    # cells exactly on tile edges and at the halo's reach
    t.loc[:9, ["x", "y"]] = [
        [0, 0],
        [60, 0],
        [60, 60],
        [120, 60],
        [90, 90],
        [150, 30],
        [30, 150],
        [60, 30],
        [0, 60],
        [45, 60],
    ]
    a = read_spatial(t, unit="um")
    iv = np.array([0.0, 10, 25, 45])
    co_occurrence(a, interval=iv)
    whole = a.uns["co_occurrence"]["count"].copy()
    xy, s = a.obsm["spatial"], a.obs["slide"].to_numpy()
    codes = a.obs["cell_type"].cat.codes.to_numpy()
    oracle = sum(_oracle(xy[s == v], codes[s == v], 5, iv) for v in ("s0", "s1"))
    np.testing.assert_array_equal(whole, oracle)
    for size in (45.0, 60.0, 137.5):
        co_occurrence(a, interval=iv, tile_size=size)
        np.testing.assert_array_equal(a.uns["co_occurrence"]["count"], whole)
    with pytest.raises(InputError, match="at least the largest distance"):
        co_occurrence(a, interval=iv, tile_size=30.0)


def test_agrees_with_squidpy_on_10k_cells(lung5_table):
    """Every 10th cell of Lung5 (10,015 cells), thresholds 10..200 µm; squidpy 1.8.2 stored output."""
    ref = np.load(GOLDEN / "co_occurrence_every10th.npz")
    sub = lung5_table.iloc[::10].reset_index(drop=True)
    a = read_spatial(sub, unit="px", pixel_size=PIXEL_UM, x_key="x_px", y_key="y_px")
    co_occurrence(a, interval=ref["interval"])
    assert a.uns["co_occurrence"]["categories"] == ref["categories"].tolist()
    occ, want = a.uns["co_occurrence"]["occ"], ref["occ"]
    assert occ.shape == want.shape
    assert np.corrcoef(occ.ravel(), want.ravel())[0, 1] >= 0.999
    # squidpy compares float32 distances: a few pairs sitting on a threshold fall on the other side
    close = np.isclose(occ, want, rtol=1e-3, atol=1e-3)
    assert close.mean() > 0.999
    assert np.abs(occ - want).max() < 0.05
