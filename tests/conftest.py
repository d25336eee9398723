"""Shared fixtures: paths to the public reference data beside the project, and small generators."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference"
DATA = Path(__file__).resolve().parent / "data"

# CI replays the same examples every run (a new random failure must not decide whether a change lands);
# locally hypothesis keeps exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference`` (sits beside the project root, in CI too)."""
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference is not present")
    return REFERENCE


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator for test data."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def liu_table():
    """``liu_table(n, genes_in_rows=...)``: the first ``n`` samples of the bundled Liu 2019 cohort as a DataFrame.

    Values are the cohort's log2(TPM + 0.001); samples in rows (index ``sample``) or genes in rows (index ``gene``).
    """
    import pandas as pd

    from tmescope.datasets import liu2019_melanoma

    adata, _ = liu2019_melanoma()

    def make(n: int, *, genes_in_rows: bool) -> pd.DataFrame:
        frame = pd.DataFrame(
            np.asarray(adata.X[:n]), index=pd.Index(adata.obs_names[:n], name="sample"), columns=adata.var_names
        )
        return frame.T.rename_axis(index="gene", columns=None) if genes_in_rows else frame

    return make
