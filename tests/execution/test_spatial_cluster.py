"""Per-slide spatial analyses, per-sample crosstalk and permutation blocks as chunks: identical in this process and
on a LocalCluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmescope import _keys
from tmescope._settings import settings

distributed = pytest.importorskip("distributed")

pytestmark = [
    pytest.mark.filterwarnings("ignore::tmescope.AutoFixWarning"),
    pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning"),
]


def _prefixes(client) -> set[str]:
    """Task-name prefixes the scheduler has seen (map_chunks names tasks ``<key>-<index>-<token>``)."""
    return set(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))


def _on(client, fn):
    previous = settings.client
    settings.client = client
    try:
        return fn()
    finally:
        settings.client = previous


def _slides(n_slides: int = 3, n_cells: int = 1500):
    from tmescope.spatial import read_spatial

    rng = np.random.default_rng(7)
    parts = []
    for s in range(n_slides):
        t = pd.DataFrame({"x": rng.uniform(0, 600, n_cells), "y": rng.uniform(0, 600, n_cells)})
        t["cell_type"] = np.where(
            t["x"] < 200 + 100 * s, "Tumor", rng.choice(["CD8 T", "Macrophage", "Fibroblast"], n_cells)
        )
        t["slide"] = f"S{s}"
        parts.append(t)
    return read_spatial(pd.concat(parts, ignore_index=True), unit="um")


def _spatial():
    from tmescope.spatial import analyze_spatial

    a = _slides()
    feats, _ = analyze_spatial(a, tumor_types=["Tumor"], n_perms=50, n_neighborhoods=4)
    return a, feats


def test_analyze_spatial_same_in_process_and_on_cluster(client):
    on_cluster, f_cluster = _on(client, _spatial)
    # the per-slide steps ran as tasks on the workers
    assert {"spatial_graph", "nhood_enrichment", "co_occurrence", "cn_windows", "infiltration"} <= _prefixes(client)
    local, f_local = _spatial()
    assert f_local["sample"].nunique() == 3
    pd.testing.assert_frame_equal(f_local, f_cluster)
    for key in ("zscore", "count"):
        np.testing.assert_array_equal(
            local.uns[_keys.UNS_NHOOD_ENRICHMENT][key], on_cluster.uns[_keys.UNS_NHOOD_ENRICHMENT][key]
        )
    for key in (_keys.OBS_COMPARTMENT_TUMOR, _keys.OBS_BOUNDARY_DISTANCE, _keys.OBS_TUMOR_DISTANCE):
        pd.testing.assert_series_equal(local.obs[key], on_cluster.obs[key])
    for key in ("densities", "distances", "phenotype", "tiles"):
        pd.testing.assert_frame_equal(
            local.uns[_keys.UNS_INFILTRATION][key], on_cluster.uns[_keys.UNS_INFILTRATION][key]
        )
    assert set(local.obs[_keys.OBS_COMPARTMENT_TUMOR]) == {"core", "interface", "stroma"}
    for key in (_keys.OBSP_SPATIAL_CONN, _keys.OBSP_SPATIAL_DIST):
        assert (local.obsp[key] != on_cluster.obsp[key]).nnz == 0
    np.testing.assert_array_equal(
        local.uns[_keys.UNS_CO_OCCURRENCE]["count"], on_cluster.uns[_keys.UNS_CO_OCCURRENCE]["count"]
    )
    assert local.obsp[_keys.OBSP_SPATIAL_CONN].nnz > 0
    assert local.uns[_keys.UNS_CO_OCCURRENCE]["count"].sum() > 0


def _crosstalk():
    from tmescope.crosstalk import infer_crosstalk, toy_cells

    cells = toy_cells(n_cells=360, seed=1, n_samples=3)
    infer_crosstalk(cells, groupby="cell_type", sample_key="sample", n_perms=130, seed=4)
    return cells.uns["crosstalk"]["results"]


def test_crosstalk_samples_same_in_process_and_on_cluster(client):
    on_cluster = _on(client, _crosstalk)
    assert "crosstalk" in _prefixes(client)
    local = _crosstalk()
    assert local["sample"].nunique() == 3
    assert (local["pvalue"] < 0.05).any()
    pd.testing.assert_frame_equal(local, on_cluster)


def _one_sample():
    from tmescope.crosstalk import infer_crosstalk, spatial_crosstalk, toy_cells

    cells = toy_cells(n_cells=300, seed=3)
    infer_crosstalk(cells, groupby="cell_type", n_perms=200, seed=5)
    spatial_crosstalk(cells, groupby="cell_type", radius=60.0, n_perms=130, seed=5)
    return cells.uns["crosstalk"]["results"], cells.uns["crosstalk_spatial"]["results"]


def test_one_sample_permutation_blocks_run_on_the_cluster(client):
    """One sample: its blocks of 64 permutations are the tasks; the matrix travels once, and p-values are equal."""
    on_cluster = _on(client, _one_sample)
    assert {"crosstalk_permutations", "contact_permutations"} <= _prefixes(client)
    local = _one_sample()
    for a, b in zip(local, on_cluster, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert (local[0]["pvalue"] < 0.05).any()
    assert local[1]["pvalue"].notna().any()


def test_cli_spatial_on_a_running_cluster_equals_in_process(client, tmp_path):
    """`tmescope --scheduler ADDRESS spatial ...`: per-slide tasks on the cluster, the same feature table."""
    from click.testing import CliRunner

    from tmescope.cli import main
    from tmescope.io import read_features

    table = tmp_path / "cells.csv"
    rng = np.random.default_rng(3)
    parts = []
    for s in range(2):
        t = pd.DataFrame({"x": rng.uniform(0, 500, 1200), "y": rng.uniform(0, 500, 1200)})
        t["cell_type"] = np.where(t["x"] < 250, "Tumor", rng.choice(["CD8 T", "Fibroblast"], 1200))
        t["slide"] = f"S{s}"
        parts.append(t)
    pd.concat(parts).to_csv(table, index=False)
    args = ["spatial", str(table), "--unit", "um", "--tumor-types", "Tumor", "--n-perms", "50", "--no-report"]
    with distributed.get_task_stream(client) as stream:
        tiles = ["--cooccurrence-tile-size", "250"]  # the cluster run counts co-occurrence in tiles: same table
        cmd = ["--quiet", "--scheduler", client.scheduler.address, *args, *tiles, "-o", str(tmp_path / "a")]
        res = CliRunner().invoke(main, cmd)
    assert res.exit_code == 0, res.output
    ran = {str(t["key"]).split("-")[0] for t in stream.data}
    assert {"spatial_graph", "nhood_enrichment", "co_occurrence", "infiltration"} <= ran
    res = CliRunner().invoke(main, ["--quiet", *args, "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(read_features(tmp_path / "a"), read_features(tmp_path / "b"))
    assert settings.client is None


def test_one_slide_in_tiles_on_the_cluster_equals_the_whole_slide(client):
    """Co-occurrence of a single slide cut into tiles (with a halo) runs one task per tile, same counts."""
    from tmescope.spatial import co_occurrence

    a = _slides(n_slides=1, n_cells=6000)
    co_occurrence(a, interval=[0, 20, 50])
    whole = a.uns[_keys.UNS_CO_OCCURRENCE]["count"].copy()
    with distributed.get_task_stream(client) as stream:
        _on(client, lambda: co_occurrence(a, interval=[0, 20, 50], tile_size=150.0))
    tasks = [t for t in stream.data if str(t["key"]).startswith("co_occurrence-")]
    assert len(tasks) == 16  # 600 µm square in 150 µm tiles
    np.testing.assert_array_equal(a.uns[_keys.UNS_CO_OCCURRENCE]["count"], whole)
    assert whole.sum() > 0
