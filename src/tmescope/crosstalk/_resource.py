"""The shipped ligand–receptor resource and the curated TME channel groups."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmescope._errors import InputError

if TYPE_CHECKING:
    import os

#: Version tag of the shipped resource (source table and build).
RESOURCE_VERSION = "omnipath-consensus-liana-1.10.0"
_RESOURCES = {"consensus": "lr_consensus.tsv"}
COMPLEX_SEP = "_"


def _data_path(name: str) -> os.PathLike[str]:
    return resources.files("tmescope") / "data" / "crosstalk" / name  # type: ignore[return-value]


def read_channels(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The curated TME channel groups: ``channel``, ``ligands``, ``receptors`` (gene patterns) and ``description``.

    Examples
    --------
    >>> read_channels()["channel"].tolist()[:2]
    ['immune_checkpoint', 'caf_exclusion']
    """
    with (_data_path("channels.tsv") if path is None else path).open("r", encoding="utf-8") as fh:  # type: ignore[union-attr]
        return pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False)


def _matches(genes: list[str], patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(g, p) for g in genes for p in patterns)


def annotate_channels(table: pd.DataFrame, channels: pd.DataFrame) -> pd.Series:
    """``;``-joined channel groups of every pair: a ligand subunit and a receptor subunit must both match."""
    rules = [(r.channel, r.ligands.split(","), r.receptors.split(",")) for r in channels.itertuples()]
    out = []
    for lig, rec in zip(table["ligand"], table["receptor"], strict=True):
        lg, rg = str(lig).split(COMPLEX_SEP), str(rec).split(COMPLEX_SEP)
        out.append(";".join(name for name, lp, rp in rules if _matches(lg, lp) and _matches(rg, rp)))
    return pd.Series(out, index=table.index, name="channel", dtype=str)


def load_resource(name: str = "consensus") -> pd.DataFrame:
    """The shipped ligand–receptor resource.

    Parameters
    ----------
    name
        ``"consensus"``: the OmniPath consensus resource as packaged by LIANA :cite:`dimitrov2022`
        (4,620 pairs), with the original resources listing each pair.

    Returns
    -------
    DataFrame with ``ligand`` and ``receptor`` (HGNC symbols; heteromeric complexes joined by ``_``, every subunit
    required), ``ligand_uniprot``, ``receptor_uniprot``, ``sources`` (``;``-joined original resources) and
    ``channel`` (``;``-joined curated TME channel groups, empty if none).

    Examples
    --------
    >>> res = load_resource()
    >>> len(res), bool(res["receptor"].str.contains("_").any())
    (4620, True)
    >>> res.loc[(res["ligand"] == "CD274") & (res["receptor"] == "PDCD1"), "channel"].item()
    'immune_checkpoint'
    """
    if name not in _RESOURCES:
        msg = f"Unknown ligand–receptor resource {name!r}; expected one of {sorted(_RESOURCES)}."
        raise InputError(msg)
    with _data_path(_RESOURCES[name]).open("r", encoding="utf-8") as fh:  # type: ignore[attr-defined]
        return pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False)


@dataclass(frozen=True)
class Entities:
    """Ligand and receptor entities (single genes or complexes) mapped onto gene columns.

    ``subunits`` is an (n_entities x max_subunits) array of gene column indices padded with -1.
    """

    names: list[str]
    subunits: np.ndarray
    ligand: np.ndarray
    receptor: np.ndarray
    genes: list[str]
    table: pd.DataFrame


def check_resource(resource: pd.DataFrame) -> pd.DataFrame:
    """Validate a user resource: needs ``ligand`` and ``receptor`` columns of gene symbols."""
    if not isinstance(resource, pd.DataFrame):
        msg = f"`resource` must be a DataFrame with 'ligand' and 'receptor' columns, got {type(resource).__name__}."
        raise InputError(msg)
    missing = [c for c in ("ligand", "receptor") if c not in resource.columns]
    if missing:
        msg = (
            f"Ligand–receptor resource lacks the column(s) {missing}; it needs 'ligand' and 'receptor' "
            f"(complex subunits joined by '{COMPLEX_SEP}'), got columns {list(resource.columns)}."
        )
        raise InputError(msg)
    out = resource.copy()
    for col in ("sources", "channel"):
        if col not in out.columns:
            out[col] = ""
    out["ligand"] = out["ligand"].astype(str)
    out["receptor"] = out["receptor"].astype(str)
    return out.drop_duplicates(["ligand", "receptor"]).reset_index(drop=True)


def map_entities(resource: pd.DataFrame, var_names: pd.Index) -> Entities:
    """Keep the pairs whose every subunit is a gene of ``var_names`` and index them.

    Returns
    -------
    :class:`Entities` whose ``genes`` are the needed genes (sorted) and whose ``table`` holds the kept pairs with
    ``ligand_idx`` / ``receptor_idx`` into ``names``.
    """
    present = set(map(str, var_names))
    keep = [
        all(g in present for g in lig.split(COMPLEX_SEP)) and all(g in present for g in rec.split(COMPLEX_SEP))
        for lig, rec in zip(resource["ligand"], resource["receptor"], strict=True)
    ]
    table = resource.loc[keep].reset_index(drop=True)
    names = sorted(set(table["ligand"]) | set(table["receptor"]))
    genes = sorted({g for n in names for g in n.split(COMPLEX_SEP)})
    gpos = {g: i for i, g in enumerate(genes)}
    width = max((len(n.split(COMPLEX_SEP)) for n in names), default=1)
    subunits = np.full((len(names), width), -1, dtype=np.int64)
    for i, n in enumerate(names):
        parts = [gpos[g] for g in n.split(COMPLEX_SEP)]
        subunits[i, : len(parts)] = parts
    epos = {n: i for i, n in enumerate(names)}
    table["ligand_idx"] = table["ligand"].map(epos).astype(np.int64)
    table["receptor_idx"] = table["receptor"].map(epos).astype(np.int64)
    return Entities(
        names=names,
        subunits=subunits,
        ligand=table["ligand_idx"].to_numpy(),
        receptor=table["receptor_idx"].to_numpy(),
        genes=genes,
        table=table,
    )
