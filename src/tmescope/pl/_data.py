"""Read what the analyses stored, in the shape the figures need; compute nothing but display order.

Every reader raises :class:`~tmescope.MissingKeyError` with a plain sentence when its input is absent, so
that the report can omit the figure and say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import InputError, InputTypeError, MissingKeyError

if TYPE_CHECKING:
    from anndata import AnnData

#: Display order of the TME subtypes (Bagaev et al. 2021).
SUBTYPE_ORDER: tuple[str, ...] = ("IE/F", "IE", "F", "D")
#: Colour of each subtype (Okabe–Ito, readable with colour-vision deficiency).
SUBTYPE_COLORS: dict[str, str] = {"IE/F": "#E69F00", "IE": "#D55E00", "F": "#0072B2", "D": "#999999"}
#: Colour of samples without a subtype or with a label outside the four subtypes.
OTHER_COLOR = "#CC79A7"
#: Plain-language meaning of each subtype, for readers who are not specialists.
SUBTYPE_MEANING: dict[str, str] = {
    "IE/F": "immune-enriched and fibrotic: many immune cells together with a strong fibroblast and matrix signal",
    "IE": "immune-enriched, not fibrotic: many immune cells and little fibroblast or matrix signal",
    "F": "fibrotic: a strong fibroblast, matrix and vessel signal with few immune cells",
    "D": "immune-depleted: little immune and little fibroblast signal",
}
#: Shown for samples without a subtype.
NO_SUBTYPE = "not called"


def subtype_color(label: str) -> str:
    """Colour of a subtype label (a fixed colour for the four subtypes, another for anything else).

    Examples
    --------
    >>> subtype_color("IE")
    '#D55E00'
    >>> subtype_color("unknown")
    '#CC79A7'
    """
    return SUBTYPE_COLORS.get(str(label), OTHER_COLOR)


def subtypes(adata: AnnData, *, key: str = _keys.OBS_SUBTYPE) -> pd.Series:
    """Subtype label of every sample as strings, ``"not called"`` where missing.

    Raises
    ------
    MissingKeyError
        When ``adata.obs`` has no ``key`` column.
    """
    if key not in adata.obs.columns:
        msg = (
            f"No TME subtypes: column `{key}` is not in `adata.obs`; run "
            "`tmescope.subtype.classify_subtype(adata)` (part of `tmescope profile`) first."
        )
        raise MissingKeyError(msg)
    col = adata.obs[key]
    labels = col.astype(object).where(col.notna(), NO_SUBTYPE).astype(str)
    labels.index = adata.obs_names.astype(str)
    return labels


def subtype_levels(labels: pd.Series) -> list[str]:
    """Subtypes present in ``labels``, in display order (the four subtypes first, then others by name)."""
    present = set(labels.unique())
    return [s for s in SUBTYPE_ORDER if s in present] + sorted(present - set(SUBTYPE_ORDER))


def obsm_frame(adata: AnnData, key: str, *, what: str, fix: str) -> pd.DataFrame:
    """``adata.obsm[key]`` as a float DataFrame indexed by sample ID.

    Parameters
    ----------
    adata
        The profile AnnData.
    key
        ``obsm`` key.
    what
        What the entry holds, for the message when it is absent (e.g. ``"cell-type fractions"``).
    fix
        What to run to create it, for the same message.

    Raises
    ------
    MissingKeyError
        When the key is absent.
    """
    if key not in adata.obsm:
        msg = f"No {what}: `adata.obsm[{key!r}]` is absent; {fix}."
        raise MissingKeyError(msg)
    raw = adata.obsm[key]
    if isinstance(raw, pd.DataFrame):
        frame = raw.copy()
    else:
        arr = np.asarray(raw.toarray() if hasattr(raw, "toarray") else raw)
        if arr.ndim != 2:
            msg = f"`adata.obsm[{key!r}]` ({what}) must be 2-D; got shape {arr.shape}."
            raise InputError(msg)
        frame = pd.DataFrame(arr, columns=[str(i + 1) for i in range(arr.shape[1])])
    try:
        frame = frame.astype(float)
    except (TypeError, ValueError):
        try:
            frame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
        except (TypeError, ValueError) as err:  # pragma: no cover - apply with coerce rarely fails
            msg = f"`adata.obsm[{key!r}]` ({what}) must be numeric."
            raise InputTypeError(msg) from err
    frame.index = adata.obs_names.astype(str)
    frame.columns = frame.columns.astype(str)
    return frame


def fractions(adata: AnnData, *, key: str = _keys.OBSM_FRACTIONS) -> pd.DataFrame:
    """Cell-type fractions (samples x cell types)."""
    return obsm_frame(
        adata,
        key,
        what="cell-type fractions",
        fix="run `tmescope.bulk.deconvolve(adata)` (part of `tmescope profile`)",
    )


def embedding_frame(adata: AnnData, *, basis: str = _keys.OBSM_EMBEDDING) -> pd.DataFrame:
    """The stored 2-D embedding of samples (first two columns)."""
    frame = obsm_frame(
        adata,
        basis,
        what="sample embedding",
        fix="run `tmescope.subtype.classify_subtype(adata)`, which stores one",
    )
    if frame.shape[1] < 2:
        msg = f"No sample embedding: `adata.obsm[{basis!r}]` has {frame.shape[1]} column(s); two are needed."
        raise MissingKeyError(msg)
    return frame.iloc[:, :2]


def cluster_order(x: np.ndarray, *, max_n: int = 2000) -> np.ndarray:
    """Order of the rows of ``x`` that places similar rows together (average-linkage clustering).

    Missing values count as 0 (the median after scaling). Above ``max_n`` rows the order follows the
    first principal component instead, which needs no pairwise distances.

    Examples
    --------
    >>> cluster_order(np.array([[0.0, 0.0], [5.0, 5.0], [0.1, 0.0]])).tolist() in ([0, 2, 1], [1, 2, 0], [2, 0, 1], [1, 0, 2])
    True
    """
    x = np.nan_to_num(np.asarray(x, dtype=float))
    n = x.shape[0]
    if n < 3:
        return np.arange(n)
    if n > max_n:
        centred = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return np.argsort(centred @ vt[0], kind="stable")
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import pdist

    dist = pdist(x)
    tree = linkage(dist, method="average")
    if n <= 500:
        tree = optimal_leaf_ordering(tree, dist)
    return np.asarray(leaves_list(tree))


@dataclass(frozen=True)
class SampleFeatures:
    """One sample's rows of the feature table, split into those with and without a percentile."""

    ranked: pd.DataFrame
    unranked: pd.DataFrame


