"""Pure array kernels of the cohort analyses.

Cox (Efron ties), log-rank, Kaplan–Meier, logistic regression, AUC,
multiple-testing correction and random-effects pooling.

No pandas, no AnnData.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

#: Two-sided 95% normal quantile.
Z95 = float(stats.norm.ppf(0.975))


class CoxFit(NamedTuple):
    """Coefficients of a Cox proportional-hazards fit."""

    beta: np.ndarray
    se: np.ndarray
    loglik: float
    converged: bool
    iterations: int


def _efron_terms(
    x: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood (Efron ties), gradient and Hessian; rows must be sorted by ascending time."""
    eta = x @ beta
    eta = eta - eta.max()
    w = np.exp(eta)
    wx = w[:, None] * x
    wxx = wx[:, :, None] * x[:, None, :]
    # Sums over the risk set {time >= t}: reverse cumulative sums, read at the first row of each tied block.
    r0 = np.cumsum(w[::-1])[::-1]
    r1 = np.cumsum(wx[::-1], axis=0)[::-1]
    r2 = np.cumsum(wxx[::-1], axis=0)[::-1]
    ev = np.flatnonzero(event)
    ev_times, first_ev = np.unique(time[ev], return_index=True)
    first_risk = np.searchsorted(time, ev_times, side="left")
    starts = first_ev
    d = np.diff(np.append(starts, len(ev)))
    d0 = np.add.reduceat(w[ev], starts)
    d1 = np.add.reduceat(wx[ev], starts, axis=0)
    d2 = np.add.reduceat(wxx[ev], starts, axis=0)
    sx = np.add.reduceat(x[ev], starts, axis=0)
    sx_eta = np.add.reduceat(eta[ev], starts)
    j = np.repeat(np.arange(len(d)), d)
    frac = np.concatenate([np.arange(k) / k for k in d])
    den = r0[first_risk][j] - frac * d0[j]
    num = r1[first_risk][j] - frac[:, None] * d1[j]
    num2 = r2[first_risk][j] - frac[:, None, None] * d2[j]
    loglik = float(sx_eta.sum() - np.log(den).sum())
    mean = num / den[:, None]
    grad = sx.sum(axis=0) - mean.sum(axis=0)
    hess = -(num2 / den[:, None, None]).sum(axis=0) + np.einsum("ki,kj->ij", mean, mean)
    return loglik, grad, hess


