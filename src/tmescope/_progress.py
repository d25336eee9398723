"""The one progress helper used by every long loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from tmescope._settings import settings

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

T = TypeVar("T")


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "") -> Iterator[T]:
    """Iterate with a progress bar on stderr when ``tmescope.settings.progress`` is on.

    A bar appears only for loops of more than one item that run longer than half a second, so quick steps do
    not flicker on the terminal.

    Examples
    --------
    >>> list(progress(range(3), desc="demo"))
    [0, 1, 2]
    """
    if not settings.progress or (total is not None and total <= 1):
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True, delay=0.5)
