"""Command-line commands of the `spatial` topic: ``tmescope spatial``."""

from __future__ import annotations

from pathlib import Path

import click

from tmescope._cli._common import handle_errors


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@click.command("spatial")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--cell-type-key", default=None, help="Column with the cell type (default: detected, e.g. cell_type).")
@click.option("--slide-key", default=None, help="Column naming each cell's slide/sample (default: detected).")
@click.option("--x-key", default=None, help="x column of a cell table (default: detected).")
@click.option("--y-key", default=None, help="y column of a cell table (default: detected).")
@click.option("--unit", type=click.Choice(["um", "px"]), default=None, help="Unit of the coordinates (required).")
@click.option("--pixel-size", type=float, default=None, help="Micrometres per pixel when --unit px.")
@click.option("--tumor-types", default=None, help="Comma-separated tumour cell types (enables interface/infiltration).")
@click.option("--immune-types", default=None, help="Comma-separated immune types (default: keyword rule).")
@click.option("--cd8-types", default=None, help="Comma-separated CD8 T-cell types (default: names with 'CD8').")
@click.option(
    "--graph",
    type=click.Choice(["delaunay", "knn", "radius"]),
    default="delaunay",
    show_default=True,
    help="Neighbour graph.",
)
@click.option("--n-neighs", type=int, default=6, show_default=True, help="Neighbours per cell (kNN graph).")
@click.option("--radius", type=float, default=None, help="Radius in µm (radius graph).")
@click.option("--max-edge", type=float, default=50.0, show_default=True, help="Longest Delaunay edge kept, µm.")
@click.option("--n-perms", type=int, default=1000, show_default=True, help="Permutations of the enrichment test.")
@click.option("--n-neighborhoods", type=int, default=10, show_default=True, help="Cellular neighbourhoods.")
@click.option(
    "--cooccurrence-tile-size",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Count co-occurrence in square tiles of this many µm (with a halo; the same counts), one task per tile "
    "with --scheduler, so one large slide spreads over the workers.",
)
@click.option("--no-report", is_flag=True, help="Do not write the HTML report (OUT/report/).")
@handle_errors
def spatial_command(  # noqa: PLR0917 - click passes every option positionally
    input_path: Path,
    out: Path,
    cell_type_key: str | None,
    slide_key: str | None,
    x_key: str | None,
    y_key: str | None,
    unit: str | None,
    pixel_size: float | None,
    tumor_types: str | None,
    immune_types: str | None,
    cd8_types: str | None,
    graph: str,
    n_neighs: int,
    radius: float | None,
    max_edge: float,
    n_perms: int,
    n_neighborhoods: int,
    cooccurrence_tile_size: float | None,
    no_report: bool,  # noqa: FBT001 - click passes flags positionally
) -> None:
    """Spatial TME of every slide in INPUT (.h5ad with obsm['spatial'], or a CSV/TSV/parquet cell table).

    Builds a neighbour graph per slide, neighbourhood enrichment, co-occurrence, cellular neighbourhoods and,
    with --tumor-types, the tumour-stroma interface, immune densities, immune phenotypes and the mixing score.
    Writes into OUT: features.parquet and features.tsv, spatial.h5ad (the cells with every result),
    nhood_enrichment.tsv, infiltration.tsv (when run), report/index.html (maps, enrichment, interface and
    phenotypes; WebGL, fast for 10^6 cells) and provenance.json.
    """
    from tmescope import _keys
    from tmescope._provenance import Provenance, atomic_path, collect
    from tmescope._settings import settings
    from tmescope.io import write_features, write_h5ad
    from tmescope.spatial._input import read_spatial
    from tmescope.spatial._run import analyze_spatial

    params = {
        "cell_type_key": cell_type_key,
        "slide_key": slide_key,
        "unit": unit,
        "pixel_size": pixel_size,
        "tumor_types": _split(tumor_types),
        "immune_types": _split(immune_types),
        "cd8_types": _split(cd8_types),
        "graph": graph,
        "n_neighs": n_neighs,
        "radius": radius,
        "max_edge": max_edge,
        "n_perms": n_perms,
        "n_neighborhoods": n_neighborhoods,
        "cooccurrence_tile_size": cooccurrence_tile_size,
    }
    prov = Provenance("spatial", params=params, seed=settings.seed)
    with collect(prov):
        prov.add_input(input_path)
        adata = read_spatial(
            input_path,
            cell_type_key=cell_type_key,
            slide_key=slide_key,
            x_key=x_key,
            y_key=y_key,
            unit=unit,
            pixel_size=pixel_size,
        )
        features, timing = analyze_spatial(
            adata,
            tumor_types=_split(tumor_types),
            immune_types=_split(immune_types),
            cd8_types=_split(cd8_types),
            graph=graph,  # type: ignore[arg-type]
            n_neighs=n_neighs,
            radius=radius,
            max_edge=max_edge,
            n_perms=n_perms,
            n_neighborhoods=n_neighborhoods,
            cooccurrence_tile_size=cooccurrence_tile_size,
            seed=settings.seed,
            n_jobs=settings.n_jobs,
        )
        prov.notes.append(f"step seconds: {timing}")
        out.mkdir(parents=True, exist_ok=True)
        written = [*write_features(features, out)]
        import pandas as pd

        ne = adata.uns[_keys.UNS_NHOOD_ENRICHMENT]
        z = pd.DataFrame(ne["zscore"], index=ne["categories"], columns=ne["categories"])
        with atomic_path(out / "nhood_enrichment.tsv") as tmp:
            z.to_csv(tmp, sep="\t", float_format="%.4g")
        written.append(out / "nhood_enrichment.tsv")
        if _keys.UNS_INFILTRATION in adata.uns:
            with atomic_path(out / "infiltration.tsv") as tmp:
                adata.uns[_keys.UNS_INFILTRATION]["densities"].to_csv(tmp, sep="\t", index=False, float_format="%.6g")
            written.append(out / "infiltration.tsv")
        written.append(write_h5ad(adata, out / "spatial.h5ad"))
        if not no_report:
            from tmescope.report._spatial import write_spatial_report

            written.append(write_spatial_report(adata, out / "report", seed=settings.seed))
    written.append(prov.write(out))
    info = adata.uns[_keys.UNS_SPATIAL_INPUT]
    click.echo(
        f"{adata.n_obs} cells on {len(info['slides'])} slide(s), {adata.obs['cell_type'].nunique()} types", err=True
    )
    for path in written:
        click.echo(f"Wrote {path}")


COMMANDS: list[click.Command] = [spatial_command]
