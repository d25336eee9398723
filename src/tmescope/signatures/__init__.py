"""The built-in, cited gene-set library: list, search and get sets; import and export GMT; add your own.

Examples
--------
>>> from tmescope import signatures
>>> signatures.get("ifng_6gene_ayers2017").genes
('IDO1', 'CXCL10', 'CXCL9', 'HLA-DRA', 'STAT1', 'IFNG')
"""

from __future__ import annotations

from tmescope.signatures._geneset import GeneSet
from tmescope.signatures._gmt import read_gmt, write_gmt
from tmescope.signatures._library import (
    COLLECTIONS,
    add_sets,
    as_gene_sets,
    get,
    get_sets,
    library_version,
    list_sets,
    remapped_symbols,
    remove_sets,
)

#: Version of the shipped signature library data (recorded in provenance and reference cohorts).
LIBRARY_VERSION: str = library_version()

__all__ = [
    "COLLECTIONS",
    "LIBRARY_VERSION",
    "GeneSet",
    "add_sets",
    "as_gene_sets",
    "get",
    "get_sets",
    "list_sets",
    "read_gmt",
    "remapped_symbols",
    "remove_sets",
    "write_gmt",
]
