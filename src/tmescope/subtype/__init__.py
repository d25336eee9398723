"""TME subtypes (Bagaev et al. 2021) and the bulk immune-phenotype proxy.

Examples
--------
>>> from tmescope import subtype
>>> "classify_subtype" in subtype.__all__
True
"""

from __future__ import annotations

from tmescope.subtype._classify import classify_subtype, score_subtype_signatures
from tmescope.subtype._groups import IMMUNE, SIGNATURES, STROMAL, SUBTYPES
from tmescope.subtype._phenotype import immune_phenotype
from tmescope.subtype._reference import SubtypeReference, make_subtype_reference
from tmescope.subtype._scaling import mean_abs_deviation, median_scale
from tmescope.subtype._simulate import simulate_scores

__all__ = [
    "IMMUNE",
    "SIGNATURES",
    "STROMAL",
    "SUBTYPES",
    "SubtypeReference",
    "classify_subtype",
    "immune_phenotype",
    "make_subtype_reference",
    "mean_abs_deviation",
    "median_scale",
    "score_subtype_signatures",
    "simulate_scores",
]
