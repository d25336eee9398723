"""Global settings: seed, number of jobs, progress bars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Settings:
    """Package-wide settings.

    Attributes
    ----------
    seed
        Default seed for every random step when a function is called without ``rng``/``seed``.
    n_jobs
        Default number of parallel jobs. Results never depend on it.
    progress
        Show progress bars on long loops. The CLI turns it on unless ``--quiet`` is given.
    client
        Optional ``dask.distributed.Client`` to run chunked work on; ``None`` runs in-process.
    """

    seed: int = 0
    n_jobs: int = 1
    progress: bool = False
    client: Any = None


settings = Settings()
