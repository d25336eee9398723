"""Small quadratic-programme solvers for deconvolution, batched over many problems (numba).

Every problem is in Gram form: minimise ``0.5 x'Gx - h'x`` with ``x >= 0`` and optionally ``sum(x) <= 1``,
where ``G = R' W R`` and ``h = R' W y`` for a reference ``R``, gene weights ``W`` and a mixture ``y``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["nnls_gram", "simplex_ls_batch"]


@njit(cache=True)
def _solve_passive(G: np.ndarray, h: np.ndarray, passive: np.ndarray) -> np.ndarray:
    k = G.shape[0]
    idx = np.flatnonzero(passive)
    out = np.zeros(k)
    if idx.size == 0:
        return out
    sub = np.empty((idx.size, idx.size))
    rhs = np.empty(idx.size)
    scale = 0.0
    for a in range(idx.size):
        scale += G[idx[a], idx[a]]
    ridge = 1e-12 * scale / idx.size
    for a in range(idx.size):
        rhs[a] = h[idx[a]]
        for b in range(idx.size):
            sub[a, b] = G[idx[a], idx[b]]
        sub[a, a] += ridge
    sol = np.linalg.solve(sub, rhs)
    for a in range(idx.size):
        out[idx[a]] = sol[a]
    return out


@njit(cache=True)
def nnls_gram(G: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Non-negative least squares in Gram form (Lawson-Hanson active set, Bro & de Jong 1997)."""
    k = G.shape[0]
    x = np.zeros(k)
    passive = np.zeros(k, dtype=np.bool_)
    tol = 1e-12 * max(1.0, np.abs(h).max())
    w = h.copy()
    for _ in range(6 * k + 10):
        best = -1
        best_val = tol
        for j in range(k):
            if not passive[j] and w[j] > best_val:
                best_val = w[j]
                best = j
        if best < 0:
            break
        passive[best] = True
        s = _solve_passive(G, h, passive)
        for _inner in range(6 * k + 10):
            bad = False
            alpha = 2.0
            for j in range(k):
                if passive[j] and s[j] <= 0.0:
                    bad = True
                    denom = x[j] - s[j]
                    a = x[j] / denom if denom > 0 else 0.0
                    alpha = min(alpha, a)
            if not bad:
                break
            for j in range(k):
                x[j] = x[j] + alpha * (s[j] - x[j])
                if passive[j] and x[j] <= 1e-15:
                    passive[j] = False
                    x[j] = 0.0
            s = _solve_passive(G, h, passive)
        x = s
        w = h - G @ x
    return x


@njit(cache=True)
def _capped(G: np.ndarray, h: np.ndarray, cap: float) -> np.ndarray:
    """NNLS with ``sum(x) <= cap``: NNLS, and when the sum exceeds the cap, the KKT multiplier by safeguarded Newton."""
    x = nnls_gram(G, h)
    total = x.sum()
    if total <= cap * (1.0 + 1e-12):
        return x
    lo = 0.0
    hi = np.abs(h).max() + 1.0
    lam = 0.0
    ones = np.ones(G.shape[0])
    for _ in range(200):
        # Newton step on the piecewise-linear, decreasing sum(x(lam)).
        passive = x > 0
        d = _solve_passive(G, ones, passive)
        slope = d.sum()
        new = lam + (total - cap) / slope if slope > 0 else 0.5 * (lo + hi)
        if not (lo < new < hi):
            new = 0.5 * (lo + hi)
        lam = new
        x = nnls_gram(G, h - lam * ones)
        total = x.sum()
        if abs(total - cap) <= 1e-10 * cap:
            break
        if total > cap:
            lo = lam
        else:
            hi = lam
    if total > 0:
        x = x * (cap / total) if total > cap else x
    return x


@njit(cache=True)
def simplex_ls_batch(G: np.ndarray, h: np.ndarray, cap: float) -> np.ndarray:
    """Solve many problems sharing nothing: ``G`` (B, K, K), ``h`` (B, K); ``cap <= 0`` means no sum constraint."""
    n = h.shape[0]
    out = np.empty_like(h)
    for b in range(n):
        if cap > 0:
            out[b] = _capped(G[b], h[b], cap)
        else:
            out[b] = nnls_gram(G[b], h[b])
    return out
