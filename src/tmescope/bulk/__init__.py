"""Bulk tumour-microenvironment composition: ESTIMATE, marker abundance and deconvolution.

- :func:`estimate`: ESTIMATE stromal/immune/ESTIMATE scores and tumour purity (Yoshihara et al. 2013);
- :func:`mcp_counter`: MCP-counter-style abundance of 10 populations (Becht et al. 2016);
- :func:`deconvolve`: absolute cell fractions with bootstrap intervals (EPIC-like constrained least
  squares, ν-SVR, NNLS) against a shipped reference (:func:`references`) or one built with
  :func:`build_reference`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tmescope._registry import methods as _methods
from tmescope.bulk._deconv import METHODS as DECONVOLUTION_METHODS
from tmescope.bulk._deconv import deconvolve
from tmescope.bulk._estimate import estimate
from tmescope.bulk._mcp import mcp_counter
from tmescope.bulk._reference import Reference, build_reference, get_reference, references

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DECONVOLUTION_METHODS",
    "Reference",
    "build_reference",
    "deconvolve",
    "estimate",
    "get_reference",
    "mcp_counter",
    "methods",
    "references",
]


def methods() -> pd.DataFrame:
    """The bulk composition methods with their citation and required scale.

    Returns
    -------
    One row per registered method of the ``bulk`` topic (``name``, ``topic``, ``modality``, ``citation``,
    ``scale``, ``gives_pvalues``, ``function``).

    Examples
    --------
    >>> sorted(methods()["name"])
    ['deconvolve', 'estimate', 'mcp_counter']
    """
    return _methods("bulk")
