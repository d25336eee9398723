"""A real LocalCluster of two single-threaded worker processes, one per test module."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()
