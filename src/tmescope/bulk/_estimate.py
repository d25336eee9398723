"""ESTIMATE stromal, immune and ESTIMATE scores and tumour purity (Yoshihara et al. 2013)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from tmescope._errors import CoverageWarning, InputError
from tmescope._keys import OBSM_ESTIMATE, UNS_INPUT
from tmescope._logging import warn
from tmescope._registry import register
from tmescope.bulk._common import check_adata, data_path, get_matrix, refuse_centered

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["estimate", "estimate_kernel", "estimate_purity"]

#: Purity curve of ESTIMATE 1.0.13 (fitted on 995 Affymetrix TCGA samples against ABSOLUTE purity).
_PURITY_A = 0.6049872018
_PURITY_B = 0.0001467884
#: Below this share of ESTIMATE's 10,412-gene universe the scores are not comparable with published ones.
_MIN_UNIVERSE = 0.5
UNS_ESTIMATE = "estimate"


@cache
def _gene_sets() -> dict[str, tuple[str, ...]]:
    table = pd.read_csv(data_path("estimate_gene_sets.tsv"), sep="\t")
    return {name: tuple(group["gene"]) for name, group in table.groupby("set", sort=False)}


@cache
def _universe_table() -> pd.DataFrame:
    return pd.read_csv(data_path("estimate_universe.tsv"), sep="\t", dtype=str)


def _match_universe(var: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """Columns holding ESTIMATE's universe, in filterCommonGenes' order (sorted ESTIMATE symbols).

    Genes are matched exactly under the symbols ESTIMATE 1.0.13 uses, as its ``filterCommonGenes`` does:
    against the identifiers as they were in the input file (``var['original_ids']``, recorded by
    :func:`tmescope.io.read_expression` before renaming to current symbols), else against ``var_names``.
    Returns the column indices and the ESTIMATE symbols found.
    """
    table = _universe_table()
    if "original_ids" in var.columns:
        lookup: dict[str, int] = {}
        for j, ids in enumerate(var["original_ids"].astype(str)):
            for ident in ids.split("|"):
                lookup.setdefault(ident, j)
    else:
        lookup = {name: j for j, name in enumerate(var.index.astype(str))}
    cols = np.array([lookup.get(s, -1) for s in table["symbol_2013"]], dtype=np.int64)
    found = cols >= 0
    cols, names = cols[found], pd.Index(table["symbol_2013"][found])
    _, first = np.unique(cols, return_index=True)
    keep = np.sort(first)
    return cols[keep], names[keep]


def estimate_kernel(X: np.ndarray, gene_sets: list[np.ndarray]) -> np.ndarray:
    """ESTIMATE's enrichment score of each gene set in each sample.

    Genes are ranked within each sample (average ties), ranks scaled to ``10000 * rank / n_genes``,
    genes walked in decreasing order (ties in column order), hits weighted by ``rank ** 0.25``;
    the score is the sum of the running-sum curve (not its maximum deviation).

    Parameters
    ----------
    X
        Samples x genes, genes already restricted to (and ordered as) ESTIMATE's universe.
    gene_sets
        Column indices of each set's genes present in ``X`` (may be empty: score NaN).

    Returns
    -------
    Samples x sets array of scores.

    Examples
    --------
    >>> X = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]])
    >>> estimate_kernel(X, [np.array([0, 1])]).round(6).tolist()
    [[2.513943]]
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_genes = X.shape
    ranks = rankdata(X, axis=1, method="average")
    weights = (10000.0 * ranks / n_genes) ** 0.25
    # Position (0-based) of each gene in the decreasing walk; stable so ties keep column order, as R's order().
    order = np.argsort(-ranks, axis=1, kind="stable")
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.arange(n_genes)[None, :].repeat(n_samples, axis=0), axis=1)
    # sum(cumsum(d)) = sum_k d_k * (N - k): the sum of the running-sum curve in closed form.
    remaining = (n_genes - pos).astype(np.float64)
    total = n_genes * (n_genes + 1) / 2.0
    out = np.full((n_samples, len(gene_sets)), np.nan)
    for j, members in enumerate(gene_sets):
        idx = np.unique(np.asarray(members, dtype=np.int64))
        if idx.size == 0:
            continue
        w = weights[:, idx]
        r = remaining[:, idx]
        # cumulative sums add in one fixed order whatever the array's shape, so a sample's score does not depend
        # on which other samples share the array (.sum takes shape- and alignment-dependent SIMD paths)
        hit_part = np.cumsum(w * r, axis=1)[:, -1] / np.cumsum(w, axis=1)[:, -1]
        miss_part = (total - r.sum(axis=1)) / (n_genes - idx.size)
        out[:, j] = hit_part - miss_part
    return out


