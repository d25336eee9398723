"""Figures of a TME profile: interactive plotly figures built only from what the analyses stored.

Each function reads the profile AnnData (or the tidy feature table) and returns a
:class:`plotly.graph_objects.Figure`; when its input is absent it raises
:class:`~tmescope.MissingKeyError` saying what to run. :func:`tmescope.report.write_report` assembles
them into the HTML report.
"""

from __future__ import annotations

from tmescope.pl._data import SUBTYPE_COLORS, SUBTYPE_MEANING, SUBTYPE_ORDER, subtype_color
from tmescope.pl._figures import (
    composition_bars,
    composition_intervals,
    embedding,
    feature_percentiles,
    signature_heatmap,
    subtype_distribution,
)

__all__ = [
    "SUBTYPE_COLORS",
    "SUBTYPE_MEANING",
    "SUBTYPE_ORDER",
    "composition_bars",
    "composition_intervals",
    "embedding",
    "feature_percentiles",
    "signature_heatmap",
    "subtype_color",
    "subtype_distribution",
]
