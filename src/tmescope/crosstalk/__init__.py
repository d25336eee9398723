"""Cell–cell crosstalk: ligand–receptor inference between cell groups, per sample and in space."""

from __future__ import annotations

from tmescope.crosstalk._features import channel_summary, crosstalk_features
from tmescope.crosstalk._infer import RESULT_COLUMNS, infer_crosstalk
from tmescope.crosstalk._rank import bh_fdr, robust_rank_aggregate
from tmescope.crosstalk._resource import RESOURCE_VERSION, load_resource, read_channels
from tmescope.crosstalk._spatial import SPATIAL_COLUMNS, local_lr_scores, spatial_crosstalk
from tmescope.crosstalk._toy import toy_cells

__all__ = [
    "RESOURCE_VERSION",
    "RESULT_COLUMNS",
    "SPATIAL_COLUMNS",
    "bh_fdr",
    "channel_summary",
    "crosstalk_features",
    "infer_crosstalk",
    "load_resource",
    "local_lr_scores",
    "methods",
    "read_channels",
    "robust_rank_aggregate",
    "spatial_crosstalk",
    "toy_cells",
]


def methods():
    """Registered crosstalk methods as a table."""
    from tmescope._registry import methods as _methods

    return _methods("crosstalk")
