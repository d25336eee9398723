"""Small feature tables for the insights tests: synthetic ones and one built from the shipped reference cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmescope.io import normalize_features


def _tidy(rows: list[dict]) -> pd.DataFrame:
    return normalize_features(pd.DataFrame(rows))


@pytest.fixture(scope="session")
def tidy():
    """Make a tidy feature table from a few rows (missing columns filled)."""
    return _tidy


@pytest.fixture(scope="session")
def reference_table() -> tuple[pd.DataFrame, pd.Series]:
    """The shipped reference cohort (Liu 2019 melanoma, n=121) as a tidy table with leave-one-out percentiles."""
    from tmescope.profile import default_reference

    ref = default_reference()
    wide = ref.features
    long = wide.rename_axis("sample").reset_index().melt(id_vars="sample", var_name="feature", value_name="value")
    long["percentile"] = ref.percentiles(long).to_numpy()
    labels = pd.DataFrame(
        {
            "sample": np.concatenate([ref.labels.index.to_numpy()] * 2),
            "feature": ["subtype.label"] * len(ref.labels) + ["immune_phenotype.label"] * len(ref.labels),
            "label": np.concatenate([ref.labels["subtype"].to_numpy(), ref.labels["immune_phenotype"].to_numpy()]),
        }
    )
    table = normalize_features(pd.concat([long, labels], ignore_index=True))
    return table, ref.labels["clinical:response"].astype(str)
