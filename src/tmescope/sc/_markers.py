"""Shipped marker and state tables of the single-cell module (see ``data/sc/SOURCE.md`` for their citations)."""

from __future__ import annotations

import functools
from importlib import resources
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from tmescope._errors import InputError
from tmescope.signatures import GeneSet

if TYPE_CHECKING:
    import os

#: The major TME compartments the marker annotator knows, in report order.
COMPARTMENTS: tuple[str, ...] = (
    "malignant_epithelial",
    "cd4_t",
    "cd8_t",
    "treg",
    "nk",
    "b_cell",
    "plasma",
    "monocyte_macrophage",
    "dendritic_cell",
    "mast",
    "neutrophil",
    "fibroblast",
    "pericyte_smooth_muscle",
    "endothelial",
)
#: Label of clusters whose best marker score is below the floor.
UNKNOWN = "unknown"
#: Every compartment (shorthand for state-set relevance).
ALL = "all"

#: Library gene sets scored per cell and the compartments in which each is aggregated per sample.
LIBRARY_STATE_SETS: dict[str, tuple[str, ...]] = {
    **{
        name: ("fibroblast",)
        for name in (
            "pan_caf_markers",
            "mycaf_ohlund2017",
            "icaf_ohlund2017",
            "apcaf_elyada2019",
            "ecm_mycaf_kieffer2020",
            "tgfb_mycaf_kieffer2020",
            "wound_mycaf_kieffer2020",
            "il_icaf_kieffer2020",
            "detox_icaf_kieffer2020",
            "ifng_icaf_kieffer2020",
            "caf_s1_kieffer2020",
            "normal_fibroblast_kieffer2020",
        )
    },
    "exhausted_cd8_danaher2017": ("cd8_t",),
    "cytolytic_activity_rooney2015": ("cd8_t", "nk"),
    "M1_signatures": ("monocyte_macrophage",),
    "tam_m2_exclusion_jiang2018": ("monocyte_macrophage",),
    "microglia_glioma_muller2017": ("monocyte_macrophage",),
    "bmdm_glioma_muller2017": ("monocyte_macrophage",),
    **{
        name: ("malignant_epithelial", UNKNOWN)
        for name in (
            "mes1_neftel2019",
            "mes2_neftel2019",
            "ac_neftel2019",
            "opc_neftel2019",
            "npc1_neftel2019",
            "npc2_neftel2019",
            "g1s_neftel2019",
            "g2m_neftel2019",
        )
    },
}
#: Library collections whose every set is aggregated in every compartment (metabolic and ECM programs).
LIBRARY_STATE_COLLECTIONS: tuple[str, ...] = ("metabolic", "matrisome")


def _read(name: str) -> pd.DataFrame:
    text = resources.files("tmescope").joinpath(f"data/sc/{name}").read_text(encoding="utf-8")
    return pd.read_csv(StringIO(text), sep="\t", dtype=str, keep_default_na=False)


@functools.cache
def _markers() -> pd.DataFrame:
    return _read("compartment_markers.tsv")


def marker_table() -> pd.DataFrame:
    """The shipped compartment marker table.

    Returns
    -------
    DataFrame with columns ``compartment``, ``gene``, ``direction`` (``+`` marker, ``-`` negative marker) and
    ``source`` (citation keys, see ``tmescope/data/sc/SOURCE.md``).

    Examples
    --------
    >>> t = marker_table()
    >>> sorted(set(t["compartment"])) == sorted(COMPARTMENTS)
    True
    >>> t.loc[(t["compartment"] == "mast") & (t["direction"] == "+"), "gene"].tolist()[:3]
    ['TPSAB1', 'TPSB2', 'CPA3']
    """
    return _markers().copy()


