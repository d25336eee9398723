"""Versions a frozen reference cohort must share with the running tmescope."""

from __future__ import annotations

from typing import Any


def running_versions() -> dict[str, Any]:
    """Signature-library and gene-table versions of this installation.

    Examples
    --------
    >>> sorted(running_versions())
    ['gene_table_sha256', 'gene_table_version', 'signature_library_version', 'tmescope_version']
    """
    from tmescope import __version__
    from tmescope.genes import snapshot
    from tmescope.signatures import LIBRARY_VERSION

    snap = snapshot()
    return {
        "signature_library_version": str(LIBRARY_VERSION),
        "gene_table_version": f"HGNC {snap['hgnc_snapshot']} / GENCODE {snap['gencode_release']}",
        "gene_table_sha256": str(snap["tables_sha256"]),
        "tmescope_version": __version__,
    }
