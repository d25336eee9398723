"""From the tidy feature table and the clinical table to aligned per-sample arrays."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmescope._errors import InputError, InputTypeError, MissingKeyError
from tmescope._logging import format_items

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Outcomes and the clinical columns they read.
OUTCOMES: dict[str, tuple[str, ...]] = {
    "os": ("os_time", "os_event"),
    "pfs": ("pfs_time", "pfs_event"),
    "response": ("response",),
    "recist": ("recist",),
}
SURVIVAL = ("os", "pfs")
#: Ordinal coding of RECIST best overall response (higher = better).
RECIST_ORDER = {"PD": 0, "SD": 1, "PR": 2, "CR": 3}
#: A feature is tested only when measured in at least this fraction of the samples.
MIN_MEASURED = 0.8


def check_features(features: Any) -> pd.DataFrame:
    """The tidy feature table, normalised, or a clear error."""
    from tmescope.io import normalize_features

    if not isinstance(features, pd.DataFrame):
        msg = (
            f"`features` must be the tidy feature table (a DataFrame from tmescope.io.read_features); "
            f"got {type(features).__name__}."
        )
        raise InputTypeError(msg)
    if len(features) == 0:
        msg = "The feature table is empty; run `tmescope profile` (or another analysis) on the cohort first."
        raise InputError(msg)
    return normalize_features(features)


def feature_matrix(features: pd.DataFrame, *, min_measured: float = MIN_MEASURED) -> pd.DataFrame:
    """Samples x features: numeric features as they are, each level of a categorical feature as a 0/1 column.

    Categorical features (``label`` filled, e.g. ``subtype.label``) become ``subtype.label=IE`` etc. Features
    measured in fewer than ``min_measured`` of the samples, or constant, are left out (listed in
    ``attrs["dropped"]``).

    Examples
    --------
    >>> ft = pd.DataFrame({"sample": ["a", "b", "a", "b"], "feature": ["x.y", "x.y", "s.label", "s.label"],
    ...                    "value": [1.0, 2.0, np.nan, np.nan], "label": ["", "", "IE", "D"]})
    >>> list(feature_matrix(check_features(ft)).columns)
    ['s.label=D', 's.label=IE', 'x.y']
    """
    is_label = features["label"] != ""
    num = features.loc[~is_label]
    wide = num.pivot_table(index="sample", columns="feature", values="value", aggfunc="first", dropna=False)
    parts = [wide]
    lab = features.loc[is_label]
    for feat, rows in lab.groupby("feature", sort=True):
        dummies = pd.get_dummies(rows.set_index("sample")["label"], prefix=str(feat), prefix_sep="=", dtype=float)
        parts.append(dummies)
    out = pd.concat(parts, axis=1).sort_index(axis=1)
    samples = sorted(features["sample"].unique())
    out = out.reindex(samples)
    out.index.name = "sample"
    measured = out.notna().mean(axis=0)
    nunique = out.nunique(dropna=True)
    keep = (measured >= min_measured) & (nunique > 1)
    dropped = out.columns[~keep].tolist()
    out = out.loc[:, keep]
    out.attrs["dropped"] = dropped
    return out


def align_clinical(samples: pd.Index, clinical: Any) -> pd.DataFrame:
    """Clinical rows of ``samples`` (index = sample; unmatched samples get missing values)."""
    from tmescope.io import match_samples

    if not isinstance(clinical, pd.DataFrame):
        msg = f"`clinical` must be a DataFrame from tmescope.io.read_clinical; got {type(clinical).__name__}."
        raise InputTypeError(msg)
    if "sample_id" not in clinical.columns:
        msg = "`clinical` has no 'sample_id' column; read the clinical file with tmescope.io.read_clinical."
        raise MissingKeyError(msg)
    clin = clinical.reset_index(drop=True)
    if "patient_id" not in clin.columns:
        clin = clin.assign(patient_id=clin["sample_id"])
    with warnings.catch_warnings():
        # ID normalisation is reported by match_samples as a warning; the cohort functions report n per test.
        warnings.simplefilter("ignore")
        table, _ = match_samples(list(samples), clin)
    return table.reindex(samples)


def outcome_columns(clinical: pd.DataFrame, outcome: str) -> tuple[str, ...]:
    """The clinical columns of an outcome, checked to exist and to hold values."""
    if outcome not in OUTCOMES:
        msg = f"Unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}."
        raise InputError(msg)
    cols = OUTCOMES[outcome]
    missing = [c for c in cols if c not in clinical.columns or clinical[c].isna().all()]
    if missing:
        msg = (
            f"Outcome {outcome!r} needs the clinical column(s) {', '.join(cols)}; {', '.join(missing)} "
            "absent or empty for these samples. Give a clinical table that has them (tmescope.io.read_clinical "
            "recognises the usual spellings) or choose another outcome."
        )
        raise InputError(msg)
    return cols


def covariate_matrix(
    covariates: Sequence[str], clinical: pd.DataFrame, matrix: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Design columns of the covariates: clinical columns or features; categorical ones one-hot (first level dropped).

    Returns the design (index = samples) and the names of its columns.
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    cols: list[pd.DataFrame] = []
    unknown = [c for c in covariates if c not in clinical.columns and c not in matrix.columns]
    if unknown:
        msg = (
            f"Covariate(s) {format_items(unknown)} are neither clinical columns nor features. Clinical columns: "
            f"{format_items([str(c) for c in clinical.columns])}."
        )
        raise MissingKeyError(msg)
    for c in covariates:
        values = matrix[c] if c in matrix.columns else clinical[c]
        numeric = pd.to_numeric(values, errors="coerce")
        if values.notna().sum() and numeric.notna().sum() == values.notna().sum():
            cols.append(numeric.astype(float).rename(c).to_frame())
        else:
            text = values.astype("string")
            text = text.where(text.str.strip() != "", pd.NA)
            dummies = pd.get_dummies(text, prefix=c, prefix_sep="=", dtype=float, drop_first=True)
            dummies[text.isna().to_numpy()] = np.nan
            if dummies.shape[1] == 0:
                msg = f"Covariate {c!r} has a single value in these samples; it cannot adjust anything. Leave it out."
                raise InputError(msg)
            cols.append(dummies)
    design = pd.concat(cols, axis=1) if cols else pd.DataFrame(index=matrix.index)
    return design, [str(c) for c in design.columns]
