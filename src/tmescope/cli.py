"""The ``tmescope`` command line: thin wrappers over the Python API.

Each topic keeps its commands in ``tmescope._cli.<topic>`` as a ``COMMANDS`` list; this module
builds the group, the global options and the error handling shared by every command.
"""

from __future__ import annotations

import importlib

import click

from tmescope import __version__
from tmescope._settings import settings

_TOPICS = ("io", "signatures", "composition", "profile", "sc", "insights", "cohort", "spatial", "crosstalk")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tmescope")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for every random step.")
@click.option(
    "--n-jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Parallel jobs (results never depend on it).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no informational output.")
@click.option(
    "--scheduler",
    default=None,
    help="Run chunked work on a dask cluster: a scheduler address (tcp://host:8786) or local:N (N local worker "
    "processes). Results do not depend on it.",
)
@click.pass_context
def main(ctx: click.Context, seed: int, n_jobs: int, quiet: bool, scheduler: str | None) -> None:  # noqa: FBT001
    """Tumour-microenvironment portraits from bulk, single-cell and spatial omics."""
    settings.seed = seed
    settings.n_jobs = n_jobs
    settings.progress = not quiet
    if scheduler:
        from tmescope._cli._common import handle_errors
        from tmescope._execution import use_scheduler

        echo = None if quiet else (lambda msg: click.echo(msg, err=True))
        # the cluster lives as long as the command; a bad address is reported like any input error
        handle_errors(lambda: ctx.with_resource(use_scheduler(scheduler, echo=echo)))()


for _topic in _TOPICS:
    for _command in importlib.import_module(f"tmescope._cli.{_topic}").COMMANDS:
        main.add_command(_command)
