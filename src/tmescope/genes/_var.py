"""Harmonise ``adata.var_names`` to approved symbols and aggregate genes that map to the same symbol."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from tmescope._errors import InputError, InputTypeError
from tmescope._keys import UNS_INPUT
from tmescope._logging import autofix
from tmescope.genes._harmonize import harmonize

if TYPE_CHECKING:
    from anndata import AnnData

__all__ = ["DUPLICATE_RULES", "UNS_GENE_MAPPING", "VAR_ORIGINAL_IDS", "aggregate_columns", "harmonize_var"]

#: Key inside ``uns["tmescope_input"]`` with the gene-identifier mapping summary.
UNS_GENE_MAPPING = "gene_mapping"
#: ``var`` column with the input identifiers behind each approved symbol, joined by ``|``.
VAR_ORIGINAL_IDS = "original_ids"

#: How columns that map to the same gene are combined.
DUPLICATE_RULES = {
    "mean": "mean of the duplicated columns",
    "sum": "sum of the duplicated columns (use for raw counts)",
    "max_mean": "keep the column with the highest mean over observations (first one on ties)",
    "first": "keep the first column",
}


def _group_codes(keys: list[str]) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(pd.Index(keys, dtype=object), sort=False)
    return np.asarray(codes, dtype=np.intp), [str(u) for u in uniques]


def _column_means(x: Any) -> np.ndarray:
    return np.asarray(x.mean(axis=0), dtype=np.float64).ravel()


def representatives(means: np.ndarray | None, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Column index kept for each group, in group order: the first column, or the highest-mean one if ``means``."""
    order = np.arange(codes.size)
    # Sort by group, then by decreasing mean, then by position: the first of each group is the pick.
    order = np.lexsort((order, -means, codes)) if means is not None else np.lexsort((order, codes))
    first = np.ones(codes.size, dtype=bool)
    first[1:] = codes[order][1:] != codes[order][:-1]
    rep = order[first]
    if rep.size != n_groups:  # pragma: no cover - guards the invariant
        msg = "internal error: group representatives do not cover every group"
        raise RuntimeError(msg)
    return rep


def aggregate_columns(x: Any, codes: np.ndarray, n_groups: int, rule: str) -> Any:
    """Combine the columns of ``x`` (dense or scipy-sparse, obs × vars) that share a group code.

    Parameters
    ----------
    x
        Matrix with one column per input variable.
    codes
        Group code (0..n_groups-1) of every column.
    n_groups
        Number of groups; the output has one column per group, in code order.
    rule
        ``"mean"``, ``"sum"``, ``"max_mean"`` or ``"first"``.

    Returns
    -------
    numpy.ndarray or scipy.sparse matrix
        obs × groups; sparse input gives CSR output.

    Examples
    --------
    >>> import numpy as np
    >>> aggregate_columns(np.array([[1.0, 3.0, 5.0]]), np.array([0, 0, 1]), 2, "mean")
    array([[2., 5.]])
    """
    if rule in ("first", "max_mean"):
        rep = representatives(_column_means(x) if rule == "max_mean" else None, codes, n_groups)
        return x[:, rep]
    n = codes.size
    integer = bool(np.issubdtype(x.dtype, np.integer))
    if rule == "sum":
        weights = np.ones(n, dtype=x.dtype if integer else np.float64)
    else:
        counts = np.bincount(codes, minlength=n_groups).astype(np.float64)
        weights = 1.0 / counts[codes]
    g = sparse.csr_matrix((weights, (np.arange(n), codes)), shape=(n, n_groups))
    if sparse.issparse(x):
        out = sparse.csr_matrix(x) @ g
        return sparse.csr_matrix(out)
    dense = np.asarray(x)
    if rule == "mean" or not integer:
        dense = dense.astype(np.float64, copy=False)
    return np.asarray((g.T @ dense.T).T)


