"""The gene-set record."""

from __future__ import annotations

from dataclasses import dataclass

from tmescope._errors import InputError, InputTypeError


@dataclass(frozen=True)
class GeneSet:
    """One named gene set with its provenance.

    Attributes
    ----------
    name
        Unique lower-snake-case name ending in its source, e.g. ``"cytolytic_activity_rooney2015"``
        (the 29 Bagaev et al. 2021 sets keep their MFP names, e.g. ``"MHCI"``).
    genes
        Current HGNC symbols, unique, in the published order.
    collection
        Collection the set belongs to, e.g. ``"bagaev2021"``, ``"hallmark"`` or ``"user"``.
    category
        Biological category within the collection, e.g. ``"immune_effector"``, ``"caf_state"``.
    description
        What the set measures, and any caveat.
    citation
        Full reference (authors, year, journal).
    doi
        DOI of the publication, without ``https://doi.org/``.
    source
        Where the list was taken from (file, repository and commit).
    licence
        Licence or status of the list.
    """

    name: str
    genes: tuple[str, ...]
    collection: str = "user"
    category: str = ""
    description: str = ""
    citation: str = ""
    doi: str = ""
    source: str = ""
    licence: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            msg = f"A gene set needs a non-empty string name; received {self.name!r}."
            raise InputError(msg)
        if isinstance(self.genes, str) or not hasattr(self.genes, "__iter__"):
            msg = (
                f"Gene set {self.name!r}: `genes` must be a list or tuple of gene symbols; received "
                f"{type(self.genes).__name__} {self.genes!r}. Wrap a single gene in a list."
            )
            raise InputTypeError(msg)
        genes = tuple(str(g).strip() for g in self.genes if str(g).strip())
        # unique, first occurrence wins: duplicated genes would count twice in rank statistics
        object.__setattr__(self, "genes", tuple(dict.fromkeys(genes)))

    def __len__(self) -> int:
        return len(self.genes)
