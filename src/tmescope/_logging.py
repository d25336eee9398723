"""Warnings and logging helpers.

All warnings pass through :func:`warn`, which points them at the first stack frame outside tmescope so
that the user sees the line of their own code. Automatic fixes go through :func:`autofix`, which also
records them in the active provenance collector (see :mod:`tmescope._provenance`).
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import TYPE_CHECKING, Any

from tmescope._errors import AutoFixWarning, TmescopeWarning

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger("tmescope")

_PKG_PREFIX = __name__.split(".")[0]


def _external_stacklevel() -> int:
    """Return the ``stacklevel`` of the first frame whose module is not part of tmescope."""
    level = 1
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != _PKG_PREFIX and not module.startswith(_PKG_PREFIX + "."):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def format_items(items: Sequence[Any], *, first: int = 5) -> str:
    """Format a list of items as ``n item(s): a, b, c, d, e, …`` for messages.

    Examples
    --------
    >>> format_items(["A", "B", "C"])
    '3 item(s): A, B, C'
    >>> format_items(list("ABCDEFG"), first=2)
    '7 item(s): A, B, …'
    """
    items = list(items)
    shown = ", ".join(str(i) for i in items[:first])
    more = ", …" if len(items) > first else ""
    return f"{len(items)} item(s): {shown}{more}"


def warn(message: str, category: type[Warning] = TmescopeWarning) -> None:
    """Emit a warning that points at the caller's code, outside tmescope."""
    warnings.warn(message, category, stacklevel=_external_stacklevel())


def autofix(
    step: str, message: str, items: Sequence[Any] = (), *, details: dict[str, Any] | None = None, once: str = ""
) -> None:
    """Report a documented automatic fix: one warning with count and first items, plus a provenance entry.

    Parameters
    ----------
    step
        Short machine-readable name of the fix, e.g. ``"genes.aggregate_duplicates"``.
    message
        Human-readable description of what was fixed and by which rule.
    items
        The affected items (genes, samples, rows); the count and the first five are shown.
    details
        Extra machine-readable information stored in provenance (e.g. a full mapping).
    once
        A key for fixes that several steps of one run apply alike (e.g. un-logging the same input for each
        method): within one provenance record the warning is shown the first time only, while every occurrence
        is still recorded.
    """
    from tmescope._provenance import current, record_fix

    text = f"{message} ({format_items(items)})" if len(items) else message
    prov = current()
    shown = bool(once) and prov is not None and any(f.get("once") == once for f in prov.fixes)
    entry = {"step": step, "message": text, "n_items": len(items), "items": [str(i) for i in items], **(details or {})}
    record_fix({**entry, "once": once} if once else entry)
    logger.info(text)
    if not shown:
        warn(text, AutoFixWarning)
