"""Command-line commands of the `io` topic: ``tmescope inspect`` and ``tmescope demo``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tmescope._cli._common import handle_errors, reader_options
from tmescope._provenance import Provenance, atomic_path, collect


@click.command("inspect")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for inspection.json and provenance.json (nothing is written without it).",
)
@click.option(
    "--clinical",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Clinical table to read and match to the expression samples.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@reader_options
@handle_errors
def inspect_command(
    file: Path,
    out: Path | None,
    clinical: Path | None,
    as_json: bool,  # noqa: FBT001 - click passes flags positionally
    read_options: dict[str, Any],
) -> None:
    """Read FILE and print what was detected: orientation, scale, gene identifiers, mapping, and every warning.

    Exit status 0 when the file can be used, 2 when it is refused (the reason is printed).
    """
    from tmescope._settings import settings
    from tmescope.io._inspect import format_summary, inspect_clinical, inspect_expression

    params = dict(read_options)
    prov = Provenance("inspect", params=params, seed=settings.seed)
    with collect(prov):
        adata, summary = inspect_expression(file, **read_options)
        if clinical is not None:
            summary["clinical"] = inspect_clinical(clinical, adata.obs_names)
    click.echo(json.dumps(summary, indent=2, default=str) if as_json else format_summary(summary))
    if out is not None:
        with atomic_path(out / "inspection.json") as tmp:
            tmp.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
        prov.write(out)
        click.echo(f"Wrote {out / 'inspection.json'} and {out / 'provenance.json'}", err=True)


@click.command("demo")
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo_output"),
    show_default=True,
    help="Output folder.",
)
@handle_errors
def demo_command(out: Path) -> None:
    """Run tmescope on the bundled Liu et al. 2019 melanoma anti-PD-1 cohort and write the results to OUT."""
    from tmescope._demo import run_demo

    written = run_demo(out)
    for path in written:
        click.echo(f"Wrote {path}")


COMMANDS: list[click.Command] = [inspect_command, demo_command]
