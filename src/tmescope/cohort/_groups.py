"""Two or more groups of samples compared on every feature: effect sizes, tests and FDR."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from tmescope._errors import InputError
from tmescope._logging import format_items
from tmescope.cohort import _stats
from tmescope.cohort._associate import group_labels
from tmescope.cohort._data import align_clinical, check_features, feature_matrix

GROUP_COLUMNS = (
    "feature",
    "comparison",
    "group",
    "reference",
    "n_group",
    "n_reference",
    "mean_group",
    "mean_reference",
    "median_group",
    "median_reference",
    "difference",
    "hedges_g",
    "g_ci_low",
    "g_ci_high",
    "cliffs_delta",
    "p",
    "p_welch",
    "p_kruskal",
    "q",
    "status",
)


def hedges_g(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Hedges' g (bias-corrected standardised mean difference a − b) with its normal-approximation 95% CI.

    Examples
    --------
    >>> g, lo, hi = hedges_g(np.array([2.0, 3, 4, 5]), np.array([1.0, 2, 3, 4]))
    >>> round(g, 3), lo < g < hi
    (0.674, True)
    """
    n1, n2 = len(a), len(b)
    sp = np.sqrt(((n1 - 1) * np.var(a, ddof=1) + (n2 - 1) * np.var(b, ddof=1)) / (n1 + n2 - 2))
    d = (a.mean() - b.mean()) / sp if sp > 0 else np.nan
    j = 1 - 3 / (4 * (n1 + n2) - 9)
    g = d * j
    se = np.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))
    return float(g), float(g - _stats.Z95 * se), float(g + _stats.Z95 * se)


def cliffs_delta(a: np.ndarray, b: np.ndarray) -> float:
    """Cliff's delta: P(a > b) − P(a < b), from the Mann–Whitney U statistic."""
    u = stats.mannwhitneyu(a, b, alternative="two-sided").statistic
    return float(2 * u / (len(a) * len(b)) - 1)


def compare_groups(
    features: pd.DataFrame,
    *,
    groups: str | pd.Series,
    clinical: pd.DataFrame | None = None,
    reference: str | None = None,
    include: list[str] | None = None,
    correction: str = "fdr_bh",
    min_group: int = 5,
) -> pd.DataFrame:
    """Compare groups of samples on every feature.

    Two groups: one comparison (``group`` vs ``reference``). Three or more: each group against ``reference`` when
    given, else each group against the rest, with the Kruskal–Wallis p over all groups. Effects: difference of
    means, Hedges' g with 95% CI, Cliff's delta; tests: Mann–Whitney (``p``) and Welch t (``p_welch``); ``q``
    corrects ``p`` over all rows.

    Parameters
    ----------
    features
        Tidy feature table.
    groups
        A clinical column (needs ``clinical``), a categorical feature (e.g. ``"subtype.label"``), or a Series of
        labels indexed by sample.
    clinical
        Clinical table, when ``groups`` names one of its columns.
    reference
        Reference group.
    include
        Only features whose name starts with one of these.
    correction
        ``"fdr_bh"``, ``"bonferroni"`` or ``"holm"``.
    min_group
        Groups smaller than this are refused (error naming them).

    Returns
    -------
    pandas.DataFrame with :data:`GROUP_COLUMNS`, ranked by p.

    Examples
    --------
    >>> from tmescope.cohort import simulate_cohort
    >>> feats, clin = simulate_cohort(n_samples=100, n_features=3, effects={"sim.f0": 1.5}, seed=0)
    >>> res = compare_groups(feats, groups="response", clinical=clin, reference="NR")
    >>> res.loc[0, ["feature", "comparison"]].tolist(), bool(res.loc[0, "hedges_g"] > 0.5)
    (['sim.f0', 'R vs NR'], True)
    """
    table = check_features(features)
    if include is not None:
        table = table[table["feature"].str.startswith(tuple(include))]
    matrix = feature_matrix(table)
    if isinstance(groups, pd.Series):
        labels = groups.astype("string").reindex(matrix.index)
        name = str(groups.name or "groups")
    else:
        name = groups
        clin = align_clinical(matrix.index, clinical) if clinical is not None else pd.DataFrame(index=matrix.index)
        labels = group_labels(table, clin, groups).astype("string")
        matrix = matrix.drop(columns=[c for c in matrix.columns if c.startswith(f"{groups}=")])
    labels = labels.replace("", pd.NA)
    sizes = labels.value_counts()
    small = sizes[sizes < min_group]
    if len(sizes) < 2 or len(small):
        msg = (
            f"Comparing groups of {name} needs at least two groups of {min_group}+ samples; got "
            f"{format_items([f'{k} (n={v})' for k, v in sizes.items()]) or 'none'}. Merge or drop the small groups."
        )
        raise InputError(msg)
    levels = sorted(sizes.index.astype(str))
    if reference is not None and reference not in levels:
        msg = f"Reference group {reference!r} is not among the groups of {name}: {levels}."
        raise InputError(msg)
    if len(levels) == 2:
        ref = reference or levels[0]
        pairs = [(next(g for g in levels if g != ref), ref)]
    elif reference is not None:
        pairs = [(g, reference) for g in levels if g != reference]
    else:
        pairs = [(g, "rest") for g in levels]
    lab = labels.to_numpy(dtype=object)
    rows: list[dict[str, Any]] = []
    for feat in matrix.columns:
        x = matrix[feat].to_numpy(float)
        ok = np.isfinite(x) & pd.notna(lab)
        kw = np.nan
        if len(levels) > 2:
            samples = [x[ok & (lab == g)] for g in levels]
            if all(len(s) > 0 for s in samples) and np.ptp(x[ok]) > 0:
                kw = float(stats.kruskal(*samples).pvalue)
        for g, r in pairs:
            a = x[ok & (lab == g)]
            b = x[ok & (lab != g)] if r == "rest" else x[ok & (lab == r)]
            row: dict[str, Any] = {"feature": feat, "comparison": f"{g} vs {r}", "group": g, "reference": r}
            row.update(n_group=len(a), n_reference=len(b), p_kruskal=kw, status="ok")
            if min(len(a), len(b)) < min_group or np.ptp(np.r_[a, b]) == 0:
                row["status"] = f"refused: fewer than {min_group} measured samples, or no variation"
                rows.append(row)
                continue
            g_, lo, hi = hedges_g(a, b)
            row.update(
                mean_group=a.mean(),
                mean_reference=b.mean(),
                median_group=float(np.median(a)),
                median_reference=float(np.median(b)),
                difference=a.mean() - b.mean(),
                hedges_g=g_,
                g_ci_low=lo,
                g_ci_high=hi,
                cliffs_delta=cliffs_delta(a, b),
                p=float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue),
                p_welch=float(stats.ttest_ind(a, b, equal_var=False).pvalue),
            )
            rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=list(GROUP_COLUMNS))
    out["q"] = _stats.adjust_pvalues(out["p"].to_numpy(float), method=correction)
    out = out.sort_values(["p", "feature", "comparison"], kind="stable", na_position="last").reset_index(drop=True)
    out.attrs.update(groups=name, levels=levels, sizes={str(k): int(v) for k, v in sizes.items()})
    return out
