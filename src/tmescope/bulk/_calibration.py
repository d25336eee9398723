"""Simulated mixtures for calibrating the deconvolution's intervals.

Nothing here looks at measured (cytometry) fractions: the mixtures are built from a reference's own profiles
with the errors a real sample has; the calibrated multiplier (:data:`tmescope.bulk._deconv.MODEL_ERROR`) is then
checked against the ground-truth sets in ``benchmarks/accuracy.py``. The poor-fit thresholds
(:data:`tmescope.bulk._deconv.POOR_FIT_BY_CONFIG`) are calibrated on real tumours instead, because simulated
tumour cells fit far better than real ones. ``scripts/calibrate_deconvolution.py`` reruns both.

A simulated sample (signature genes only, TPM-like):

- cell fractions: Dirichlet over the reference's cell types, times an immune share drawn uniformly between
  ``1 - other_max`` and 1; the rest are uncharacterised ("other", tumour) cells;
- the true profile of each cell type is the reference's, off by a log-normal factor of spread ``ref_error``
  per gene and cell type (the reference was measured on other cells, donors and protocols);
- the uncharacterised cells express a random ``other_share`` of the signature genes at a log-normal
  multiple of the gene's mean reference level (tumour cells expressing some immune genes), none of the rest;
- measurement noise: a log-normal factor of spread ``noise`` per gene.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["SimulatedMixtures", "interval_coverage", "simulate_mixtures"]


class SimulatedMixtures(NamedTuple):
    """Mixtures (samples x signature genes) and their true cell fractions (samples x cell types + other)."""

    Y: np.ndarray
    cells: np.ndarray


def simulate_mixtures(
    R: np.ndarray,
    *,
    content: np.ndarray,
    other_content: float,
    n: int,
    rng: np.random.Generator,
    ref_error: float = 0.5,
    noise: float = 0.2,
    other_max: float = 0.8,
    other_share: float = 0.3,
) -> SimulatedMixtures:
    """Simulate ``n`` bulk samples from reference profiles ``R`` (genes x cell types); see the module text.

    Returns
    -------
    :class:`SimulatedMixtures` with ``Y`` (n x genes) and ``cells`` (n x cell types + 1, rows sum to 1).

    Examples
    --------
    >>> R = np.array([[10.0, 0.0], [0.0, 10.0], [5.0, 5.0], [1.0, 2.0]])
    >>> sim = simulate_mixtures(R, content=np.ones(2), other_content=1.0, n=3, rng=np.random.default_rng(0))
    >>> sim.Y.shape, sim.cells.shape, bool(np.allclose(sim.cells.sum(axis=1), 1))
    ((3, 4), (3, 3), True)
    """
    n_genes, k = R.shape
    immune = rng.dirichlet(np.full(k, 0.7), size=n) * rng.uniform(1.0 - other_max, 1.0, size=(n, 1))
    cells = np.hstack([immune, 1.0 - immune.sum(axis=1, keepdims=True)])
    mrna = cells * np.append(content, other_content)
    mrna /= mrna.sum(axis=1, keepdims=True)
    Y = np.empty((n, n_genes))
    level = R.mean(axis=1)
    for s in range(n):
        true_ref = R * rng.lognormal(0.0, ref_error, size=R.shape)
        tumour = level * rng.lognormal(0.0, 1.0, size=n_genes) * (rng.random(n_genes) < other_share)
        Y[s] = true_ref @ mrna[s, :k] + tumour * mrna[s, k]
    Y *= rng.lognormal(0.0, noise, size=Y.shape)
    return SimulatedMixtures(Y, cells)


def interval_coverage(low: np.ndarray, high: np.ndarray, truth: np.ndarray) -> float:
    """Share of (sample, cell type) pairs whose interval holds the true value.

    Examples
    --------
    >>> interval_coverage(np.array([[0.0, 0.2]]), np.array([[0.1, 0.3]]), np.array([[0.05, 0.5]]))
    0.5
    """
    inside = (low - 1e-9 <= truth) & (truth <= high + 1e-9)
    return float(inside.mean())
