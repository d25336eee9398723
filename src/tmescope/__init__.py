"""tmescope: quantitative tumour-microenvironment portraits from omics data."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from tmescope._errors import (
    AutoFixWarning,
    CoverageWarning,
    InputError,
    InputTypeError,
    MissingKeyError,
    ReferenceMismatchError,
    ScaleError,
    TmescopeError,
    TmescopeWarning,
)
from tmescope._settings import settings

try:
    __version__ = version("tmescope")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = [
    "AutoFixWarning",
    "CoverageWarning",
    "InputError",
    "InputTypeError",
    "MissingKeyError",
    "ReferenceMismatchError",
    "ScaleError",
    "TmescopeError",
    "TmescopeWarning",
    "__version__",
    "settings",
]
