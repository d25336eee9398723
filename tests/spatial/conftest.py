"""Fixtures of the spatial tests: the CosMx Lung5 cell table (read once) and small synthetic slides."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope.spatial import read_spatial

LUNG5 = "cosmx_nsclc_lung5_celltypes/lung5_cells.csv.gz"
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "spatial"
PIXEL_UM = 0.18


@pytest.fixture(scope="session")
def lung5_table(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / LUNG5)


@pytest.fixture
def lung5(lung5_table: pd.DataFrame) -> ad.AnnData:
    return read_spatial(lung5_table, unit="px", pixel_size=PIXEL_UM, x_key="x_px", y_key="y_px")


def make_cells(n: int = 600, n_types: int = 4, n_slides: int = 2, seed: int = 0) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": r.uniform(0, 300, n),
            "y": r.uniform(0, 300, n),
            "cell_type": r.choice([f"type{i}" for i in range(n_types)], n),
            "slide": r.choice([f"s{i}" for i in range(n_slides)], n),
        }
    )


@pytest.fixture
def small() -> ad.AnnData:
    return read_spatial(make_cells(), unit="um")
