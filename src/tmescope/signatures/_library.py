"""The built-in signature library (shipped as data inside the package) plus user-added sets."""

from __future__ import annotations

import difflib
import functools
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

import pandas as pd

from tmescope._errors import InputError, InputTypeError, MissingKeyError
from tmescope.signatures._geneset import GeneSet

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: Built-in collections, in the order ``list_sets`` shows them.
COLLECTIONS: tuple[str, ...] = (
    "bagaev2021",
    "estimate",
    "immunotherapy",
    "tls",
    "caf",
    "matrisome",
    "metabolic",
    "hallmark",
    "gbm_states",
    "cell_markers",
)

_COLUMNS = ["name", "collection", "category", "n_genes", "description", "citation", "doi", "source", "licence"]
_USER: dict[str, GeneSet] = {}


@functools.cache
def _payload() -> dict[str, Any]:
    text = resources.files("tmescope").joinpath("data/signatures/signatures.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _builtin() -> dict[str, GeneSet]:
    sets = {}
    for raw in _payload()["sets"]:
        rec = {**raw, "genes": tuple(raw["genes"])}
        sets[rec["name"]] = GeneSet(**rec)
    return sets


def library_version() -> str:
    """Version string of the shipped library data."""
    return str(_payload()["library_version"])


def remapped_symbols() -> pd.DataFrame:
    """Symbols of the published lists that the library build mapped to current HGNC symbols.

    Returns
    -------
    DataFrame with columns ``set``, ``published``, ``current``, ``rule`` (previous / alias / withdrawn / case).

    Examples
    --------
    >>> df = remapped_symbols()
    >>> df.loc[df["published"] == "CTGF", "current"].iloc[0]
    'CCN2'
    """
    return pd.DataFrame(_payload()["remapped_symbols"], columns=["set", "published", "current", "rule"])


def _all() -> dict[str, GeneSet]:
    out = dict(_builtin())
    out.update(_USER)
    return out


def _not_found(name: str, known: Iterable[str]) -> MissingKeyError:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    msg = (
        f"Gene set {name!r} is not in the signature library.{hint} "
        "See `tmescope.signatures.list_sets()` for every name, or add your own with `tmescope.signatures.add_sets`."
    )
    return MissingKeyError(msg)


def get(name: str) -> GeneSet:
    """One gene set by name (built-in or user-added).

    Examples
    --------
    >>> get("cytolytic_activity_rooney2015").genes
    ('GZMA', 'PRF1')
    """
    sets = _all()
    if name not in sets:
        raise _not_found(name, sets)
    return sets[name]


def get_sets(names: Iterable[str] | None = None, *, collection: str | None = None) -> dict[str, GeneSet]:
    """Several gene sets as an ordered ``{name: GeneSet}`` dict.

    Parameters
    ----------
    names
        Set names, returned in this order; ``None`` selects every set (of ``collection``, if given).
    collection
        Keep only sets of this collection (see ``COLLECTIONS``; user sets have their own collection names).

    Returns
    -------
    Ordered mapping name → GeneSet.

    Examples
    --------
    >>> sets = get_sets(collection="bagaev2021")
    >>> len(sets), next(iter(sets))
    (29, 'Angiogenesis')
    """
    sets = _all()
    if collection is not None and collection not in {s.collection for s in sets.values()}:
        msg = f"Unknown collection {collection!r}; expected one of {', '.join(_collections(sets))}."
        raise InputError(msg)
    if names is None:
        chosen = list(sets)
    else:
        if isinstance(names, str):
            names = [names]
        chosen = list(dict.fromkeys(names))
        for n in chosen:
            if n not in sets:
                raise _not_found(n, sets)
    return {n: sets[n] for n in chosen if collection is None or sets[n].collection == collection}


def _collections(sets: Mapping[str, GeneSet]) -> list[str]:
    seen = dict.fromkeys(COLLECTIONS)
    seen.update(dict.fromkeys(s.collection for s in sets.values()))
    return list(seen)


def list_sets(*, collection: str | None = None, category: str | None = None, search: str | None = None) -> pd.DataFrame:
    """Table of the library's gene sets, one row per set.

    Parameters
    ----------
    collection
        Keep only this collection.
    category
        Keep only this category.
    search
        Case-insensitive text to look for in the name, description, citation or DOI, or an exact gene symbol
        contained in the set.

    Returns
    -------
    DataFrame with columns ``name``, ``collection``, ``category``, ``n_genes``, ``description``, ``citation``,
    ``doi``, ``source``, ``licence``.

    Examples
    --------
    >>> list_sets(search="HPDL")["name"].tolist()
    ['tyrosine_catabolism_hpdl_nazemi2024']
    """
    rows = []
    needle = search.lower().strip() if search else None
    for s in get_sets(collection=collection).values():
        if category is not None and s.category != category:
            continue
        if needle is not None:
            text = " ".join((s.name, s.description, s.citation, s.doi)).lower()
            if needle not in text and needle.upper() not in s.genes:
                continue
        rows.append(
            {
                "name": s.name,
                "collection": s.collection,
                "category": s.category,
                "n_genes": len(s.genes),
                "description": s.description,
                "citation": s.citation,
                "doi": s.doi,
                "source": s.source,
                "licence": s.licence,
            }
        )
    return pd.DataFrame(rows, columns=_COLUMNS)


def add_sets(sets: Mapping[str, GeneSet | Iterable[str]] | Iterable[GeneSet], *, overwrite: bool = False) -> None:
    """Add user gene sets to the library for this session, next to the built-ins.

    Parameters
    ----------
    sets
        GeneSets, or a mapping name → GeneSet or gene list (a list becomes a set of collection ``"user"``).
    overwrite
        Replace existing sets of the same name (built-ins are never replaced: pick another name).

    Examples
    --------
    >>> add_sets({"my_tcell_markers": ["CD3D", "CD3E", "CD2"]})
    >>> get("my_tcell_markers").collection
    'user'
    >>> remove_sets(["my_tcell_markers"])
    """
    new = as_gene_sets(sets)
    for name in new:
        if name in _builtin():
            msg = f"Gene set {name!r} is a built-in set and cannot be replaced; give your set another name."
            raise InputError(msg)
        if name in _USER and not overwrite:
            msg = f"Gene set {name!r} was already added; pass overwrite=True to replace it."
            raise InputError(msg)
    _USER.update(new)


def remove_sets(names: Iterable[str]) -> None:
    """Remove user-added sets (built-ins cannot be removed)."""
    for n in [names] if isinstance(names, str) else names:
        if n not in _USER:
            raise _not_found(n, _USER)
        del _USER[n]


def as_gene_sets(sets: Any, *, collection: str = "user") -> dict[str, GeneSet]:
    """Normalise GeneSets, a mapping name → GeneSet/gene list, or an iterable of GeneSets to ``{name: GeneSet}``."""
    out: dict[str, GeneSet] = {}
    if isinstance(sets, GeneSet):
        return {sets.name: sets}
    if hasattr(sets, "items"):
        for name, val in sets.items():
            if isinstance(val, GeneSet):
                out[str(name)] = val if val.name == name else _renamed(val, str(name))
            elif isinstance(val, str) or not hasattr(val, "__iter__"):
                msg = f"Gene set {name!r} must be a GeneSet or a list of gene symbols; received {type(val).__name__}."
                raise InputTypeError(msg)
            else:
                out[str(name)] = GeneSet(name=str(name), genes=tuple(val), collection=collection)
        return out
    if isinstance(sets, str) or not hasattr(sets, "__iter__"):
        msg = f"Expected GeneSets or a mapping name -> genes; received {type(sets).__name__}."
        raise InputTypeError(msg)
    for gs in sets:
        if not isinstance(gs, GeneSet):
            msg = f"Expected GeneSet items; received {type(gs).__name__}. Pass a mapping name -> genes instead."
            raise InputTypeError(msg)
        out[gs.name] = gs
    return out


def _renamed(gs: GeneSet, name: str) -> GeneSet:
    from dataclasses import replace

    return replace(gs, name=name)
