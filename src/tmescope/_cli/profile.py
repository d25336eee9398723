"""Command-line commands of the `profile` topic: ``tmescope profile`` and ``tmescope reference build|info``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tmescope._cli._common import handle_errors, reader_options


def _reference_arg(value: str) -> str | None:
    return None if value.lower() == "none" else value


@click.command("profile")
@click.argument("expr", type=click.Path(path_type=Path))
@click.option("--clinical", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Clinical table.")
@click.option(
    "--reference",
    default="default",
    show_default=True,
    help="Reference cohort .parquet file, 'default' (shipped melanoma cohort, n=121) or 'none' (cohort-relative: "
    "de novo subtypes, no percentiles; needs 20+ samples).",
)
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--n-boot", type=click.IntRange(min=0), default=100, show_default=True, help="Deconvolution bootstraps.")
@click.option("--k", type=click.IntRange(min=1), default=35, show_default=True, help="Neighbours of the subtype call.")
@click.option("--title", default=None, help="Report title.")
@click.option("--no-report", is_flag=True, help="Skip the HTML report.")
@click.option(
    "--scheduler",
    default=None,
    help="Run on a dask cluster: a scheduler address (tcp://host:8786) or local:N (N local worker processes).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=None,
    help="Profile N samples at a time, each chunk read lazily (parquet, h5ad or zarr) and placed against the "
    "reference; writes features, provenance and a one-page cohort summary (no profile.h5ad or per-sample pages). "
    "Results do not depend on N.",
)
@click.option(
    "--checkpoint/--no-checkpoint",
    default=True,
    show_default=True,
    help="With --chunk-size: keep finished chunks in OUT/chunks/ and resume from them when run again.",
)
@reader_options
@handle_errors
def profile_command(  # noqa: PLR0917 - click passes every option positionally
    expr: Path,
    clinical: Path | None,
    reference: str,
    out: Path,
    n_boot: int,
    k: int,
    title: str | None,
    no_report: bool,  # noqa: FBT001 - click passes flags positionally
    scheduler: str | None,
    chunk_size: int | None,
    checkpoint: bool,  # noqa: FBT001 - click passes flags positionally
    read_options: dict[str, Any],
) -> None:
    """Profile the TME of every sample in EXPR (a file, or an AnnData zarr store) against a reference cohort.

    Writes OUT/profile.h5ad, OUT/features.parquet and .tsv, OUT/provenance.json and OUT/report/index.html
    (plus one page per sample). With --chunk-size, large cohorts are profiled chunk by chunk (OUT/features.*,
    OUT/provenance.json, OUT/chunks/); with --scheduler, the work runs on a dask cluster.
    """
    from tmescope._errors import InputError
    from tmescope._execution import use_scheduler
    from tmescope._settings import settings
    from tmescope.profile import run_profile, run_profile_chunked

    echo = (lambda msg: click.echo(msg, err=True)) if settings.progress else None
    with use_scheduler(scheduler, echo=echo):
        if chunk_size is not None:
            if clinical is not None:
                msg = "--clinical is not used with --chunk-size; profile without --chunk-size to attach clinical data."
                raise InputError(msg)
            outdir = run_profile_chunked(
                expr,
                out,
                reference=_reference_arg(reference),
                chunk_size=chunk_size,
                checkpoint=checkpoint,
                read_options=read_options,
                n_boot=n_boot,
                k=k,
                report=not no_report,
                title=title,
            )
            click.echo(
                f"Wrote {outdir}/features.parquet, features.tsv, provenance.json" + ("" if no_report else ", report/")
            )
            return
        outdir = run_profile(
            expr,
            out,
            clinical=clinical,
            reference=_reference_arg(reference),
            n_boot=n_boot,
            k=k,
            title=title,
            report=not no_report,
            read_options=read_options,
        )
    click.echo(
        f"Wrote {outdir}/profile.h5ad, features.parquet, features.tsv, provenance.json"
        + ("" if no_report else ", report/")
    )


@click.group("reference")
def reference_group() -> None:
    """Build and inspect frozen reference cohorts (for placing single samples)."""


@reference_group.command("build")
@click.argument("expr", type=click.Path(path_type=Path))
@click.option("--clinical", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Clinical table.")
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Reference .parquet file."
)
@click.option("--name", default=None, help="Reference name (default: the output file name without suffix).")
@click.option("--tumour-type", default="", help="Tumour type, e.g. 'metastatic melanoma'.")
@click.option("--description", default="", help="Free text stored with the reference.")
@click.option("--n-boot", type=click.IntRange(min=0), default=100, show_default=True, help="Deconvolution bootstraps.")
@reader_options
@handle_errors
def build_command(  # noqa: PLR0917 - click passes every option positionally
    expr: Path,
    clinical: Path | None,
    out: Path,
    name: str | None,
    tumour_type: str,
    description: str,
    n_boot: int,
    read_options: dict[str, Any],
) -> None:
    """Freeze the cohort in EXPR (score distributions, de novo TME subtypes, composition) into OUT (.parquet)."""
    from tmescope._provenance import Provenance, collect, sha256_file
    from tmescope._settings import settings
    from tmescope.io import read_clinical, read_expression
    from tmescope.profile import build_reference

    params = {"name": name, "n_boot": n_boot, "read_options": read_options}
    prov = Provenance("reference build", params=params, seed=settings.seed)
    with collect(prov):
        adata = read_expression(expr, **read_options)
        clin = read_clinical(clinical) if clinical is not None else None
        if clin is not None:
            clin = clin.set_index("sample_id", drop=False)
        ref = build_reference(
            adata,
            name=name or out.stem,
            clinical=clin,
            description=description,
            tumour_type=tumour_type,
            n_boot=n_boot,
            source_sha256=sha256_file(expr),
        )
        ref.save(out)
    click.echo(f"Wrote {out}: {ref.describe()}; subtypes {ref.metadata['subtype_counts']}")


@reference_group.command("info")
@click.argument("ref", type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def info_command(ref: Path) -> None:
    """Print a reference cohort's metadata (without the gene list and feature units) and check it against this tmescope."""
    from tmescope.profile import load_reference

    cohort = load_reference(ref, check=False)
    meta = {k: v for k, v in cohort.metadata.items() if k != "feature_units"}
    summary = {"name": cohort.name, **meta, "n_features": cohort.features.shape[1], "n_genes": len(cohort.genes)}
    click.echo(json.dumps(summary, indent=2, default=str))
    load_reference(ref)  # refuses with a clear message when the versions differ
    click.echo("Compatible with this tmescope.")


COMMANDS: list[click.Command] = [profile_command, reference_group]
