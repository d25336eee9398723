"""Every AnnData key tmescope writes, in one place.

Analyses write their results under these keys; the report and the feature table read them.
"""

from __future__ import annotations

#: ``uns`` entry with what the readers detected and fixed (orientation, scale, gene mapping).
UNS_INPUT = "tmescope_input"
#: ``uns`` entry with run parameters and versions of every analysis.
UNS_RUNS = "tmescope_runs"
#: ``layers`` entry with linear TPM-like values when the input was log-transformed.
LAYER_LINEAR = "linear"
#: ``layers`` entry with log2(x + 1) values.
LAYER_LOG2 = "log2"

#: ``obsm`` prefix for gene-set scores: ``obsm["scores_<method>"]`` (samples x sets DataFrame).
OBSM_SCORES = "scores_{method}"
#: ``uns`` entry with per-set gene coverage of the last scoring run: ``uns["coverage_<method>"]``.
UNS_COVERAGE = "coverage_{method}"

# --- bulk composition -------------------------------------------------------------------------
#: ``obsm`` DataFrame: stromal_score, immune_score, estimate_score, purity (ESTIMATE).
OBSM_ESTIMATE = "estimate"
#: ``obsm`` DataFrame: MCP-counter-style marker abundance per cell population.
OBSM_MCP = "mcp_counter"
#: ``obsm`` DataFrames of the deconvolution: fractions and their bootstrap interval bounds.
OBSM_FRACTIONS = "fractions"
OBSM_FRACTIONS_LOW = "fractions_ci_low"
OBSM_FRACTIONS_HIGH = "fractions_ci_high"
#: ``obs`` columns: goodness of fit of the deconvolution per sample, and a poor-fit flag.
OBS_FIT = "deconvolution_fit"
OBS_FIT_FLAG = "deconvolution_flag"

# --- subtypes and profile ---------------------------------------------------------------------
#: ``obs`` categorical: TME subtype (IE/F, IE, F, D) and its confidence (neighbour vote share or cluster quality).
OBS_SUBTYPE = "tme_subtype"
OBS_SUBTYPE_CONFIDENCE = "tme_subtype_confidence"
#: ``obsm`` DataFrame: the 29 functional signatures after median/MAD scaling in the cohort or reference.
OBSM_SUBTYPE_SCALED = "tme_subtype_scaled"
#: ``uns`` dict: subtype method, reference name, k, and ``nearest`` (tidy table of nearest reference cases).
UNS_SUBTYPE = "tme_subtype"
#: ``obs`` categorical: bulk immune-phenotype proxy (inflamed / excluded / desert).
OBS_IMMUNE_PHENOTYPE = "immune_phenotype"
#: ``obsm`` DataFrame: 2-D embedding of samples for the report.
OBSM_EMBEDDING = "X_tme_embedding"
#: ``obsm`` DataFrame: raw (unnormalised ssGSEA) scores of the 29 TME-subtype signatures.
OBSM_SUBTYPE_SCORES = "scores_bagaev2021"
#: ``obsm`` DataFrame: bulk immune-phenotype signals (CD8 and stromal/TGF-β) and their scaled values.
OBSM_IMMUNE_PHENOTYPE = "immune_phenotype"
#: ``uns`` dict: immune-phenotype rule, genes used, reference and the note that it is a bulk proxy.
UNS_IMMUNE_PHENOTYPE = "immune_phenotype"
#: ``obsm`` DataFrame: scores defined by a formula: CYT (Rooney 2015, TPM) and TIDE CTL level (Jiang 2018).
OBSM_IMMUNOTHERAPY_FORMULAS = "immunotherapy_formulas"
#: ``uns`` dict: profile run: reference name/description/versions, seed, n_boot, k, library and gene-table versions.
UNS_PROFILE = "tmescope_profile"

