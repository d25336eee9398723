"""Single-cell TME: input handling, compartment annotation, state scoring, composition and pseudobulk.

Typical use on a scanpy user's AnnData::

    from tmescope import sc as tsc
    cells = tsc.prepare_cells(adata, sample_key="patient")
    tsc.annotate_compartments(cells, seed=0)
    tsc.score_states(cells)
    features = tsc.sc_features(cells)

See ``docs/sc.md`` for the method, the marker table and the measured agreement with expert labels.
"""

from __future__ import annotations

from tmescope.sc._aggregate import composition, pseudobulk, sc_features, wilson_interval
from tmescope.sc._annotate import (
    CLUSTER_COLUMNS,
    annotate_compartments,
    compartment_scores,
    label_clusters,
    leiden_clusters,
    marker_scores,
)
from tmescope.sc._cnv import CHROMOSOMES, call_malignant, gene_positions, infer_cnv
from tmescope.sc._embed import embed_cells
from tmescope.sc._input import CellScale, detect_cell_scale, prepare_cells, read_cells
from tmescope.sc._markers import (
    COMPARTMENTS,
    UNKNOWN,
    default_state_sets,
    marker_table,
    read_markers,
    sc_state_sets,
)
from tmescope.sc._pipeline import profile_cells
from tmescope.sc._states import GBM_STATES, assign_gbm_states, score_states

__all__ = [
    "CHROMOSOMES",
    "CLUSTER_COLUMNS",
    "COMPARTMENTS",
    "GBM_STATES",
    "UNKNOWN",
    "CellScale",
    "annotate_compartments",
    "assign_gbm_states",
    "call_malignant",
    "compartment_scores",
    "composition",
    "default_state_sets",
    "detect_cell_scale",
    "embed_cells",
    "gene_positions",
    "infer_cnv",
    "label_clusters",
    "leiden_clusters",
    "marker_scores",
    "marker_table",
    "prepare_cells",
    "profile_cells",
    "pseudobulk",
    "read_cells",
    "read_markers",
    "sc_features",
    "sc_state_sets",
    "score_states",
    "wilson_interval",
]
