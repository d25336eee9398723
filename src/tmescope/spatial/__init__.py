"""Spatial tumour microenvironment: graphs, neighbourhood enrichment, co-occurrence, niches and infiltration.

Every function reads an AnnData prepared by :func:`read_spatial` (coordinates in µm, ``obs["cell_type"]``,
``obs["slide"]``), works per slide and writes its results under the keys listed in ``tmescope._keys``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tmescope._registry import methods as _methods
from tmescope.spatial._cooccurrence import co_occurrence
from tmescope.spatial._enrichment import nhood_enrichment
from tmescope.spatial._features import spatial_features
from tmescope.spatial._graph import spatial_neighbors
from tmescope.spatial._input import read_spatial
from tmescope.spatial._neighborhoods import cellular_neighborhoods
from tmescope.spatial._run import analyze_spatial
from tmescope.spatial._tme import infiltration, mixing_score

if TYPE_CHECKING:
    import pandas as pd


def methods() -> pd.DataFrame:
    """Registered spatial methods as a table (name, citation, modality, ...)."""
    return _methods("spatial")


__all__ = [
    "analyze_spatial",
    "cellular_neighborhoods",
    "co_occurrence",
    "infiltration",
    "methods",
    "mixing_score",
    "nhood_enrichment",
    "read_spatial",
    "spatial_features",
    "spatial_neighbors",
]
