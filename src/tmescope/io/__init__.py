"""Readers, writers, scale detection and the tidy feature table."""

from __future__ import annotations

from tmescope.io._clinical import STANDARD_COLUMNS, match_samples, normalize_id, read_clinical
from tmescope.io._features import (
    FEATURE_COLUMNS,
    feature_name,
    features_from_frame,
    normalize_features,
    read_features,
    write_features,
)
from tmescope.io._read import drop_incomplete_genes, read_expression
from tmescope.io._scale import ScaleReport, as_scale, counts_as_tpm, detect_scale, parse_scale
from tmescope.io._write import write_h5ad

__all__ = [
    "FEATURE_COLUMNS",
    "STANDARD_COLUMNS",
    "ScaleReport",
    "as_scale",
    "counts_as_tpm",
    "detect_scale",
    "drop_incomplete_genes",
    "feature_name",
    "features_from_frame",
    "match_samples",
    "normalize_features",
    "normalize_id",
    "parse_scale",
    "read_clinical",
    "read_expression",
    "read_features",
    "write_features",
    "write_h5ad",
]
