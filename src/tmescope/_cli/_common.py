"""Shared pieces of the command-line topics: error handling and the options of every expression reader."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

from tmescope._errors import TmescopeError, TmescopeWarning

F = TypeVar("F", bound=Callable[..., Any])

#: Exit status for input the command refuses (bad file, bad value); 1 is left for crashes.
EXIT_INPUT = 2


def handle_errors(func: F) -> F:
    """Turn tmescope's own errors into a one-line message and exit status 2, and show warnings plainly."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        def _show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
            prefix = "Warning" if issubclass(category, TmescopeWarning) else category.__name__
            click.echo(f"{prefix}: {message}", err=True)

        with warnings.catch_warnings():
            warnings.simplefilter("always", TmescopeWarning)
            warnings.showwarning = _show
            try:
                return func(*args, **kwargs)
            except TmescopeError as exc:
                click.echo(f"Error: {exc}", err=True)
                sys.exit(EXIT_INPUT)

    return wrapper  # type: ignore[return-value]


#: Value scales a user can declare (``--scale``), as :func:`tmescope.io.read_expression` takes them.
SCALES = "auto, counts, linear, log2(x+1), log2(x+0.001), ln(x+1), log10(x+1), centered"

#: The options of :func:`tmescope.io.read_expression`, offered by every command that reads an expression file, so
#: that what the reader's messages suggest ("CLI --scale …") works wherever they are shown.
_READER_OPTIONS = (
    click.option(
        "--orientation",
        type=click.Choice(["auto", "genes_x_samples", "samples_x_genes"]),
        default="auto",
        show_default=True,
        help="Which axis of the table holds genes (h5ad and zarr: obs are samples).",
    ),
    click.option("--scale", default="auto", show_default=True, help=f"Declared value scale: {SCALES}."),
    click.option(
        "--id-type",
        type=click.Choice(["auto", "symbol", "ensembl", "entrez"]),
        default="auto",
        show_default=True,
        help="Gene identifier type.",
    ),
    click.option("--sep", default=None, help="Field separator (default: tab or comma, from the header line)."),
    click.option(
        "--allow-missing",
        is_flag=True,
        help="Read NA, #N/A, - and empty cells as missing values (bulk analyses then leave out the genes they affect).",
    ),
    click.option("--clip-negative", is_flag=True, help="Set negative values on a non-negative scale to 0."),
    click.option("--max-bytes", type=click.IntRange(min=1), default=None, help="Input memory budget in bytes."),
)
_READER_PARAMS = ("orientation", "scale", "id_type", "sep", "allow_missing", "clip_negative", "max_bytes")


def reader_options(func: F) -> F:
    """Add the reader's options to a command; they reach it as one ``read_options`` dict of read_expression keywords.

    Defaults are left out of the dict, so that it holds only what the user declared.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import inspect

        from tmescope.io import read_expression

        given = {k: kwargs.pop(k) for k in _READER_PARAMS}
        given["negatives"] = "clip" if given.pop("clip_negative") else "error"
        defaults = inspect.signature(read_expression).parameters
        read_options = {k: v for k, v in given.items() if v != defaults[k].default}
        return func(*args, read_options=read_options, **kwargs)

    for option in reversed(_READER_OPTIONS):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]
