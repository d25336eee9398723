"""How rule calls stratify observed response: response rates and odds ratios with confidence intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from tmescope._errors import InputError, MissingKeyError
from tmescope.insights._evaluate import BORDERLINE, FIRES, NOT_FIRING, strategy_summary

_RESPONDER = {"r", "cr", "pr", "responder", "response", "yes", "true", "1", "1.0"}
_NON_RESPONDER = {"nr", "sd", "pd", "non-responder", "nonresponder", "no_response", "no", "false", "0", "0.0"}


def response_binary(values: pd.Series) -> pd.Series:
    """Map a response column to 1 (responder: R, CR, PR, yes, 1) / 0 (NR, SD, PD, no, 0) / NaN (anything else).

    Examples
    --------
    >>> response_binary(pd.Series(["R", "NR", "CR", "SD", ""])).tolist()
    [1.0, 0.0, 1.0, 0.0, nan]
    """
    text = values.astype(str).str.strip().str.lower()
    return pd.Series(
        np.where(text.isin(_RESPONDER), 1.0, np.where(text.isin(_NON_RESPONDER), 0.0, np.nan)), index=values.index
    )


def odds_ratio(a: int, b: int, c: int, d: int, *, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """Odds ratio of a 2x2 table, its Woolf (log) confidence interval and Fisher's exact two-sided p-value.

    ``a``/``b``: responders / non-responders in group 1; ``c``/``d``: in group 2. When a cell is zero, 0.5 is
    added to every cell (Haldane-Anscombe) for the estimate and interval; the p-value uses the raw counts.

    Examples
    --------
    >>> [round(x, 3) for x in odds_ratio(8, 2, 3, 7)]
    [9.333, 1.193, 72.991, 0.07]
    """
    p = float(stats.fisher_exact([[a, b], [c, d]])[1]) if min(a + b, c + d) > 0 else np.nan
    if min(a + b, c + d) == 0:
        return np.nan, np.nan, np.nan, p
    if 0 in (a, b, c, d):
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5  # type: ignore[assignment]
    log_or = np.log(a * d / (b * c))
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = stats.norm.ppf(1 - alpha / 2)
    return float(np.exp(log_or)), float(np.exp(log_or - z * se)), float(np.exp(log_or + z * se)), p


def mantel_haenszel(tables: list[tuple[int, int, int, int]], *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Mantel-Haenszel common odds ratio over strata with the Robins-Breslow-Greenland interval.

    Examples
    --------
    >>> [round(x, 3) for x in mantel_haenszel([(8, 2, 3, 7), (8, 2, 3, 7)])]
    [9.333, 2.18, 39.962]
    """
    t = np.array([x for x in tables if sum(x) > 0 and min(x[0] + x[1], x[2] + x[3]) > 0], dtype=float)
    if t.size == 0:
        return np.nan, np.nan, np.nan
    a, b, c, d = t.T
    n = a + b + c + d
    r, s = a * d / n, b * c / n
    if r.sum() == 0 or s.sum() == 0:
        return (0.0 if r.sum() == 0 else np.inf), np.nan, np.nan
    mh = r.sum() / s.sum()
    p_, q_ = (a + d) / n, (b + c) / n
    var = (p_ * r).sum() / (2 * r.sum() ** 2) + ((p_ * s + q_ * r).sum()) / (2 * r.sum() * s.sum())
    var += (q_ * s).sum() / (2 * s.sum() ** 2)
    z = stats.norm.ppf(1 - alpha / 2)
    se = np.sqrt(var)
    return float(mh), float(np.exp(np.log(mh) - z * se)), float(np.exp(np.log(mh) + z * se))


