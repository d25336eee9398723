"""Pooling association results across cohorts: DerSimonian–Laird random-effects meta-analysis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmescope._errors import InputError
from tmescope.cohort import _stats

if TYPE_CHECKING:
    from collections.abc import Mapping

META_COLUMNS = (
    "feature",
    "outcome",
    "effect_type",
    "effect",
    "ci_low",
    "ci_high",
    "p",
    "q",
    "tau2",
    "i2",
    "k",
    "n",
    "cohorts",
    "same_direction",
)


def meta_analysis(results: Mapping[str, pd.DataFrame], *, correction: str = "fdr_bh") -> pd.DataFrame:
    """Pool per-cohort association tables (from :func:`associate`) feature by feature.

    Log hazard or odds ratios are pooled with DerSimonian–Laird random effects; ``i2`` is the share of
    variation due to heterogeneity, ``same_direction`` the fraction of cohorts whose effect has the pooled sign.
    Spearman (RECIST) rows and rows without a standard error are not pooled.

    Parameters
    ----------
    results
        Cohort name -> association table.
    correction
        Multiple-testing correction of the pooled p-values, per outcome.

    Returns
    -------
    pandas.DataFrame with :data:`META_COLUMNS`, ranked by p within each outcome.

    Examples
    --------
    >>> a = pd.DataFrame({"feature": ["f"], "outcome": ["os"], "effect_type": ["HR per SD"], "log_effect": [0.3],
    ...                   "log_se": [0.1], "n": [100]})
    >>> b = a.assign(log_effect=[0.1], log_se=[0.2], n=[50])
    >>> round(float(meta_analysis({"A": a, "B": b})["effect"].iloc[0]), 3)
    1.297
    """
    if not results:
        msg = "meta_analysis needs at least one association table."
        raise InputError(msg)
    long = pd.concat([df.assign(cohort=name) for name, df in results.items()], ignore_index=True)
    long = long[np.isfinite(long["log_effect"].astype(float)) & np.isfinite(long["log_se"].astype(float))]
    rows = []
    for (feat, outcome), g in long.groupby(["feature", "outcome"], sort=True):
        pooled = _stats.random_effects(g["log_effect"].to_numpy(float), g["log_se"].to_numpy(float))
        sign = np.sign(pooled.estimate)
        rows.append(
            {
                "feature": feat,
                "outcome": outcome,
                "effect_type": str(g["effect_type"].iloc[0]),
                "effect": float(np.exp(pooled.estimate)),
                "ci_low": float(np.exp(pooled.estimate - _stats.Z95 * pooled.se)),
                "ci_high": float(np.exp(pooled.estimate + _stats.Z95 * pooled.se)),
                "p": pooled.p,
                "tau2": pooled.tau2,
                "i2": pooled.i2,
                "k": pooled.k,
                "n": int(g["n"].sum()),
                "cohorts": ",".join(g["cohort"].astype(str)),
                "same_direction": float((np.sign(g["log_effect"].to_numpy(float)) == sign).mean()),
            }
        )
    out = pd.DataFrame(rows, columns=[c for c in META_COLUMNS if c != "q"])
    out["q"] = np.nan
    for _, idx in out.groupby("outcome").groups.items():
        out.loc[idx, "q"] = _stats.adjust_pvalues(out.loc[idx, "p"].to_numpy(float), method=correction)
    return out.loc[:, list(META_COLUMNS)].sort_values(["outcome", "p"], kind="stable").reset_index(drop=True)
