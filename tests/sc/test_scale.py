"""Large inputs: above ``MAX_CLUSTER_CELLS`` the annotator clusters a seeded subsample and assigns the rest."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tmescope.sc import _annotate, annotate_compartments, leiden_clusters, prepare_cells


def _prepared(cell_factory, n_per: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare_cells(cell_factory(np.random.default_rng(0), n_per=n_per), sample_key="patient")


def test_subsampled_clustering_is_seeded_and_labels_every_cell(cell_factory) -> None:
    cells = _prepared(cell_factory, 60)  # 600 cells
    a = leiden_clusters(cells, seed=0, max_cells=200, resolution=0.5)
    b = leiden_clusters(cells, seed=0, max_cells=200, resolution=0.5)
    assert len(a) == cells.n_obs
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # each planted type falls (almost) entirely into clusters of its own
    truth = cells.obs["truth"].astype(str).to_numpy()
    for t in np.unique(truth):
        main = max(np.unique(np.asarray(a)[truth == t], return_counts=True)[1])
        assert main / (truth == t).sum() >= 0.9


def test_annotation_above_the_limit_matches_the_planted_types(cell_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = _prepared(cell_factory, 60)
    monkeypatch.setattr(_annotate, "MAX_CLUSTER_CELLS", 250)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        annotate_compartments(cells, seed=0, resolution=0.5)
    truth = cells.obs["truth"].astype(str)
    label = cells.obs["compartment"].astype(str)
    for t in ("cd8_t", "b_cell", "monocyte_macrophage", "fibroblast"):
        assert (label[truth == t] == t).mean() >= 0.95, t
    assert (label[truth == "mystery"] == "unknown").mean() >= 0.95
