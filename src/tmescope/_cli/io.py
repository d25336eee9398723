"""Command-line commands of the `io` topic: ``tmescope inspect`` and ``tmescope demo``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tmescope._cli._common import handle_errors, orientation_option, scale_option
from tmescope._provenance import Provenance, atomic_path, collect


@click.command("inspect")
@click.argument("file", type=click.Path(path_type=Path))
@orientation_option
@scale_option
@click.option(
    "--id-type",
    type=click.Choice(["auto", "symbol", "ensembl", "entrez"]),
    default="auto",
    show_default=True,
    help="Gene identifier type.",
)
@click.option("--sep", default=None, help="Field separator (default: tab or comma, from the header line).")
@click.option("--allow-missing", is_flag=True, help="Read NA, #N/A, - and empty cells as missing values.")
@click.option("--clip-negative", is_flag=True, help="Set negative values on a non-negative scale to 0.")
@click.option("--max-bytes", type=click.IntRange(min=1), default=None, help="Input budget in bytes.")
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
@handle_errors
def inspect_command(  # noqa: PLR0917 - click passes every option positionally
    file: Path,
    orientation: str,
    scale: str,
    id_type: str,
    sep: str | None,
    allow_missing: bool,  # noqa: FBT001 - click passes flags positionally
    clip_negative: bool,  # noqa: FBT001
    max_bytes: int | None,
    out: Path | None,
    clinical: Path | None,
    as_json: bool,  # noqa: FBT001
) -> None:
    """Read FILE and print what was detected: orientation, scale, gene identifiers, mapping, and every warning.

    Exit status 0 when the file can be used, 2 when it is refused (the reason is printed).
    """
    from tmescope._settings import settings
    from tmescope.io._inspect import format_summary, inspect_clinical, inspect_expression

    params = {
        "orientation": orientation,
        "scale": scale,
        "id_type": id_type,
        "sep": sep,
        "allow_missing": allow_missing,
        "negatives": "clip" if clip_negative else "error",
        "max_bytes": max_bytes,
    }
    prov = Provenance("inspect", params=params, seed=settings.seed)
    with collect(prov):
        adata, summary = inspect_expression(file, **params)
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
