"""Consensus of several ligand–receptor scores: robust rank aggregation and false-discovery rates."""

from __future__ import annotations

import numpy as np
import pandas as pd  # noqa: TC002
from scipy import stats

#: Magnitude scores (how strongly a pair is expressed), all "higher is stronger".
MAGNITUDE = {"lr_means": False, "expr_prod": False, "lrscore": False}
#: Specificity scores (how specific a pair is to the two groups); value says whether ascending is better.
SPECIFICITY = {"pvalue": True, "spec_weight": False, "lr_logfc": False, "scaled_weight": False}


def robust_rank_aggregate(rmat: np.ndarray) -> np.ndarray:
    """Robust rank aggregation :cite:`kolde2012` of a (items x methods) matrix of ranks (1 = best).

    Ranks are turned into fractions of each method's largest rank; an item's score is the smallest beta
    order-statistic probability over its sorted fractions, times the number of methods (capped at 1).

    Examples
    --------
    >>> r = robust_rank_aggregate(np.array([[1.0, 1.0, 2.0], [2.0, 3.0, 1.0], [3.0, 2.0, 3.0]]))
    >>> bool(r[0] < r[2])
    True
    """
    rmat = np.asarray(rmat, dtype=float)
    if rmat.size == 0:
        return np.zeros(rmat.shape[0])
    frac = np.sort(rmat / np.max(rmat, axis=0), axis=1)
    n_methods = frac.shape[1]
    a = np.arange(1, n_methods + 1)[None, :]
    p = stats.beta.cdf(frac, a, n_methods - a + 1).min(axis=1)
    return np.clip(p * n_methods, 0.0, 1.0)


def bh_fdr(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (NaN kept).

    Examples
    --------
    >>> bh_fdr(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def consensus_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``magnitude_rank``, ``specificity_rank`` (RRA scores, lower = stronger) and ``specificity_fdr``."""
    out = table.copy()
    for name, specs in (("magnitude_rank", MAGNITUDE), ("specificity_rank", SPECIFICITY)):
        cols = [c for c in specs if c in out.columns]
        if not cols or out.empty:
            out[name] = np.nan
            continue
        ranks = np.column_stack(
            [stats.rankdata(out[c].to_numpy(float) * (1 if specs[c] else -1), method="average") for c in cols]
        )
        out[name] = robust_rank_aggregate(ranks)
    out["specificity_fdr"] = bh_fdr(out["specificity_rank"].to_numpy(float))
    return out
