"""In-process behaviour of the execution layer: order, IDs, failures, checkpoints and resume."""

from __future__ import annotations

import numpy as np
import pytest

from tmescope._errors import InputError
from tmescope._execution import ChunkError, chunk_bounds, map_chunks, use_scheduler


def _square_sum(x):
    return float(np.square(np.asarray(x)).sum())


def test_results_in_chunk_order_for_any_threads():
    chunks = [list(range(i, i + 3)) for i in range(0, 30, 3)]
    expected = [_square_sum(c) for c in chunks]
    assert map_chunks(_square_sum, chunks) == expected
    assert map_chunks(_square_sum, chunks, n_jobs=3) == expected


def test_load_is_applied_before_func():
    data = np.arange(10.0)
    out = map_chunks(_square_sum, chunk_bounds(10, 4), load=lambda b: data[b[0] : b[1]])
    assert out == [14.0, 126.0, 145.0]


def test_chunk_bounds_refuses_zero():
    with pytest.raises(InputError, match="positive"):
        chunk_bounds(5, 0)


def test_without_checkpoint_the_first_error_is_raised_with_its_chunk():
    def boom(x):
        if x == 2:
            msg = "bad value"
            raise InputError(msg)
        return x

    with pytest.raises(InputError, match="bad value") as info:
        map_chunks(boom, [1, 2, 3], ids=["a", "b", "c"], key="demo")
    assert any("demo b" in note for note in info.value.__notes__)


def test_checkpoint_reports_failed_ids_and_resumes(tmp_path):
    calls: list[int] = []

    def flaky(x):
        calls.append(x)
        if x in {2, 4}:
            msg = f"chunk {x} broke"
            raise RuntimeError(msg)
        return x * 10

    ids = [f"samples S{i}" for i in range(5)]
    with pytest.raises(ChunkError) as info:
        map_chunks(flaky, list(range(5)), ids=ids, key="demo", checkpoint_dir=tmp_path)
    assert [f.chunk_id for f in info.value.failures] == ["samples S2", "samples S4"]
    assert "samples S2" in str(info.value)
    assert "chunk 4 broke" in str(info.value)
    assert sorted(p.name for p in tmp_path.glob("demo-*.pkl")) == [f"demo-{i:06d}.pkl" for i in (0, 1, 3)]

    rerun: list[int] = []

    def fixed(x):
        rerun.append(x)
        return x * 10

    out = map_chunks(fixed, list(range(5)), ids=ids, key="demo", checkpoint_dir=tmp_path)
    assert out == [0, 10, 20, 30, 40]
    assert rerun == [2, 4]  # only the chunks that failed ran again
    assert len(list(tmp_path.glob("demo-*.pkl"))) == 5

    def never(x):
        msg = "a finished run must not run any chunk again"
        raise AssertionError(msg)

    assert map_chunks(never, list(range(5)), ids=ids, key="demo", checkpoint_dir=tmp_path) == out


def test_checkpoint_of_other_chunks_is_refused(tmp_path):
    map_chunks(_square_sum, [[1], [2]], ids=["a", "b"], key="k", checkpoint_dir=tmp_path)
    with pytest.raises(InputError, match="same input and chunk size"):
        map_chunks(_square_sum, [[1, 2]], ids=["a..b"], key="k", checkpoint_dir=tmp_path)


def test_ids_must_match_chunks():
    with pytest.raises(InputError, match="one ID per chunk"):
        map_chunks(_square_sum, [[1], [2]], ids=["a"])


def test_scheduler_address_checked():
    with pytest.raises(InputError, match="local:4"), use_scheduler("local:zero"):
        pass


def _weighted(shared: np.ndarray, chunk: tuple[int, int]) -> float:
    lo, hi = chunk
    return float(shared[lo:hi].sum())


def test_shared_data_is_passed_first_for_any_threads():
    data = np.arange(100.0)
    chunks = chunk_bounds(100, 7)
    want = [float(data[lo:hi].sum()) for lo, hi in chunks]
    for n_jobs in (1, 2):
        assert map_chunks(_weighted, chunks, shared=data, n_jobs=n_jobs) == want
