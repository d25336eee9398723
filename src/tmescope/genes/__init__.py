"""Gene-identifier harmonisation against an offline HGNC 2024 / GENCODE 48 table shipped with tmescope.

Public API: :func:`detect_id_type`, :func:`harmonize` (returns :class:`GeneMapping`), :func:`harmonize_var`,
:func:`gene_lengths`, :func:`approved_symbols`, :func:`snapshot`. See ``docs/genes.md``.
"""

from __future__ import annotations

from tmescope.genes._harmonize import OUTCOMES, GeneMapping, IdTypeReport, detect_id_type, harmonize
from tmescope.genes._tables import approved_symbols, gene_lengths, snapshot
from tmescope.genes._var import DUPLICATE_RULES, harmonize_var

__all__ = [
    "DUPLICATE_RULES",
    "OUTCOMES",
    "GeneMapping",
    "IdTypeReport",
    "approved_symbols",
    "detect_id_type",
    "gene_lengths",
    "harmonize",
    "harmonize_var",
    "snapshot",
]