def estimate_purity(estimate_score: np.ndarray | float) -> np.ndarray:
    """Tumour purity from the ESTIMATE score with ESTIMATE 1.0.13's Affymetrix-fitted curve.

    ``cos(0.6049872018 + 0.0001467884 * score)``; approximate outside Affymetrix arrays.

    Examples
    --------
    >>> float(estimate_purity(0.0).round(4))
    0.8225
    """
    return np.cos(_PURITY_A + _PURITY_B * np.asarray(estimate_score, dtype=np.float64))


def _is_affymetrix(adata: ad.AnnData) -> bool:
    info = adata.uns.get(UNS_INPUT, {})
    platform = str(info.get("platform", "")).lower() if isinstance(info, dict) else ""
    return "affy" in platform


@register(
    name="estimate",
    topic="bulk",
    modality="bulk expression",
    citation="Yoshihara et al. 2013, Nat Commun 4:2612",
    scale="any non-centred scale (rank-based within sample)",
)
def estimate(adata: ad.AnnData, *, layer: str | None = None, copy: bool = False) -> pd.DataFrame:
    """ESTIMATE stromal, immune and ESTIMATE scores and tumour purity.

    Reproduces ESTIMATE 1.0.13: the data are restricted to ESTIMATE's 10,412-gene universe
    (``filterCommonGenes``; genes matched under ESTIMATE's symbols, on the identifiers as given in the
    input file when the data were read with :func:`tmescope.io.read_expression`), genes are ranked within each sample and the two 141-gene sets are scored
    with ESTIMATE's ssGSEA variant. Purity uses the curve ESTIMATE fitted on Affymetrix arrays; on any
    other platform (RNA-seq) it is approximate, and ``uns['estimate']['purity_note']`` says so.
    Ranks are invariant to monotone transforms, so linear and log data give the same scores; centred
    data are refused.

    Parameters
    ----------
    adata
        Samples x genes, HGNC symbols as ``var_names``.
    layer
        Layer to use instead of ``adata.X``.
    copy
        Return a modified copy instead of writing into ``adata``.

    Returns
    -------
    The scores as a DataFrame (samples x ``stromal_score``, ``immune_score``, ``estimate_score``,
    ``purity``); also written to ``adata.obsm['estimate']`` and ``adata.uns['estimate']`` (gene overlap,
    platform, purity note). With ``copy=True`` the modified copy's table is returned and ``adata`` is unchanged.

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> from tmescope.bulk._estimate import _universe_table
    >>> genes = list(_universe_table()["symbol_2013"])
    >>> X = np.random.default_rng(0).gamma(1.0, 10.0, size=(2, len(genes)))
    >>> a = ad.AnnData(X, var=pd.DataFrame(index=genes))
    >>> list(estimate(a, copy=True).columns)
    ['stromal_score', 'immune_score', 'estimate_score', 'purity']
    """
    check_adata(adata, func="estimate")
    if copy:
        adata = adata.copy()
    X = get_matrix(adata, layer, func="estimate")
    refuse_centered(X, func="estimate")
    n_universe = len(_universe_table())
    cols, present = _match_universe(adata.var)
    if present.size == 0:
        msg = "`estimate`: none of ESTIMATE's 10,412 universe genes are in `adata.var_names`; are the genes HGNC symbols (not Ensembl/Entrez IDs)? Harmonise them with `tmescope.io.read_expression`."
        raise InputError(msg)
    coverage = present.size / n_universe
    if coverage < _MIN_UNIVERSE:
        warn(
            f"`estimate`: only {present.size} of ESTIMATE's {n_universe} universe genes ({coverage:.0%}) are present; "
            "scores are not comparable with published ESTIMATE values.",
            CoverageWarning,
        )
    Xu = X[:, cols]
    sets = _gene_sets()
    idx, overlap = [], {}
    for name in ("stromal", "immune"):
        hit = present.get_indexer(pd.Index(sets[name]))
        hit = hit[hit >= 0]
        idx.append(hit)
        overlap[name] = f"{hit.size}/{len(sets[name])}"
        if hit.size == 0:
            warn(f"`estimate`: no {name} gene of ESTIMATE is present; its score is NaN.", CoverageWarning)
    scores = estimate_kernel(Xu, idx)
    est = scores.sum(axis=1)
    affy = _is_affymetrix(adata)
    df = pd.DataFrame(
        {
            "stromal_score": scores[:, 0],
            "immune_score": scores[:, 1],
            "estimate_score": est,
            "purity": estimate_purity(est),
        },
        index=adata.obs_names.copy(),
    )
    adata.obsm[OBSM_ESTIMATE] = df
    adata.uns[UNS_ESTIMATE] = {
        "n_universe_genes": int(present.size),
        "overlap": overlap,
        "platform_affymetrix": affy,
        "purity_note": "ESTIMATE purity curve (Affymetrix-fitted)"
        if affy
        else "approximate: ESTIMATE's purity curve was fitted on Affymetrix arrays, not this platform",
    }
    return df
