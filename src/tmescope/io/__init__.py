"""Readers, writers and the tidy feature table."""

from __future__ import annotations

from tmescope.io._features import (
    FEATURE_COLUMNS,
    feature_name,
    features_from_frame,
    normalize_features,
    read_features,
    write_features,
)

__all__ = [
    "FEATURE_COLUMNS",
    "feature_name",
    "features_from_frame",
    "normalize_features",
    "read_features",
    "write_features",
]
