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

#: ``--orientation``: which axis of a table holds genes (ignored for h5ad and zarr, whose obs are samples).
orientation_option = click.option(
    "--orientation",
    type=click.Choice(["auto", "genes_x_samples", "samples_x_genes"]),
    default="auto",
    show_default=True,
    help="Which axis of the table holds genes (h5ad and zarr: obs are samples).",
)

#: ``--scale``: the declared value scale, for files whose scale is not clear from the values.
scale_option = click.option("--scale", default="auto", show_default=True, help=f"Declared value scale: {SCALES}.")

#: ``--allow-missing``: read NA cells as missing values; bulk runs then leave out genes missing in some sample.
allow_missing_option = click.option(
    "--allow-missing",
    is_flag=True,
    help="Read NA, #N/A, - and empty cells as missing values (bulk analyses then leave out the genes they affect).",
)
