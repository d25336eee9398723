"""Fast gene-set scoring: ssGSEA (exactly as R GSVA), singscore and mean z-score, chunked over observations.

Kernels (``ssgsea``, ``singscore``, ``mean_z``) take a dense (n_obs, n_genes) array and integer index
arrays; :func:`score_signatures` runs them over an AnnData, dense or sparse, and writes the scores;
:func:`run_scoring` reads an expression file and writes the score tables (``tmescope signatures score``).
"""

from __future__ import annotations

from tmescope.scoring._meanz import mean_z
from tmescope.scoring._run import run_scoring
from tmescope.scoring._score import METHODS, coverage_table, score_signatures
from tmescope.scoring._singscore import singscore
from tmescope.scoring._ssgsea import normalize_es, ssgsea

__all__ = [
    "METHODS",
    "coverage_table",
    "mean_z",
    "normalize_es",
    "run_scoring",
    "score_signatures",
    "singscore",
    "ssgsea",
]
