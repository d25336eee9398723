"""The 29 functional signatures of the TME subtypes and the immune / stromal groups used to name clusters.

Names and order follow Bagaev et al., Cancer Cell 2021 (the order of the paper's heat maps). The group
membership is how tmescope names de novo clusters: IE/F = immune and stromal signal above the cohort
median, IE = immune only, F = stromal only, D = neither.
"""

from __future__ import annotations

#: The 29 functional signatures, in the order of the paper's heat maps.
SIGNATURES: tuple[str, ...] = (
    "Angiogenesis",
    "Endothelium",
    "CAF",
    "Matrix",
    "Matrix_remodeling",
    "Protumor_cytokines",
    "Neutrophil_signature",
    "Granulocyte_traffic",
    "Macrophages",
    "Macrophage_DC_traffic",
    "MDSC_traffic",
    "MDSC",
    "Th2_signature",
    "T_reg_traffic",
    "Treg",
    "M1_signatures",
    "MHCII",
    "Antitumor_cytokines",
    "Coactivation_molecules",
    "B_cells",
    "NK_cells",
    "Checkpoint_inhibition",
    "Effector_cells",
    "T_cells",
    "Th1_signature",
    "T_cell_traffic",
    "MHCI",
    "EMT_signature",
    "Proliferation_rate",
)

#: Signatures whose mean is the "immune" axis of the naming rule (lymphocytes, antigen presentation, checkpoints).
IMMUNE: tuple[str, ...] = (
    "MHCI",
    "MHCII",
    "Coactivation_molecules",
    "Effector_cells",
    "T_cell_traffic",
    "NK_cells",
    "T_cells",
    "B_cells",
    "M1_signatures",
    "Th1_signature",
    "Antitumor_cytokines",
    "Checkpoint_inhibition",
)

#: Signatures whose mean is the "stromal" (fibrotic) axis of the naming rule.
STROMAL: tuple[str, ...] = ("CAF", "Matrix", "Matrix_remodeling", "Angiogenesis", "Endothelium")

#: Subtype labels with their (immune, stromal) direction.
SUBTYPE_AXES: dict[str, tuple[int, int]] = {"IE/F": (1, 1), "IE": (1, -1), "F": (-1, 1), "D": (-1, -1)}

#: Label order used for categoricals and tables.
SUBTYPES: tuple[str, ...] = ("IE/F", "IE", "F", "D")
