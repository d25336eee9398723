"""The whole single-cell run: prepare, annotate, score states, composition, pseudobulk and features."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from tmescope import _keys
from tmescope._settings import settings
from tmescope.sc._aggregate import pseudobulk, sc_features
from tmescope.sc._annotate import annotate_compartments
from tmescope.sc._cnv import call_malignant, infer_cnv
from tmescope.sc._input import prepare_cells
from tmescope.sc._states import assign_gbm_states, score_states

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd
    from anndata import AnnData


class CellProfile(NamedTuple):
    """What :func:`profile_cells` returns."""

    cells: AnnData
    """The working AnnData with every result under its documented key."""
    features: pd.DataFrame
    """The tidy feature table (one row per sample and feature)."""
    pseudobulk: AnnData
    """Per-sample × compartment pseudobulk (input of :func:`tmescope.bulk.build_reference`)."""


def profile_cells(
    adata: AnnData,
    *,
    sample_key: str | None = None,
    labels_key: str | None = None,
    layer: str | None = None,
    scale: str = "auto",
    markers: pd.DataFrame | None = None,
    resolution: float = 2.0,
    min_score: float = 0.15,
    states: bool = True,
    signatures: bool = True,
    gbm: bool = False,
    cnv_reference: Sequence[str] | None = None,
    cnv_reference_key: str = _keys.OBS_COMPARTMENT,
    seed: int | None = None,
) -> CellProfile:
    """Run the single-cell TME analysis of every sample of an AnnData (the input is not changed).

    Steps: :func:`prepare_cells` (input matrix, scale, genes, sample names), :func:`annotate_compartments`
    (or the user's labels), :func:`score_states`, :func:`sc_features` (composition, states, pseudobulk
    signatures) and :func:`pseudobulk` per sample and compartment.

    Parameters
    ----------
    adata
        Cells × genes, raw counts (in ``X`` or a layer) or log-normalised values.
    sample_key
        ``obs`` column naming each cell's sample; ``None`` treats all cells as one sample.
    labels_key
        ``obs`` column with the user's own cell-type labels, used instead of the marker annotator.
    layer, scale
        As in :func:`prepare_cells`.
    markers, resolution, min_score
        As in :func:`annotate_compartments`.
    states
        Score the state programs.
    signatures
        Score the pseudobulk with the bulk signature collections.
    gbm
        Glioblastoma: also assign each malignant cell its dominant Neftel 2019 state (needs ``states``).
    cnv_reference
        Normal categories of ``cnv_reference_key`` (e.g. ``["cd4_t", "cd8_t", "monocyte_macrophage",
        "fibroblast", "endothelial"]``): infer copy number (:func:`infer_cnv`) and call malignant cells
        (:func:`call_malignant`, ``obs["cnv_call"]``). ``None`` skips it.
    cnv_reference_key
        ``obs`` column holding those categories (default the compartment labels).
    seed
        Seed of the clustering (default ``tmescope.settings.seed``).

    Returns
    -------
    CellProfile
        ``cells`` (with ``obs["compartment"]``, ``obs["compartment_confidence"]``, ``obs["compartment_cluster"]``,
        ``obsm["compartment_scores"]``, ``obsm["sc_states"]``, ``uns["compartment"]``, ``uns["sc_states"]``,
        ``uns["tmescope_input"]``), ``features`` and ``pseudobulk``.
    """
    seed = settings.seed if seed is None else int(seed)
    cells = prepare_cells(adata, sample_key=sample_key, layer=layer, scale=scale)
    annotate_compartments(
        cells, labels_key=labels_key, markers=markers, resolution=resolution, min_score=min_score, seed=seed
    )
    if cnv_reference:
        infer_cnv(cells, reference_key=cnv_reference_key, reference_categories=list(cnv_reference))
        call_malignant(cells)
    if states:
        score_states(cells)
        if gbm:
            assign_gbm_states(cells)
    features = sc_features(cells, signatures=signatures)
    pb = pseudobulk(cells, groupby=_keys.OBS_COMPARTMENT)
    return CellProfile(cells, features, pb)