def harmonize_var(
    adata: AnnData,
    *,
    duplicates: str = "mean",
    drop_unmapped: bool = True,
    copy: bool = False,
) -> AnnData | None:
    """Map ``adata.var_names`` to approved HGNC symbols and aggregate duplicated genes.

    Identifiers are mapped by :func:`tmescope.genes.harmonize` (see its rules). Columns that end on the same symbol
    (repeated genes, case duplicates such as ``CD8A`` and ``cd8a``, a previous symbol next to its approved symbol,
    Ensembl ``_PAR_Y`` twins) are combined by ``duplicates``, with one warning naming the genes and the rule.
    Observation order is kept; ``X`` and every layer are aggregated the same way.

    Parameters
    ----------
    adata
        Observations × genes.
    duplicates
        ``"mean"`` (default), ``"sum"`` (use for raw counts), ``"max_mean"`` (keep the column with the highest mean)
        or ``"first"``.
    drop_unmapped
        Drop ambiguous and unmapped identifiers (default). With False they are kept under their trimmed name.
    copy
        Return a changed copy instead of changing ``adata``.

    Returns
    -------
    AnnData or None
        The changed copy when ``copy=True``, else None. Writes ``var_names`` (approved symbols),
        ``var["original_ids"]`` (the input identifiers of each gene, joined by ``|``) and
        ``uns["tmescope_input"]["gene_mapping"]`` (:meth:`GeneMapping.summary` plus ``duplicates``,
        ``n_aggregated`` and ``n_dropped``).

    Examples
    --------
    >>> import numpy as np, anndata as ad, pandas as pd
    >>> from tmescope.genes import harmonize_var
    >>> a = ad.AnnData(np.ones((2, 2)), var=pd.DataFrame(index=["CD8A", "PTPRC"]))
    >>> harmonize_var(a)
    >>> list(a.var_names), a.uns["tmescope_input"]["gene_mapping"]["counts"]["approved"]
    (['CD8A', 'PTPRC'], 2)
    """
    from anndata import AnnData

    if not isinstance(adata, AnnData):
        msg = f"adata must be an AnnData object; received {type(adata).__name__}."
        raise InputTypeError(msg)
    if duplicates not in DUPLICATE_RULES:
        msg = f"duplicates must be one of {', '.join(map(repr, DUPLICATE_RULES))}; received {duplicates!r}."
        raise InputError(msg)
    if adata.isbacked:
        msg = "harmonize_var needs the data in memory; load the file without backed mode (anndata.read_h5ad(path))."
        raise InputError(msg)
    source = str(adata.uns.get(UNS_INPUT, {}).get("source", "")) if isinstance(adata.uns.get(UNS_INPUT), dict) else ""
    original = [str(v) for v in adata.var_names]
    mapping = harmonize(original, source=source)

    keep: list[int] = []
    keys: list[str] = []
    for i, (q, sym) in enumerate(zip(original, mapping.symbol, strict=True)):
        if sym is not None:
            keep.append(i)
            keys.append(sym)
        elif not drop_unmapped:
            keep.append(i)
            keys.append(q.strip())
    n_dropped = adata.n_vars - len(keep)
    if not keep:
        where = f" in {source}" if source else ""
        msg = (
            f"None of the {adata.n_vars} gene identifiers{where} maps to an approved HGNC symbol "
            f"(first: {', '.join(original[:5])}). Check that var_names hold human gene symbols, Ensembl or Entrez "
            "IDs, or pass drop_unmapped=False to keep them."
        )
        raise InputError(msg)
    keep_idx = np.asarray(keep, dtype=np.intp)
    codes, uniques = _group_codes(keys)
    n_groups = len(uniques)

    groups: dict[int, list[str]] = {}
    for pos, c in enumerate(codes):
        groups.setdefault(int(c), []).append(original[keep_idx[pos]])
    dup = [f"{uniques[c]} (from {', '.join(v)})" for c, v in groups.items() if len(v) > 1]
    if dup:
        where = f" in {source}" if source else ""
        autofix(
            "genes.aggregate_duplicates",
            f"Aggregated gene columns{where} that map to the same approved symbol, rule '{duplicates}' "
            f"({DUPLICATE_RULES[duplicates]})",
            dup,
            details={"rule": duplicates},
        )

    with warnings.catch_warnings():
        # The input may have duplicated names (that is what is being fixed); anndata warns on every copy of it.
        warnings.filterwarnings("ignore", message="Variable names are not unique")
        target = adata.copy() if copy else adata
        _apply(target, keep_idx, codes, uniques, duplicates, aggregate=bool(dup))
    target.var[VAR_ORIGINAL_IDS] = ["|".join(groups[c]) for c in range(n_groups)]

    summary = mapping.summary()
    summary.update({"duplicates": duplicates, "n_aggregated": len(dup), "n_dropped": int(n_dropped)})
    uns_input = target.uns.get(UNS_INPUT)
    if not isinstance(uns_input, dict):
        uns_input = {}
        target.uns[UNS_INPUT] = uns_input
    uns_input[UNS_GENE_MAPPING] = summary
    return target if copy else None


def _apply(
    target: AnnData, keep_idx: np.ndarray, codes: np.ndarray, uniques: list[str], rule: str, *, aggregate: bool
) -> None:
    """Reduce ``target`` in place to one column per group (group order), combining duplicates by ``rule``."""
    n_groups = len(uniques)
    means = None
    if rule == "max_mean" and aggregate and target.X is not None:
        means = _column_means(target.X)[keep_idx]
    # representatives() returns one column per group in group order, so ``sel`` lines up with ``uniques``.
    sel = keep_idx[representatives(means, codes, n_groups)]
    new_x = None
    new_layers: dict[str, Any] = {}
    if aggregate and rule in ("mean", "sum"):
        if target.X is not None:
            new_x = aggregate_columns(target.X[:, keep_idx], codes, n_groups, rule)
        for name, layer in target.layers.items():
            new_layers[name] = aggregate_columns(layer[:, keep_idx], codes, n_groups, rule)
    target._inplace_subset_var(sel)
    if new_x is not None:
        target.X = new_x
    for name, layer in new_layers.items():
        target.layers[name] = layer
    target.var_names = pd.Index(uniques, dtype=object)