def cox_fit(x: np.ndarray, time: np.ndarray, event: np.ndarray, *, max_iter: int = 50, tol: float = 1e-9) -> CoxFit:
    """Cox proportional-hazards model by Newton–Raphson with Efron's handling of tied event times.

    Parameters
    ----------
    x
        Covariates, samples x p (no intercept).
    time, event
        Follow-up time and event indicator (1 = event, 0 = censored).
    max_iter, tol
        Newton iterations and the convergence threshold on the largest step.

    Returns
    -------
    :class:`CoxFit` with log hazard ratios ``beta`` and their Wald standard errors ``se``.

    Examples
    --------
    >>> t = np.array([1.0, 2, 3, 4, 5, 6]); e = np.array([1, 1, 0, 1, 1, 0]); x = np.array([[1.0], [0], [1], [1], [0], [0]])
    >>> round(float(cox_fit(x, t, e).beta[0]), 3)
    1.073
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    order = np.argsort(time, kind="stable")
    x, time, event = x[order], np.asarray(time, float)[order], np.asarray(event).astype(bool)[order]
    x = x - x.mean(axis=0)
    beta = np.zeros(x.shape[1])
    loglik, grad, hess = _efron_terms(x, time, event, beta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        try:
            step = np.linalg.solve(-hess, grad)
        except np.linalg.LinAlgError:
            break
        new = beta + step
        new_ll, new_grad, new_hess = _efron_terms(x, time, event, new)
        halvings = 0
        while (not np.isfinite(new_ll) or new_ll < loglik - 1e-12) and halvings < 20:
            step = step / 2
            new = beta + step
            new_ll, new_grad, new_hess = _efron_terms(x, time, event, new)
            halvings += 1
        beta, loglik, grad, hess = new, new_ll, new_grad, new_hess
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    try:
        cov = np.linalg.inv(-hess)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full_like(beta, np.nan)
    if np.any(np.abs(beta) > 20):
        converged = False
    return CoxFit(beta, se, loglik, converged, it)


class LogRank(NamedTuple):
    """Log-rank test of K groups."""

    statistic: float
    df: int
    p: float
    observed: np.ndarray
    expected: np.ndarray


def logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> LogRank:
    """Log-rank (Mantel–Cox) test that K groups share one survival curve.

    At each distinct event time, the expected events of group k are d·n_k/n and the hypergeometric covariance
    is d(n-d)/(n-1)·(n_k/n)(δ_kl - n_l/n); the statistic is (O-E)' V⁻ (O-E) over the first K-1 groups,
    chi-squared with K-1 degrees of freedom.

    Examples
    --------
    >>> r = logrank(np.array([1.0, 2, 3, 4, 5, 6]), np.array([1, 1, 1, 1, 1, 0]), np.array([0, 0, 0, 1, 1, 1]))
    >>> round(r.statistic, 4), r.df
    (5.0517, 1)
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    levels, g = np.unique(np.asarray(group), return_inverse=True)
    k = len(levels)
    ev_times = np.unique(time[event])
    # at risk: n_k(t) = #(time >= t, group k); events d_k(t)
    at_risk = np.stack([(time[g == i][None, :] >= ev_times[:, None]).sum(axis=1) for i in range(k)], axis=1)
    deaths = np.stack([((time[(g == i) & event][None, :]) == ev_times[:, None]).sum(axis=1) for i in range(k)], axis=1)
    n = at_risk.sum(axis=1).astype(float)
    d = deaths.sum(axis=1).astype(float)
    frac = at_risk / n[:, None]
    expected = (d[:, None] * frac).sum(axis=0)
    observed = deaths.sum(axis=0).astype(float)
    scale = np.where(n > 1, d * (n - d) / np.maximum(n - 1, 1), 0.0)
    v = np.einsum("t,ti,ij->ij", scale, frac, np.eye(k)) - np.einsum("t,ti,tj->ij", scale, frac, frac)
    oe = (observed - expected)[: k - 1]
    vv = v[: k - 1, : k - 1]
    statistic = float(oe @ np.linalg.pinv(vv) @ oe) if k > 1 else 0.0
    df = k - 1
    p = float(stats.chi2.sf(statistic, df)) if df > 0 else 1.0
    return LogRank(statistic, df, p, observed, expected)


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, ...]:
    """Kaplan–Meier estimate with exponential-Greenwood (log(-log)) 95% bands, as lifelines computes them.

    Returns
    -------
    ``(times, survival, ci_low, ci_high, at_risk, events)`` at 0 and every distinct observed time.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    times = np.unique(time)
    at_risk = (time[None, :] >= times[:, None]).sum(axis=1)
    deaths = ((time[event][None, :]) == times[:, None]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - deaths / at_risk)
        gw = np.cumsum(np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), 0.0))
        log_s = np.log(surv)
        v = gw / log_s**2
        lo = np.exp(-np.exp(np.log(-log_s) + Z95 * np.sqrt(v)))
        hi = np.exp(-np.exp(np.log(-log_s) - Z95 * np.sqrt(v)))
    lo = np.where(np.isfinite(lo), lo, np.where(surv >= 1, 1.0, np.nan))
    hi = np.where(np.isfinite(hi), hi, np.where(surv >= 1, 1.0, np.nan))
    return (
        np.concatenate([[0.0], times]),
        np.concatenate([[1.0], surv]),
        np.concatenate([[1.0], lo]),
        np.concatenate([[1.0], hi]),
        np.concatenate([[len(time)], at_risk]),
        np.concatenate([[0], deaths]),
    )


class LogitFit(NamedTuple):
    """Logistic regression coefficients (intercept first)."""

    beta: np.ndarray
    se: np.ndarray
    converged: bool
    separated: bool


def logistic_fit(x: np.ndarray, y: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10) -> LogitFit:
    """Unpenalised logistic regression by iteratively reweighted least squares, with Wald standard errors.

    ``separated`` is set when the fit drifts towards fitted probabilities of 0 or 1 (complete or quasi-complete
    separation), where the maximum-likelihood odds ratio does not exist.

    Examples
    --------
    >>> x = np.array([0.0, 1, 2, 3, 4, 5, 6, 7]); y = np.array([0, 0, 1, 0, 1, 0, 1, 1])
    >>> fit = logistic_fit(x[:, None], y)
    >>> round(float(fit.beta[1]), 3), fit.separated
    (0.594, False)
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    xd = np.column_stack([np.ones(len(x)), x])
    y = np.asarray(y, dtype=float)
    beta = np.zeros(xd.shape[1])
    converged = False
    for _ in range(max_iter):
        eta = np.clip(xd @ beta, -35, 35)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p)
        hess = xd.T @ (w[:, None] * xd)
        grad = xd.T @ (y - p)
        try:
            step = np.linalg.solve(hess + 1e-12 * np.eye(len(beta)), grad)
        except np.linalg.LinAlgError:
            break
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    eta = np.clip(xd @ beta, -35, 35)
    p = 1.0 / (1.0 + np.exp(-eta))
    separated = bool(np.max(np.abs(beta)) > 15 or np.min(np.minimum(p, 1 - p)) < 1e-8 or not converged)
    try:
        cov = np.linalg.inv(xd.T @ ((p * (1 - p))[:, None] * xd))
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full_like(beta, np.nan)
    return LogitFit(beta, se, converged, separated)


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve (probability that a positive outranks a negative; ties count half).

    Examples
    --------
    >>> auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
    """
    y = np.asarray(y).astype(bool)
    ranks = stats.rankdata(score)
    n1, n0 = int(y.sum()), int((~y).sum())
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def bootstrap_auc(score: np.ndarray, y: np.ndarray, *, n_boot: int, rng: np.random.Generator) -> tuple[float, float]:
    """Percentile 95% interval of the AUC from a bootstrap stratified by class (class sizes kept)."""
    y = np.asarray(y).astype(bool)
    pos, neg = np.asarray(score)[y], np.asarray(score)[~y]
    bp = pos[rng.integers(0, len(pos), size=(n_boot, len(pos)))]
    bn = neg[rng.integers(0, len(neg), size=(n_boot, len(neg)))]
    # AUC of each replicate: fraction of (pos, neg) pairs ordered correctly, ties half.
    both = np.concatenate([bp, bn], axis=1)
    ranks = stats.rankdata(both, axis=1)
    n1, n0 = len(pos), len(neg)
    aucs = (ranks[:, :n1].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    lo, hi = np.quantile(aucs, [0.025, 0.975])
    return float(lo), float(hi)


def roc_points(score: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every threshold (from (0, 0) to (1, 1))."""
    y = np.asarray(y).astype(bool)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    s, yy = np.asarray(score, dtype=float)[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(yy)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(y.sum(), 1)]
    fpr = np.r_[0.0, fps / max((~y).sum(), 1)]
    return fpr, tpr