def feature_family(feature: str) -> str:
    """Family of a dotted feature name (the part before the first dot).

    Examples
    --------
    >>> feature_family("composition.cd8_t")
    'composition'
    """
    return str(feature).split(".", 1)[0]


def sample_features(features: pd.DataFrame | None, sample: str) -> SampleFeatures:
    """The feature rows of ``sample``, ranked by cohort percentile (highest first).

    Raises
    ------
    MissingKeyError
        When the table is empty or has no rows for ``sample``.
    """
    if features is None or len(features) == 0:
        msg = "No feature table was given, so there is nothing to rank; pass the table `tmescope profile` wrote."
        raise MissingKeyError(msg)
    if "sample" not in features.columns or "feature" not in features.columns:
        msg = f"The feature table needs `sample` and `feature` columns; got {list(features.columns)}."
        raise InputError(msg)
    rows = features.loc[features["sample"].astype(str) == str(sample)]
    if rows.empty:
        msg = f"The feature table has no rows for sample {sample!r}."
        raise MissingKeyError(msg)
    return split_ranked(rows)


def split_ranked(rows: pd.DataFrame) -> SampleFeatures:
    """Split one sample's rows into those with a percentile (sorted, highest first) and the rest."""
    rows = rows.copy()
    for col in ("value", "ci_low", "ci_high", "percentile"):
        rows[col] = pd.to_numeric(rows[col], errors="coerce") if col in rows else np.nan
    for col in ("label", "unit", "method", "flag"):
        rows[col] = rows[col].fillna("").astype(str) if col in rows else ""
    rows["family"] = rows["feature"].astype(str).map(feature_family)
    has = rows["percentile"].notna()
    ranked = rows.loc[has].sort_values(["percentile", "feature"], ascending=[False, True], kind="stable")
    return SampleFeatures(ranked=ranked.reset_index(drop=True), unranked=rows.loc[~has].reset_index(drop=True))


def interval_frames(
    adata: AnnData,
    *,
    key: str = _keys.OBSM_FRACTIONS,
    low_key: str = _keys.OBSM_FRACTIONS_LOW,
    high_key: str = _keys.OBSM_FRACTIONS_HIGH,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Fractions and, when stored, their interval bounds aligned to the same cell types."""
    frac = fractions(adata, key=key)
    bounds: list[pd.DataFrame | None] = []
    for k in (low_key, high_key):
        if k in adata.obsm:
            b = obsm_frame(adata, k, what="fraction interval bounds", fix="")
            bounds.append(b.reindex(columns=frac.columns) if set(frac.columns) <= set(b.columns) else None)
        else:
            bounds.append(None)
    return frac, bounds[0], bounds[1]


def sample_position(adata: AnnData, sample: str) -> int:
    """Row number of ``sample`` in ``adata``."""
    names = adata.obs_names.astype(str)
    hits = np.flatnonzero(names == str(sample))
    if hits.size == 0:
        msg = f"Sample {sample!r} is not in `adata.obs_names` (first names: {', '.join(names[:5])})."
        raise MissingKeyError(msg)
    return int(hits[0])


def as_table(value: Any) -> pd.DataFrame | None:
    """A stored table as a DataFrame (DataFrame, dict of columns or record list), else ``None``."""
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, dict):
        try:
            return pd.DataFrame(value)
        except ValueError:
            return None
    return None
