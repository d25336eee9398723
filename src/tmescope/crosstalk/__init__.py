"""Cell–cell crosstalk: ligand–receptor inference between cell groups, per sample and in space."""

from __future__ import annotations

from tmescope.crosstalk._infer import RESULT_COLUMNS, infer_crosstalk
from tmescope.crosstalk._rank import bh_fdr, robust_rank_aggregate
from tmescope.crosstalk._resource import RESOURCE_VERSION, load_resource, read_channels
from tmescope.crosstalk._toy import toy_cells

__all__ = [
    "RESOURCE_VERSION",
    "RESULT_COLUMNS",
    "bh_fdr",
    "infer_crosstalk",
    "load_resource",
    "read_channels",
    "robust_rank_aggregate",
    "toy_cells",
]