# --- single-cell (tmescope.sc) ----------------------------------------------------------------
#: ``layers`` entry with the raw counts of a single-cell AnnData (kept when the input had them).
LAYER_COUNTS = "counts"
#: ``obs`` categorical: major TME compartment of each cell (marker annotation, or the user's labels).
OBS_COMPARTMENT = "compartment"
#: ``obs`` float: confidence of the compartment label (share of the cluster's cells whose own best marker match
#: is the cluster's label; NaN for user labels).
OBS_COMPARTMENT_CONFIDENCE = "compartment_confidence"
#: ``obs`` categorical: the seeded Leiden cluster (or user label) each compartment label was given to.
OBS_COMPARTMENT_CLUSTER = "compartment_cluster"
#: ``obsm`` DataFrame: per-cell marker score of every compartment (mean z of markers minus half the negatives).
OBSM_COMPARTMENT_SCORES = "compartment_scores"
#: ``uns`` dict: annotation method, parameters, marker coverage and ``clusters`` (per-cluster label table).
UNS_COMPARTMENT = "compartment"
#: ``obsm`` DataFrame: per-cell state scores (CAF, T-cell, macrophage, GBM, metabolic and ECM programs).
OBSM_SC_STATES = "sc_states"
#: ``uns`` dict: state-scoring method, set-to-compartment map and ``summary`` (tidy per sample x compartment).
UNS_SC_STATES = "sc_states"
#: ``obs`` categorical: dominant glioblastoma state (Neftel 2019 meta-module) of each malignant cell.
OBS_GBM_STATE = "gbm_state"
#: ``obsm`` array: inferred copy-number profile of each cell (cells x genomic windows), as infercnvpy's ``X_cnv``.
OBSM_CNV = "X_cnv"
#: ``obs`` float: CNV score of each cell (mean absolute value of its denoised CNV profile).
OBS_CNV_SCORE = "cnv_score"
#: ``obs`` categorical: ``malignant`` / ``normal`` / ``reference`` call from the CNV score.
OBS_CNV_CALL = "cnv_call"
#: ``uns`` dict: CNV windows (``chr_pos``, ``window_chrom``), parameters, reference scores and the call threshold.
UNS_CNV = "cnv"
#: ``obsm`` array: 2-D UMAP of the cells (scanpy's key; NaN for cells outside the embedded subsample).
OBSM_UMAP = "X_umap"
#: ``uns`` dict: parameters of the UMAP computed by ``tmescope.sc.embed_cells``.
UNS_SC_UMAP = "sc_umap"

# --- spatial (tmescope.spatial) ---------------------------------------------------------------
#: ``uns`` dict: how the spatial input was read (columns, unit, µm per unit, slides).
UNS_SPATIAL_INPUT = "tmescope_spatial_input"
#: ``obs`` categoricals: cell type and slide of each cell (copied from the input's columns).
OBS_CELL_TYPE = "cell_type"
OBS_SLIDE = "slide"
#: ``obsp`` sparse matrices of the spatial neighbour graph (never across slides) and its edge lengths (µm).
OBSP_SPATIAL_CONN = "spatial_connectivities"
OBSP_SPATIAL_DIST = "spatial_distances"
#: ``uns`` dict: graph method and parameters.
UNS_SPATIAL_GRAPH = "spatial_neighbors"
#: ``uns`` dict: neighbourhood enrichment (``zscore``, ``count``, ``categories``, parameters).
UNS_NHOOD_ENRICHMENT = "nhood_enrichment"
#: ``uns`` dict: co-occurrence ratios (``occ``: types x types x bins, ``interval``: bin edges in µm).
UNS_CO_OCCURRENCE = "co_occurrence"
#: ``obs`` categorical / ``obsm`` DataFrame / ``uns`` dict: cellular neighbourhood label, the k-NN composition and
#: the neighbourhoods' names, enrichment and per-slide frequencies.
OBS_CN = "cellular_neighborhood"
OBSM_CN_COMPOSITION = "cn_composition"
UNS_CN = "cellular_neighborhoods"
#: ``obs`` columns: tumour compartment (core / interface / stroma), signed distance (µm) to the tumour
#: boundary (negative inside) and distance (µm) to the nearest tumour cell.
OBS_COMPARTMENT_TUMOR = "tumor_compartment"
OBS_BOUNDARY_DISTANCE = "tumor_boundary_distance"
OBS_TUMOR_DISTANCE = "tumor_cell_distance"
#: ``uns`` dict: infiltration tables (densities per compartment, distances, mixing score, immune phenotypes).
UNS_INFILTRATION = "spatial_infiltration"

# --- crosstalk (tmescope.crosstalk) -----------------------------------------------------------
#: ``uns`` dict: ``results`` (per sample x sender x receiver x ligand-receptor pair table) and ``params``.
UNS_CROSSTALK = "crosstalk"
#: ``uns`` dict: spatially restricted crosstalk (same layout as ``crosstalk`` plus the distance rule).
UNS_CROSSTALK_SPATIAL = "crosstalk_spatial"
#: ``obsm`` DataFrame: local bivariate ligand-receptor score of every cell/spot (one column per pair).
OBSM_LR_LOCAL = "lr_local"
