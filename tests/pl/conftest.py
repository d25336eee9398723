"""The report's synthetic profile, shared with the figure tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "_report_fixture", Path(__file__).resolve().parents[1] / "report" / "conftest.py"
)
assert _spec is not None
assert _spec.loader is not None
_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixture)
make_profile = _fixture.make_profile


@pytest.fixture(scope="session")
def small_profile():
    return make_profile(16, seed=1)
