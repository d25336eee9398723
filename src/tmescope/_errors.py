"""Exception and warning classes of tmescope.

Every error a user can cause is raised as one of these classes. Each subclasses the matching
built-in exception, so ``except ValueError`` keeps working in code that does not know tmescope.
Messages say what is wrong, name the file, line, sample or gene, and say what to do.
"""

from __future__ import annotations

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
]


class TmescopeError(Exception):
    """Base class of every error raised by tmescope on purpose."""


class InputError(TmescopeError, ValueError):
    """Input content is unusable as given (bad value, format, shape or identifier)."""


class ScaleError(InputError):
    """Values are on a scale the method cannot use (for example log data given to a linear method)."""


class ReferenceMismatchError(InputError):
    """A frozen reference cohort was built with other library or table versions than the running ones."""


class InputTypeError(TmescopeError, TypeError):
    """An argument has the wrong type."""


class MissingKeyError(TmescopeError, KeyError):
    """A required key (column, layer, ``obsm``/``uns`` entry) is missing."""

    def __str__(self) -> str:
        # KeyError would show the message with quotes around it.
        return str(self.args[0]) if self.args else ""


class TmescopeWarning(UserWarning):
    """Base class of tmescope's warnings."""


class AutoFixWarning(TmescopeWarning):
    """An input problem was fixed automatically by a documented rule; the fix is also in provenance."""


class CoverageWarning(TmescopeWarning):
    """A gene set has too few of its genes in the data; its score is reported as missing."""
