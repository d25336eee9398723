"""Numba thread count for one call, restored afterwards."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import numba

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def numba_threads(n_jobs: int) -> Iterator[None]:
    """Run the block with ``n_jobs`` numba threads (capped at the pool size)."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_jobs), int(cast(Any, numba.config).NUMBA_NUM_THREADS))))
    try:
        yield
    finally:
        numba.set_num_threads(before)
