"""The tidy feature table: one row per (sample, feature), shared by every analysis command.

Columns: ``sample``, ``feature`` (dotted, lower-case, e.g. ``composition.cd8_t``), ``value`` (float),
``label`` (text value for categorical features such as ``subtype.label``, else empty), ``unit``,
``method``, ``ci_low``, ``ci_high``, ``percentile`` (0-100 against the reference cohort when one is
used), ``flag`` (e.g. ``low_coverage``, ``poor_fit``; empty when none).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmescope._errors import InputError
from tmescope._provenance import atomic_path

if TYPE_CHECKING:
    import os

FEATURE_COLUMNS = ("sample", "feature", "value", "label", "unit", "method", "ci_low", "ci_high", "percentile", "flag")
_FLOAT_COLUMNS = ("value", "ci_low", "ci_high", "percentile")
_TEXT_COLUMNS = ("sample", "feature", "label", "unit", "method", "flag")
_FEATURE_NAME = re.compile(r"[^a-z0-9]+")


def feature_name(prefix: str, name: str) -> str:
    """Dotted, lower-case feature name.

    Examples
    --------
    >>> feature_name("composition", "CD8 T cells")
    'composition.cd8_t_cells'
    >>> feature_name("signature", "IFN-γ 6-gene")
    'signature.ifn_6_gene'
    """
    return f"{prefix}.{_FEATURE_NAME.sub('_', str(name).lower()).strip('_')}"


def features_from_frame(
    values: pd.DataFrame,
    *,
    prefix: str,
    unit: str,
    method: str,
    ci_low: pd.DataFrame | None = None,
    ci_high: pd.DataFrame | None = None,
    flag: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Turn a samples x features table into tidy feature rows.

    Parameters
    ----------
    values
        Numeric table, samples in the index, one column per feature.
    prefix
        Feature family, e.g. ``"composition"`` or ``"signature"``.
    unit, method
        Written to every row.
    ci_low, ci_high, flag
        Optional tables of the same shape as ``values``.

    Returns
    -------
    Tidy DataFrame with :data:`FEATURE_COLUMNS`.
    """
    names = {c: feature_name(prefix, c) for c in values.columns}
    long = values.rename(columns=names).rename_axis(index="sample", columns="feature").stack(future_stack=True)
    out = long.rename("value").reset_index()
    out["sample"] = out["sample"].astype(str)
    for col, table in (("ci_low", ci_low), ("ci_high", ci_high)):
        out[col] = (
            table.rename(columns=names).stack(future_stack=True).to_numpy(dtype=float) if table is not None else np.nan
        )
    out["flag"] = (
        flag.rename(columns=names).stack(future_stack=True).fillna("").astype(str).to_numpy()
        if flag is not None
        else ""
    )
    out["label"] = ""
    out["unit"] = unit
    out["method"] = method
    out["percentile"] = np.nan
    return normalize_features(out)


def normalize_features(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly :data:`FEATURE_COLUMNS`, canonical dtypes and a stable row order."""
    missing = [c for c in ("sample", "feature") if c not in df.columns]
    if missing:
        msg = f"Feature table lacks the column(s) {missing}; expected {list(FEATURE_COLUMNS)}."
        raise InputError(msg)
    out = df.copy()
    for col in _FLOAT_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float) if col in out else np.nan
    for col in _TEXT_COLUMNS:
        out[col] = out[col].fillna("").astype(str) if col in out else ""
    return out.loc[:, list(FEATURE_COLUMNS)].sort_values(["sample", "feature"], kind="stable").reset_index(drop=True)


def write_features(df: pd.DataFrame, outdir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``features.parquet`` and ``features.tsv`` atomically into ``outdir``."""
    table = normalize_features(df)
    outdir = Path(outdir)
    parquet, tsv = outdir / "features.parquet", outdir / "features.tsv"
    with atomic_path(parquet) as tmp:
        table.to_parquet(tmp, index=False)
    with atomic_path(tsv) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return parquet, tsv


def read_features(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a feature table written by any tmescope command (parquet, TSV, or the folder holding them)."""
    p = Path(path)
    if p.is_dir():
        p = p / "features.parquet"
    if not p.exists():
        msg = f"No feature table at {p}; run a tmescope analysis command (e.g. `tmescope profile`) first."
        raise InputError(msg)
    df = (
        pd.read_parquet(p)
        if p.suffix == ".parquet"
        else pd.read_csv(p, sep="\t", keep_default_na=False, na_values=[""])
    )
    return normalize_features(df)
