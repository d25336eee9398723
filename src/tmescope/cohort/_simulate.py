"""Synthetic cohorts with planted feature–outcome associations of known size (for power and type-I error)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmescope._errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping


def simulate_cohort(
    *,
    n_samples: int,
    n_features: int = 10,
    effects: Mapping[str, float] | None = None,
    censoring: float = 0.3,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A cohort of standard-normal features ``sim.f0``, ``sim.f1``, … and outcomes that depend on planted ones.

    Each planted feature with effect b multiplies the hazard of OS and PFS by exp(b) per SD (exponential times,
    baseline median 12 months) and the odds of response by exp(b) per SD (baseline probability 0.4). Censoring
    times are uniform, scaled so that about ``censoring`` of the samples are censored. Every other feature is
    null. A categorical feature ``sim.group`` (A/B/C, independent of everything) is included.

    Parameters
    ----------
    n_samples, n_features
        Cohort size and number of numeric features.
    effects
        Feature name -> log hazard ratio (= log odds ratio) per SD.
    censoring
        Approximate censored fraction.
    seed
        Seed.

    Returns
    -------
    tuple of pandas.DataFrame
        The tidy feature table and a clinical table with the standard columns of
        :func:`tmescope.io.read_clinical`.

    Examples
    --------
    >>> feats, clin = simulate_cohort(n_samples=20, n_features=3, seed=0)
    >>> feats["feature"].nunique(), list(clin.columns[:4])
    (4, ['sample_id', 'patient_id', 'os_time', 'os_event'])
    """
    from tmescope.io import features_from_frame, normalize_features

    effects = dict(effects or {})
    names = [f"sim.f{i}" for i in range(n_features)]
    unknown = [k for k in effects if k not in names]
    if unknown:
        msg = f"Effects name features that are not simulated: {unknown}; use names sim.f0 … sim.f{n_features - 1}."
        raise InputError(msg)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, n_features))
    samples = [f"S{i:04d}" for i in range(n_samples)]
    beta = np.array([effects.get(n, 0.0) for n in names])
    lin = x @ beta
    base = np.log(2) / 12.0
    clin = pd.DataFrame({"sample_id": samples, "patient_id": [f"P{i:04d}" for i in range(n_samples)]})
    for what in ("os", "pfs"):
        t_event = rng.exponential(1.0 / (base * (2.0 if what == "pfs" else 1.0) * np.exp(lin)))
        # Uniform censoring on (0, c): c chosen so that about `censoring` of the samples are censored.
        c = np.quantile(t_event, 1.0 - censoring) * 2.0 if censoring > 0 else np.inf
        t_cens = rng.uniform(0, c, n_samples) if np.isfinite(c) else np.full(n_samples, np.inf)
        clin[f"{what}_time"] = np.round(np.minimum(t_event, t_cens), 3)
        clin[f"{what}_event"] = (t_event <= t_cens).astype(int)
    p = 1.0 / (1.0 + np.exp(-(np.log(0.4 / 0.6) + lin)))
    resp = rng.random(n_samples) < p
    clin["response"] = np.where(resp, "R", "NR")
    clin["recist"] = np.where(
        resp, np.where(rng.random(n_samples) < 0.3, "CR", "PR"), np.where(rng.random(n_samples) < 0.3, "SD", "PD")
    )
    clin["timepoint"] = "pre-treatment"
    clin["treatment"] = "simulated"
    numeric = features_from_frame(
        pd.DataFrame(x, index=samples, columns=[n.split(".")[1] for n in names]),
        prefix="sim",
        unit="z",
        method="simulated",
    )
    groups = pd.DataFrame(
        {
            "sample": samples,
            "feature": "sim.group",
            "value": np.nan,
            "label": rng.choice(["A", "B", "C"], n_samples),
            "unit": "category",
            "method": "simulated",
        }
    )
    return normalize_features(pd.concat([numeric, groups], ignore_index=True)), clin