def adjust_pvalues(p: np.ndarray, *, method: str = "fdr_bh") -> np.ndarray:
    """Multiple-testing correction over the finite entries of ``p`` (NaN stays NaN).

    ``fdr_bh`` (Benjamini–Hochberg), ``bonferroni`` or ``holm``.

    Examples
    --------
    >>> adjust_pvalues(np.array([0.01, 0.04, 0.03, np.nan]))
    array([0.03, 0.04, 0.04,  nan])
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    ranked = q[order]
    if method == "fdr_bh":
        adj = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    elif method == "bonferroni":
        adj = ranked * m
    elif method == "holm":
        adj = np.maximum.accumulate(ranked * (m - np.arange(m)))
    else:
        msg = f"Unknown multiple-testing correction {method!r}; use 'fdr_bh', 'bonferroni' or 'holm'."
        raise ValueError(msg)
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


class Pooled(NamedTuple):
    """DerSimonian–Laird random-effects pooled estimate."""

    estimate: float
    se: float
    p: float
    tau2: float
    i2: float
    k: int


def random_effects(estimate: np.ndarray, se: np.ndarray) -> Pooled:
    """DerSimonian–Laird random-effects meta-analysis of per-study estimates (e.g. log hazard ratios).

    Examples
    --------
    >>> r = random_effects(np.array([0.2, 0.5, -0.1]), np.array([0.1, 0.2, 0.15]))
    >>> round(r.estimate, 3), r.k
    (0.179, 3)
    """
    est = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    ok = np.isfinite(est) & np.isfinite(s) & (s > 0)
    est, s = est[ok], s[ok]
    k = len(est)
    if k == 0:
        return Pooled(np.nan, np.nan, np.nan, np.nan, np.nan, 0)
    w = 1 / s**2
    fixed = float((w * est).sum() / w.sum())
    qstat = float((w * (est - fixed) ** 2).sum())
    c = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = max(0.0, (qstat - (k - 1)) / c) if k > 1 and c > 0 else 0.0
    wr = 1 / (s**2 + tau2)
    pooled = float((wr * est).sum() / wr.sum())
    se_p = float(np.sqrt(1 / wr.sum()))
    p = float(2 * stats.norm.sf(abs(pooled / se_p)))
    i2 = max(0.0, (qstat - (k - 1)) / qstat) if qstat > 0 else 0.0
    return Pooled(pooled, se_p, p, tau2, i2, k)
