"""Per-slide spatial analyses as chunks: identical in this process and on a 2-worker LocalCluster."""

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


def _run(client):
    from tmescope.spatial import analyze_spatial

    a = _slides()
    previous = settings.client
    settings.client = client
    try:
        feats, _ = analyze_spatial(a, tumor_types=["Tumor"], n_perms=50, n_neighborhoods=4)
    finally:
        settings.client = previous
    return a, feats


def test_analyze_spatial_same_in_process_and_on_cluster():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    client = distributed.Client(cluster)
    try:
        on_cluster, f_cluster = _run(client)
        # the per-slide steps ran as tasks on the workers
        prefixes = set(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))
    finally:
        client.close()
        cluster.close()
    local, f_local = _run(None)
    assert f_local["sample"].nunique() == 3
    pd.testing.assert_frame_equal(f_local, f_cluster)
    for key in (_keys.OBSP_SPATIAL_CONN, _keys.OBSP_SPATIAL_DIST):
        assert (local.obsp[key] != on_cluster.obsp[key]).nnz == 0
    np.testing.assert_array_equal(
        local.uns[_keys.UNS_CO_OCCURRENCE]["count"], on_cluster.uns[_keys.UNS_CO_OCCURRENCE]["count"]
    )
    assert local.obsp[_keys.OBSP_SPATIAL_CONN].nnz > 0
    assert local.uns[_keys.UNS_CO_OCCURRENCE]["count"].sum() > 0
    assert {"spatial_graph", "co_occurrence", "cn_windows"} <= prefixes
