"""Command-line commands of the `sc` topic: ``tmescope sc``."""

from __future__ import annotations

from pathlib import Path

import click

from tmescope._cli._common import handle_errors


@click.command("sc")
@click.argument("adata", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--sample-key", default=None, help="obs column naming each cell's sample (default: one sample).")
@click.option("--labels-key", default=None, help="obs column with your own cell-type labels (skips the annotator).")
@click.option("--layer", default=None, help="Layer with raw counts (or 'raw' for adata.raw); default: detected.")
@click.option(
    "--scale", default="auto", show_default=True, help="Declared scale: auto, counts, ln(x+1), log2(x+1), linear."
)
@click.option("--resolution", type=float, default=2.0, show_default=True, help="Leiden resolution of the annotator.")
@click.option(
    "--min-score",
    type=float,
    default=0.15,
    show_default=True,
    help="Clusters whose best marker score is below this are labelled 'unknown'.",
)
@click.option("--no-states", is_flag=True, help="Do not score the cell-state programs.")
@click.option("--no-signatures", is_flag=True, help="Do not score the per-sample pseudobulk with bulk signatures.")
@click.option("--gbm", is_flag=True, help="Glioblastoma: also give malignant cells their Neftel 2019 state.")
@click.option(
    "--markers",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TSV marker table (compartment, gene[, direction]) replacing the shipped one.",
)
@click.option(
    "--cnv-reference",
    default=None,
    help="Comma-separated normal categories (of --cnv-reference-key) used as the copy-number reference; "
    "infers CNV profiles and calls malignant cells.",
)
@click.option(
    "--cnv-reference-key",
    default="compartment",
    show_default=True,
    help="obs column holding the --cnv-reference categories.",
)
@click.option("--no-report", is_flag=True, help="Do not write the HTML report into OUT/report/.")
@handle_errors
def sc_command(  # noqa: PLR0917 - click passes every option positionally
    adata: Path,
    out: Path,
    sample_key: str | None,
    labels_key: str | None,
    layer: str | None,
    scale: str,
    resolution: float,
    min_score: float,
    no_states: bool,  # noqa: FBT001 - click passes flags positionally
    no_signatures: bool,  # noqa: FBT001
    gbm: bool,  # noqa: FBT001
    markers: Path | None,
    cnv_reference: str | None,
    cnv_reference_key: str,
    no_report: bool,  # noqa: FBT001
) -> None:
    """Single-cell TME of every sample in ADATA (.h5ad): compartments, states, composition and pseudobulk.

    Writes into OUT: features.parquet and features.tsv (tidy feature table), cells.h5ad (the cells with
    compartment labels, confidence, per-cell scores), pseudobulk.h5ad (per sample x compartment, summed counts),
    provenance.json and report/ (HTML report).
    """
    from tmescope import _keys
    from tmescope._errors import InputError
    from tmescope._provenance import Provenance, collect
    from tmescope._settings import settings
    from tmescope.genes import snapshot
    from tmescope.io import write_features
    from tmescope.sc._aggregate import pseudobulk, sc_features
    from tmescope.sc._annotate import annotate_compartments
    from tmescope.sc._input import read_cells
    from tmescope.sc._markers import read_markers
    from tmescope.sc._states import assign_gbm_states, score_states
    from tmescope.sc._write import write_cells
    from tmescope.signatures import LIBRARY_VERSION

    params = {
        "sample_key": sample_key,
        "labels_key": labels_key,
        "layer": layer,
        "scale": scale,
        "resolution": resolution,
        "min_score": min_score,
        "states": not no_states,
        "signatures": not no_signatures,
        "gbm": gbm,
        "markers": str(markers) if markers else None,
        "cnv_reference": cnv_reference,
        "cnv_reference_key": cnv_reference_key,
    }
    outputs = ("features.parquet", "features.tsv", "cells.h5ad", "pseudobulk.h5ad", "provenance.json")
    if adata.resolve() in {(out / name).resolve() for name in outputs}:
        msg = (
            f"The input '{adata}' is one of the files `tmescope sc` writes into '{out}'; choose another output folder."
        )
        raise InputError(msg)
    prov = Provenance("sc", params=params, seed=settings.seed)
    with collect(prov):
        prov.add_resource("genes", snapshot())
        prov.add_resource("signature_library", {"version": LIBRARY_VERSION})
        table = None
        if markers is not None:
            table = read_markers(markers)
            prov.add_input(markers, role="markers")
        else:
            prov.add_resource("sc_markers", "tmescope/data/sc/compartment_markers.tsv")
        cells = read_cells(adata, sample_key=sample_key, layer=layer, scale=scale)
        annotate_compartments(
            cells, labels_key=labels_key, markers=table, resolution=resolution, min_score=min_score, seed=settings.seed
        )
        if cnv_reference:
            from tmescope.sc._cnv import call_malignant, infer_cnv

            prov.add_resource("gene_positions", "tmescope/data/sc/gene_positions.parquet (GENCODE 48)")
            cats = [c.strip() for c in cnv_reference.split(",") if c.strip()]
            infer_cnv(cells, reference_key=cnv_reference_key, reference_categories=cats)
            call_malignant(cells)
        if not no_states:
            score_states(cells)
            if gbm:
                assign_gbm_states(cells)
        features = sc_features(cells, signatures=not no_signatures)
        pb = pseudobulk(cells, groupby=_keys.OBS_COMPARTMENT)
        info = cells.uns[_keys.UNS_INPUT]
        prov.notes.append(f"input matrix {info['matrix']}: {info['scale']} ({info['scale_evidence']})")
        written = [
            *write_features(features, out),
            write_cells(cells, out / "cells.h5ad"),
            write_cells(pb, out / "pseudobulk.h5ad"),
        ]
        if not no_report:
            from tmescope.report._sc import write_sc_report
            from tmescope.sc._embed import embed_cells

            embed_cells(cells, seed=settings.seed)

            written.append(write_sc_report(cells, out / "report", features=features))
    written.append(prov.write(out))
    counts = cells.obs[_keys.OBS_COMPARTMENT].value_counts()
    summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    click.echo(f"{cells.n_obs} cells in {features['sample'].nunique()} sample(s): {summary}", err=True)
    for path in written:
        click.echo(f"Wrote {path}")


COMMANDS: list[click.Command] = [sc_command]
