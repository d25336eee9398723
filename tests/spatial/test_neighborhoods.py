from __future__ import annotations

import numpy as np
import pandas as pd

from tmescope.spatial import cellular_neighborhoods, read_spatial
from tmescope.spatial._neighborhoods import window_composition


def test_window_composition_oracle(rng):
    xy = rng.uniform(0, 50, (200, 2))
    codes = rng.integers(0, 3, 200)
    comp = window_composition(xy, codes, 3, [np.arange(200)], k=5)
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    for i in (0, 17, 199):
        nn = np.argsort(d[i], kind="stable")[:5]
        np.testing.assert_allclose(comp[i], np.bincount(codes[nn], minlength=3) / 5)


def test_niches_recovered_seeded_and_n_jobs_invariant():
    r = np.random.default_rng(1)
    x, y = r.uniform(0, 600, 3000), r.uniform(0, 600, 3000)
    # left third: tumour; middle: T and B cells mixed; right: fibroblasts
    kind = np.select([x < 200, x < 400], ["Tumor", "T"], "Fibroblast")
    kind = np.where((kind == "T") & (r.random(3000) < 0.5), "B", kind)
    a = read_spatial(pd.DataFrame({"x": x, "y": y, "cell_type": kind}), unit="um")
    b = a.copy()
    cellular_neighborhoods(a, n_neighborhoods=3, seed=0, n_jobs=1)
    cellular_neighborhoods(b, n_neighborhoods=3, seed=0, n_jobs=2)
    assert a.obs["cellular_neighborhood"].equals(b.obs["cellular_neighborhood"])
    names = a.uns["cellular_neighborhoods"]["names"]
    words = sorted(n.split(" ", 1)[1] for n in names)
    assert words in (["B + T", "Fibroblast", "Tumor"], ["Fibroblast", "T + B", "Tumor"])
    freq = a.uns["cellular_neighborhoods"]["frequencies"]
    assert freq.shape == (1, 3)
    np.testing.assert_allclose(freq.sum(axis=1), 1.0)
    lab = a.obs["cellular_neighborhood"].astype(str).to_numpy()
    assert (np.char.find(lab[x < 150].astype(str), "Tumor") >= 0).mean() > 0.95


def test_centres_from_a_sample_give_the_same_niches():
    r = np.random.default_rng(2)
    x, y = r.uniform(0, 600, 4000), r.uniform(0, 600, 4000)
    kind = np.select([x < 200, x < 400], ["Tumor", "T"], "Fibroblast")
    a = read_spatial(pd.DataFrame({"x": x, "y": y, "cell_type": kind}), unit="um")
    b = a.copy()
    cellular_neighborhoods(a, n_neighborhoods=3, seed=0)
    cellular_neighborhoods(b, n_neighborhoods=3, seed=0, fit_cells=500)
    same = pd.crosstab(a.obs["cellular_neighborhood"], b.obs["cellular_neighborhood"]).to_numpy()
    assert same.max(axis=1).sum() / same.sum() > 0.97
