"""Readers, writers, scale detection and the tidy feature table."""

from __future__ import annotations

from tmescope.io._features import (
    FEATURE_COLUMNS,
    feature_name,
    features_from_frame,
    normalize_features,
    read_features,
    write_features,
)
from tmescope.io._read import read_expression
from tmescope.io._scale import ScaleReport, as_scale, detect_scale, parse_scale

__all__ = [
    "FEATURE_COLUMNS",
    "ScaleReport",
    "as_scale",
    "detect_scale",
    "feature_name",
    "features_from_frame",
    "normalize_features",
    "parse_scale",
    "read_expression",
    "read_features",
    "write_features",
]