def read_markers(path: str | os.PathLike[str]) -> pd.DataFrame:
    r"""Read a user marker table (TSV or CSV with columns ``compartment``, ``gene`` and optionally ``direction``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.tsv"
    >>> _ = p.write_text("compartment\tgene\nneuron\tSNAP25\n")
    >>> read_markers(p).to_dict("records")
    [{'compartment': 'neuron', 'gene': 'SNAP25', 'direction': '+'}]
    """
    p = Path(path)
    if not p.is_file():
        msg = f"No marker table at '{p}'; give a TSV with columns compartment, gene (and optionally direction)."
        raise InputError(msg)
    text = p.read_text(encoding="utf-8")
    sep = "\t" if "\t" in text.splitlines()[0] else ","
    table = pd.read_csv(StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    missing = [c for c in ("compartment", "gene") if c not in table.columns]
    if missing:
        msg = (
            f"Marker table '{p}' lacks the column(s) {missing}; its header is {list(table.columns)}. Expected "
            "compartment, gene and optionally direction (+ or -)."
        )
        raise InputError(msg)
    if "direction" not in table.columns:
        table["direction"] = "+"
    bad = sorted(set(table["direction"]) - {"+", "-"})
    if bad:
        msg = f"Marker table '{p}': direction must be '+' or '-'; found {bad}."
        raise InputError(msg)
    table["gene"] = table["gene"].str.strip()
    table["compartment"] = table["compartment"].str.strip()
    return table.loc[table["gene"] != "", ["compartment", "gene", "direction"]].reset_index(drop=True)


def markers_from_table(table: pd.DataFrame) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """``{compartment: (positive genes, negative genes)}`` from a marker table, in first-seen order."""
    out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for comp, sub in table.groupby("compartment", sort=False):
        direction = sub["direction"] if "direction" in sub else pd.Series("+", index=sub.index)
        pos = tuple(dict.fromkeys(sub.loc[direction != "-", "gene"].astype(str)))
        neg = tuple(dict.fromkeys(sub.loc[direction == "-", "gene"].astype(str)))
        out[str(comp)] = (pos, neg)
    return out


@functools.cache
def _state_table() -> pd.DataFrame:
    return _read("state_sets.tsv")


def sc_state_sets() -> dict[str, tuple[GeneSet, tuple[str, ...]]]:
    """The single-cell state sets shipped with this module (T-cell and macrophage programs).

    Returns
    -------
    ``{name: (GeneSet, compartments)}``; the GeneSets have collection ``"sc_states"``.

    Examples
    --------
    >>> gs, comps = sc_state_sets()["t_exhaustion_sc"]
    >>> gs.genes[:3], comps
    (('PDCD1', 'HAVCR2', 'LAG3'), ('cd8_t', 'cd4_t', 'treg'))
    """
    out = {}
    for row in _state_table().itertuples(index=False):
        gs = GeneSet(
            name=row.name,
            genes=tuple(row.genes.split(",")),
            collection="sc_states",
            category=row.category,
            description=row.description,
            citation=row.citation,
            doi=row.doi,
            source="tmescope/data/sc/state_sets.tsv",
            licence="facts (gene lists compiled from the cited papers)",
        )
        out[row.name] = (gs, tuple(row.compartments.split(",")))
    return out


def default_state_sets() -> dict[str, tuple[GeneSet, tuple[str, ...]]]:
    """Every state set scored by default, with the compartments where it is aggregated.

    CAF states (Öhlund 2017, Elyada 2019, Kieffer 2020), T-cell exhaustion/cytotoxicity, macrophage programs,
    glioblastoma malignant states (Neftel 2019) and the metabolic and matrisome (ECM) collections of the signature
    library (aggregated in every compartment).

    Examples
    --------
    >>> sets = default_state_sets()
    >>> sets["mycaf_ohlund2017"][1], sets["mes1_neftel2019"][1]
    (('fibroblast',), ('malignant_epithelial', 'unknown'))
    """
    from tmescope import signatures

    out: dict[str, tuple[GeneSet, tuple[str, ...]]] = {}
    for name, comps in LIBRARY_STATE_SETS.items():
        out[name] = (signatures.get(name), comps)
    out.update(sc_state_sets())
    for collection in LIBRARY_STATE_COLLECTIONS:
        for name, gs in signatures.get_sets(collection=collection).items():
            out.setdefault(name, (gs, (ALL,)))
    return out
