"""Method metadata: one frozen record per analysis method, and a decorator that registers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import pandas as pd

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class MethodInfo:
    """What a method is, where it comes from and what it needs."""

    name: str
    topic: str
    modality: str
    citation: str
    scale: str
    gives_pvalues: bool = False
    function: str = ""


_REGISTRY: dict[tuple[str, str], MethodInfo] = {}


def register(
    *, name: str, topic: str, modality: str, citation: str, scale: str, gives_pvalues: bool = False
) -> Callable[[F], F]:
    """Register a public function as method ``name`` of ``topic`` (e.g. ``"scoring"``, ``"bulk"``)."""

    def deco(func: F) -> F:
        _REGISTRY[(topic, name)] = MethodInfo(
            name=name,
            topic=topic,
            modality=modality,
            citation=citation,
            scale=scale,
            gives_pvalues=gives_pvalues,
            function=f"{func.__module__}.{func.__qualname__}",
        )
        return func

    return deco


def methods(topic: str | None = None) -> pd.DataFrame:
    """Registered methods as a table, optionally only those of one topic."""
    rows = [asdict(m) for (t, _), m in sorted(_REGISTRY.items()) if topic is None or t == topic]
    return pd.DataFrame(rows, columns=[f for f in MethodInfo.__dataclass_fields__])


def get(topic: str, name: str) -> MethodInfo:
    """Metadata of one registered method."""
    return _REGISTRY[(topic, name)]