def _row(
    name: str, kind: str, resp: pd.Series, g1: pd.Series, g2: pd.Series, *, labels: tuple[str, str]
) -> dict[str, Any]:
    r1, r2 = resp[g1], resp[g2]
    a, b = int((r1 == 1).sum()), int((r1 == 0).sum())
    c, d = int((r2 == 1).sum()), int((r2 == 0).sum())
    or_, lo, hi, p = odds_ratio(a, b, c, d)
    return {
        "rule": name,
        "kind": kind,
        "group_1": labels[0],
        "group_2": labels[1],
        "n_1": a + b,
        "responders_1": a,
        "rate_1": a / (a + b) if a + b else np.nan,
        "n_2": c + d,
        "responders_2": c,
        "rate_2": c / (c + d) if c + d else np.nan,
        "odds_ratio": or_,
        "ci_low": lo,
        "ci_high": hi,
        "p_fisher": p,
    }


def stratify_response(
    evaluations: pd.DataFrame,
    response: pd.Series,
    *,
    strategy: str = "immune_checkpoint_blockade",
    count_borderline: bool = False,
) -> pd.DataFrame:
    """Response rates and odds ratios of the patients each rule (and the strategy call) separates.

    For each rule of ``strategy``: patients where it fires vs. where it does not fire (borderline and
    not-evaluable patients are left out and counted in ``n_left_out``). For the strategy: patients whose call is ``supported``
    vs. ``argued against`` (see :func:`strategy_summary`; mixed, borderline and no-call patients are left out). The odds ratio is responders' odds in group 1 over
    group 2, so a rule that argues against the strategy *should* show an odds ratio below 1.

    Parameters
    ----------
    evaluations
        ``evaluations`` of :func:`evaluate_insights`.
    response
        Observed response per sample (index = sample IDs), coded as :func:`response_binary` reads it.
    strategy
        Strategy class whose rules are tested.
    count_borderline
        Count borderline rules as firing (a sensitivity analysis) instead of leaving those patients out.

    Returns
    -------
    DataFrame: rule, kind (``rule`` / ``strategy``), direction, group_1, group_2, n_1, responders_1, rate_1,
    n_2, responders_2, rate_2, odds_ratio, ci_low, ci_high (95%), p_fisher, n_left_out.
    """
    for col in ("sample", "rule", "strategy", "direction", "state"):
        if col not in evaluations.columns:
            msg = f"`evaluations` lacks the column {col!r}; pass the evaluations table of evaluate_insights()."
            raise MissingKeyError(msg)
    resp = response_binary(response.astype(str))
    resp.index = resp.index.astype(str)
    ev = evaluations.loc[evaluations["strategy"] == strategy]
    if count_borderline:
        ev = ev.assign(state=ev["state"].replace({BORDERLINE: FIRES}))
    if ev.empty:
        msg = f"No rule of strategy {strategy!r} in the evaluations."
        raise InputError(msg)
    rows = []
    for (rule, direction), group in ev.groupby(["rule", "direction"], sort=False):
        g = group.set_index(group["sample"].astype(str))
        r = resp.reindex(g.index)
        known = r.notna()
        row = _row(
            str(rule),
            "rule",
            r,
            known & (g["state"] == FIRES),
            known & (g["state"] == NOT_FIRING),
            labels=("fires", "not"),
        )
        row["direction"] = direction
        row["n_left_out"] = int((known & (g["state"] == BORDERLINE)).sum())
        rows.append(row)
    summ = strategy_summary(ev)
    summ = summ.set_index(summ["sample"].astype(str))
    r = resp.reindex(summ.index)
    known = r.notna()
    row = _row(
        strategy,
        "strategy",
        r,
        known & (summ["call"] == "supported"),
        known & (summ["call"] == "argued against"),
        labels=("supported", "argued against"),
    )
    row["direction"] = "supports vs argues against"
    row["n_left_out"] = int((known & ~summ["call"].isin(["supported", "argued against"])).sum())
    rows.append(row)
    cols = ["rule", "kind", "direction", *[c for c in rows[0] if c not in ("rule", "kind", "direction")]]
    return pd.DataFrame(rows).loc[:, cols]
