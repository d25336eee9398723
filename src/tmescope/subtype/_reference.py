"""The part of a frozen reference cohort that subtype calling needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tmescope._errors import InputTypeError


@dataclass(frozen=True)
class SubtypeReference:
    """Scaling parameters, scaled scores and labels of a reference cohort.

    Attributes
    ----------
    name
        Reference name, reported with every call.
    signatures
        Signature names (columns of ``scaled``), in order.
    median, mad
        Per-signature median and mean absolute deviation of the raw scores in the reference.
    clip
        Clip applied to scaled scores before the neighbour search.
    scaled
        Reference samples x signatures, scaled and clipped.
    labels
        TME subtype of each reference sample (index as ``scaled``).
    components, center
        2-D PCA of ``scaled`` (2 x signatures loadings and the column means), for embeddings.
    phenotype_median, phenotype_mad
        Median and mean absolute deviation of the immune-phenotype signals in the reference.
    """

    name: str
    signatures: tuple[str, ...]
    median: np.ndarray
    mad: np.ndarray
    clip: float
    scaled: pd.DataFrame
    labels: pd.Series
    components: np.ndarray
    center: np.ndarray
    phenotype_median: dict[str, float] = field(default_factory=dict)
    phenotype_mad: dict[str, float] = field(default_factory=dict)


def as_subtype_reference(reference: Any) -> SubtypeReference:
    """Accept a :class:`SubtypeReference` or any object carrying one as ``.subtype`` (a reference cohort)."""
    if isinstance(reference, SubtypeReference):
        return reference
    inner = getattr(reference, "subtype", None)
    if isinstance(inner, SubtypeReference):
        return inner
    msg = (
        f"`reference` must be a tmescope.profile.ReferenceCohort (from load_reference, build_reference or "
        f"default_reference); got {type(reference).__name__}."
    )
    raise InputTypeError(msg)


def pca2(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First two principal axes of ``x`` (rows = samples) with a fixed sign, and the column means.

    The sign of each axis is chosen so that its largest-magnitude loading is positive, which makes the
    embedding identical across runs and platforms.
    """
    x = np.asarray(x, dtype=float)
    center = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - center, full_matrices=False)
    comps = np.zeros((2, x.shape[1]))
    n = min(2, vt.shape[0])
    comps[:n] = vt[:n]
    for i in range(n):
        j = int(np.argmax(np.abs(comps[i])))
        if comps[i, j] < 0:
            comps[i] = -comps[i]
    return comps, center


def make_subtype_reference(
    scores: pd.DataFrame,
    labels: pd.Series,
    *,
    name: str,
    clip: float = 2.0,
    phenotype: pd.DataFrame | None = None,
) -> SubtypeReference:
    """Freeze raw signature scores and subtype labels of a cohort into a :class:`SubtypeReference`.

    Parameters
    ----------
    scores
        Reference samples x the 29 signatures (raw unnormalised ssGSEA).
    labels
        Subtype per sample (same index).
    name
        Reference name.
    clip
        Clip of the scaled scores.
    phenotype
        Optional samples x (``cd8_signal``, ``stromal_tgfb_signal``) raw immune-phenotype signals.

    Examples
    --------
    >>> from tmescope.subtype import simulate_scores
    >>> scores, truth = simulate_scores(n_per_subtype=5)
    >>> ref = make_subtype_reference(scores, truth, name="toy")
    >>> ref.scaled.shape, float(ref.scaled.abs().max().max()) <= 2.0
    ((20, 29), True)
    """
    from tmescope._errors import InputError
    from tmescope.subtype._groups import SIGNATURES, SUBTYPES
    from tmescope.subtype._scaling import median_scale, scale_parameters

    missing = [s for s in SIGNATURES if s not in scores.columns]
    if missing:
        msg = f"Reference scores lack {len(missing)} TME-subtype signature(s): {', '.join(missing[:5])}."
        raise InputError(msg)
    labels = labels.reindex(scores.index).astype(object)
    bad = sorted({str(v) for v in labels if v not in SUBTYPES})
    if bad:
        msg = f"Reference subtype labels must be one of {list(SUBTYPES)}; got {bad[:5]}."
        raise InputError(msg)
    raw = scores.loc[:, list(SIGNATURES)].to_numpy(dtype=float)
    median, mad = scale_parameters(raw)
    x = median_scale(raw, median, mad, clip=clip)
    x[np.isnan(raw)] = 0.0
    comps, center = pca2(x)
    ph_med: dict[str, float] = {}
    ph_mad: dict[str, float] = {}
    if phenotype is not None:
        pmed, pmad = scale_parameters(phenotype.loc[scores.index].to_numpy(dtype=float))
        ph_med = {str(c): float(v) for c, v in zip(phenotype.columns, pmed, strict=True)}
        ph_mad = {str(c): float(v) for c, v in zip(phenotype.columns, pmad, strict=True)}
    return SubtypeReference(
        name=name,
        signatures=tuple(SIGNATURES),
        median=median,
        mad=mad,
        clip=float(clip),
        scaled=pd.DataFrame(x, index=scores.index.astype(str), columns=list(SIGNATURES)),
        labels=pd.Series(labels.to_numpy(), index=scores.index.astype(str), name="subtype"),
        components=comps,
        center=center,
        phenotype_median=ph_med,
        phenotype_mad=ph_mad,
    )
