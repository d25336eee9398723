"""Median/MAD scaling of signature scores (the MFP convention), as a pure array kernel.

MFP (Bagaev et al. 2021) scales every signature by ``(x - median) / mad`` where ``mad`` came from
``pandas.DataFrame.mad()``. In pandas before 2.0 that method was the *mean* absolute deviation around
the *mean*, ``mean(|x - mean(x)|)`` (it was removed in pandas 2.0). tmescope uses that same definition,
so the published clip (±2) and neighbour count (k = 35) keep the meaning they had when they were chosen.
The *median* absolute deviation (``scipy.stats.median_abs_deviation``) would be about 15 % smaller on
normal data (0.674σ against 0.798σ), making every scaled value about 18 % larger and clipping more often.
"""

from __future__ import annotations

import numpy as np

#: Clip of scaled scores before neighbour search (MFP default).
DEFAULT_CLIP = 2.0


def mean_abs_deviation(x: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """Mean absolute deviation around the mean, ignoring NaN (pandas < 2.0 ``DataFrame.mad``).

    Examples
    --------
    >>> mean_abs_deviation(np.array([[1.0], [2.0], [3.0], [10.0]]))
    array([3.])
    """
    x = np.asarray(x, dtype=float)
    centre = np.nanmean(x, axis=axis, keepdims=True)
    return np.nanmean(np.abs(x - centre), axis=axis)


def scale_parameters(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column median and mean absolute deviation of a samples x features matrix.

    Examples
    --------
    >>> med, mad = scale_parameters(np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 0.0]]))
    >>> med.tolist(), mad.tolist()
    ([2.5, 0.0], [3.0, 0.0])
    """
    x = np.asarray(x, dtype=float)
    return np.nanmedian(x, axis=0), mean_abs_deviation(x, axis=0)


def median_scale(x: np.ndarray, median: np.ndarray, mad: np.ndarray, *, clip: float | None = None) -> np.ndarray:
    """Return ``(x - median) / mad`` per column, optionally clipped to ``[-clip, clip]``.

    Columns whose ``mad`` is zero or not finite carry no information and are set to 0.

    Examples
    --------
    >>> median_scale(np.array([[0.0, 5.0], [4.0, 5.0]]), np.array([2.0, 5.0]), np.array([1.0, 0.0]), clip=1.5)
    array([[-1.5,  0. ],
           [ 1.5,  0. ]])
    """
    x = np.asarray(x, dtype=float)
    median = np.asarray(median, dtype=float)
    mad = np.asarray(mad, dtype=float)
    ok = np.isfinite(mad) & (mad > 0)
    safe = np.where(ok, mad, 1.0)
    out = (x - median) / safe
    out[:, ~ok] = 0.0
    if clip is not None:
        out = np.clip(out, -clip, clip)
    return out
