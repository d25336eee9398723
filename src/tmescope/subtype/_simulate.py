"""Toy generator of TME-subtype signature scores with planted subtypes (for examples and tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmescope.subtype._groups import IMMUNE, SIGNATURES, STROMAL, SUBTYPE_AXES, SUBTYPES


def simulate_scores(
    *, n_per_subtype: int = 25, effect: float = 1.5, noise: float = 1.0, seed: int = 0
) -> tuple[pd.DataFrame, pd.Series]:
    """Random raw signature scores for the 29 signatures with planted IE/F, IE, F and D groups.

    Immune signatures are shifted by ``±effect`` and stromal ones by ``±effect`` following each subtype's
    direction; every signature gets a shared per-sample offset and Gaussian noise of sd ``noise``.

    Returns
    -------
    scores
        Samples x 29 DataFrame (index ``S001``…).
    truth
        Planted subtype per sample.

    Examples
    --------
    >>> scores, truth = simulate_scores(n_per_subtype=2, seed=1)
    >>> scores.shape, truth.value_counts().to_dict()
    ((8, 29), {'IE/F': 2, 'IE': 2, 'F': 2, 'D': 2})
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.array(SUBTYPES, dtype=object), n_per_subtype)
    n = labels.size
    imm = np.isin(SIGNATURES, IMMUNE)
    strom = np.isin(SIGNATURES, STROMAL)
    x = rng.normal(0.0, noise, size=(n, len(SIGNATURES)))
    for i, lab in enumerate(labels):
        a_imm, a_strom = SUBTYPE_AXES[lab]
        x[i, imm] += a_imm * effect
        x[i, strom] += a_strom * effect
    # Raw ssGSEA-like magnitudes: each signature on its own location and spread.
    loc = rng.uniform(1000.0, 4000.0, size=len(SIGNATURES))
    spread = rng.uniform(100.0, 400.0, size=len(SIGNATURES))
    index = pd.Index([f"S{i + 1:03d}" for i in range(n)], name="sample")
    scores = pd.DataFrame(loc + x * spread, index=index, columns=list(SIGNATURES))
    return scores, pd.Series(labels, index=index, name="subtype")
