"""The execution layer on a real LocalCluster of worker processes: identity, worker loss, resume."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from tmescope._execution import ChunkError, map_chunks
from tmescope._settings import settings

distributed = pytest.importorskip("distributed")

pytestmark = [
    pytest.mark.filterwarnings("ignore::tmescope.AutoFixWarning"),
    pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning"),
]

# Functions of this test module run on the workers, which cannot import it by name.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture
def on_cluster(client):
    previous = settings.client
    settings.client = client
    yield client
    settings.client = previous


@pytest.fixture(scope="module")
def cohort():
    from tmescope.datasets import liu2019_melanoma

    adata, _ = liu2019_melanoma()
    return adata[:20].copy()


def _slow_square(x: int) -> int:
    time.sleep(0.4)
    return x * x


def _marked(x: int, *, folder: str, fail: tuple[int, ...] = ()) -> int:
    Path(folder, f"ran-{x}").touch()
    if x in fail:
        msg = f"value {x} refused"
        raise ValueError(msg)
    return x + 100


def test_scores_identical_in_process_and_on_workers_for_any_chunk_size(cohort, client):
    from tmescope.scoring import score_signatures

    expected = score_signatures(cohort.copy(), sets="immunotherapy", chunk_size=cohort.n_obs)
    settings.client = client
    try:
        for size in (3, 7):
            got = score_signatures(cohort.copy(), sets="immunotherapy", chunk_size=size)
            pd.testing.assert_frame_equal(got, expected, check_exact=True)
    finally:
        settings.client = None


def test_deconvolution_identical_on_workers(cohort, client):
    from tmescope.bulk import deconvolve

    a, b = cohort.copy(), cohort.copy()
    expected = deconvolve(a, n_boot=20, seed=3)
    settings.client = client
    try:
        got = deconvolve(b, n_boot=20, seed=3)
    finally:
        settings.client = None
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    pd.testing.assert_frame_equal(b.obsm["fractions_ci_low"], a.obsm["fractions_ci_low"], check_exact=True)


def test_chunked_profile_on_workers_equals_whole_cohort_profile(cohort, on_cluster, tmp_path):
    from tmescope.io import read_expression
    from tmescope.profile import open_source, profile, profile_chunks

    sub = cohort[:9]
    table = pd.DataFrame(np.asarray(sub.X).T, index=pd.Index(sub.var_names, name="gene"), columns=sub.obs_names)
    path = tmp_path / "cohort.parquet"
    table.to_parquet(path)
    settings.client = None
    whole = profile(read_expression(path), n_boot=10, seed=1, insights=False).features
    settings.client = on_cluster
    got = profile_chunks(open_source(path), chunk_size=4, n_boot=10, seed=1, insights=False)
    pd.testing.assert_frame_equal(got, whole, check_exact=True)


def test_killed_worker_changes_nothing_and_loses_nothing(on_cluster, tmp_path):
    pids = on_cluster.run(os.getpid)
    victim = sorted(pids.values())[0]

    def kill_soon() -> None:
        time.sleep(1.0)
        os.kill(victim, signal.SIGKILL)

    killer = threading.Thread(target=kill_soon)
    killer.start()
    # chunk data loaded on this process travel inside the tasks, so a task lost with its worker can run elsewhere
    out = map_chunks(_slow_square, list(range(12)), load=int, key="square", checkpoint_dir=tmp_path)
    killer.join()
    assert out == [x * x for x in range(12)]
    assert victim not in on_cluster.run(os.getpid).values()  # the worker really died (and was replaced)
    assert len(list(tmp_path.glob("square-*.pkl"))) == 12


def _slow_sum(shared: np.ndarray, chunk: int) -> float:
    time.sleep(0.4)
    return float(shared.sum() * chunk)


def test_killed_worker_holding_shared_data_changes_nothing(on_cluster):
    """Data shared by all chunks are a task of their own: lost with a worker, they are computed again elsewhere."""
    pids = on_cluster.run(os.getpid)
    shared = np.arange(50_000, dtype=np.float64)

    def kill_all_soon() -> None:
        # both original workers die one after the other, so whichever held the shared data is lost
        for pid in sorted(pids.values()):
            time.sleep(1.0)
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_all_soon)
    killer.start()
    out = map_chunks(_slow_sum, list(range(12)), key="shared_sum", shared=shared)
    killer.join()
    assert out == [float(shared.sum() * i) for i in range(12)]
    on_cluster.wait_for_workers(2, timeout=60)  # the nannies restart both workers
    assert not set(pids.values()) & set(on_cluster.run(os.getpid).values())


def test_failed_chunks_named_then_resumed_on_workers(on_cluster, tmp_path):
    from functools import partial

    marks = tmp_path / "marks"
    marks.mkdir()
    ckpt = tmp_path / "ckpt"
    ids = [f"samples S{i}" for i in range(6)]
    first = partial(_marked, folder=str(marks), fail=(1, 4))
    with pytest.raises(ChunkError) as info:
        map_chunks(first, list(range(6)), ids=ids, key="marked", checkpoint_dir=ckpt)
    assert [f.chunk_id for f in info.value.failures] == ["samples S1", "samples S4"]
    assert "value 4 refused" in str(info.value)
    for p in marks.iterdir():
        p.unlink()
    out = map_chunks(partial(_marked, folder=str(marks)), list(range(6)), ids=ids, key="marked", checkpoint_dir=ckpt)
    assert out == [100, 101, 102, 103, 104, 105]
    assert sorted(p.name for p in marks.iterdir()) == ["ran-1", "ran-4"]


def test_use_scheduler_points_tmescope_at_a_running_cluster(client):
    from tmescope._execution import use_scheduler

    messages: list[str] = []
    with use_scheduler(client.scheduler.address, echo=messages.append) as other:
        assert settings.client is other
        assert map_chunks(abs, [-1, -2, 3]) == [1, 2, 3]
    assert settings.client is None
    assert messages[0].startswith("Dask cluster: 2 worker(s); dashboard ")


def test_cli_scheduler_option_runs_the_profile_on_the_cluster(client, cohort, tmp_path):
    import json

    from click.testing import CliRunner

    from tmescope.cli import main
    from tmescope.io import read_features

    sub = cohort[:4]
    table = pd.DataFrame(np.asarray(sub.X).T, index=pd.Index(sub.var_names, name="gene"), columns=sub.obs_names)
    path = tmp_path / "cohort.parquet"
    table.to_parquet(path)
    out = tmp_path / "out"
    args = ["--scheduler", client.scheduler.address, "profile", str(path), "--out", str(out), "--chunk-size", "2"]
    res = CliRunner().invoke(main, [*args, "--n-boot", "5"])
    assert res.exit_code == 0, res.output
    assert "Dask cluster: 2 worker(s); dashboard" in res.output + str(getattr(res, "stderr", ""))
    assert read_features(out)["sample"].nunique() == 4
    assert json.loads((out / "provenance.json").read_text())["params"]["scheduler"] != "in-process"
    assert settings.client is None  # the command's cluster connection was closed with it


@pytest.mark.parametrize("n_workers", [1, 4])
def test_results_identical_with_one_and_four_workers(cohort, n_workers):
    from tmescope.bulk import deconvolve
    from tmescope.scoring import score_signatures

    expected_scores = score_signatures(cohort.copy(), sets="immunotherapy", chunk_size=cohort.n_obs)
    expected_fractions = deconvolve(cohort.copy(), n_boot=20, seed=3)
    with (
        distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        settings.client = c
        try:
            scores = score_signatures(cohort.copy(), sets="immunotherapy", chunk_size=3)
            fractions = deconvolve(cohort.copy(), n_boot=20, seed=3)
        finally:
            settings.client = None
    pd.testing.assert_frame_equal(scores, expected_scores, check_exact=True)
    pd.testing.assert_frame_equal(fractions, expected_fractions, check_exact=True)
