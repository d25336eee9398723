"""Shared fixtures: paths to the public reference data beside the project, and small generators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference"
DATA = Path(__file__).resolve().parent / "data"


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
