"""Command-line commands of the `crosstalk` topic: ``tmescope crosstalk``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tmescope._cli._common import handle_errors


@click.command("crosstalk")
@click.argument("adata", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--groupby", default="compartment", show_default=True, help="obs column with the cell groups.")
@click.option("--sample-key", default=None, help="obs column naming each cell's sample (default: one sample).")
@click.option("--layer", default=None, help="Layer with log-normalised values, 'raw' for adata.raw; default X.")
@click.option("--n-perms", type=click.IntRange(min=1), default=1000, show_default=True, help="Label permutations.")
@click.option("--expr-prop", type=click.FloatRange(0, 1), default=0.1, show_default=True, help="Min. share expressing.")
@click.option("--min-cells", type=click.IntRange(min=1), default=5, show_default=True, help="Min. cells per group.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True), default=0.05, show_default=True, help="FDR cut.")
@click.option("--spatial", is_flag=True, help="Also restrict pairs to nearby cells (needs obsm['spatial']).")
@click.option(
    "--radius", type=float, default=None, help="With --spatial: max. sender-receiver distance (coordinate units)."
)
@click.option("--n-neighbors", type=int, default=10, show_default=True, help="With --spatial and no --radius: k-NN.")
@click.option("--no-h5ad", is_flag=True, help="Do not write cells.h5ad (the input with results), only tables.")
@handle_errors
def crosstalk_command(  # noqa: PLR0917 - click passes every option positionally
    adata: Path,
    out: Path,
    groupby: str,
    sample_key: str | None,
    layer: str | None,
    n_perms: int,
    expr_prop: float,
    min_cells: int,
    alpha: float,
    spatial: bool,  # noqa: FBT001 - click passes flags positionally
    radius: float | None,
    n_neighbors: int,
    no_h5ad: bool,  # noqa: FBT001
) -> None:
    """Ligand–receptor crosstalk between the cell groups of every sample in ADATA (.h5ad).

    Writes into OUT: features.parquet and features.tsv (TME channel groups per sample), interactions.parquet
    and interactions.tsv (every sender x receiver x pair tested), channels.tsv (per-sample channel summary),
    cells.h5ad (the input with the results in uns) and provenance.json. With --spatial also
    interactions_spatial.parquet/.tsv and spatial features.
    """
    import warnings

    import anndata as ad
    import pandas as pd

    from tmescope import _keys
    from tmescope._errors import InputError
    from tmescope._provenance import Provenance, atomic_path, collect
    from tmescope._settings import settings
    from tmescope.crosstalk import (
        RESOURCE_VERSION,
        channel_summary,
        crosstalk_features,
        infer_crosstalk,
        spatial_crosstalk,
    )
    from tmescope.io import write_features, write_h5ad

    params = {
        "groupby": groupby,
        "sample_key": sample_key,
        "layer": layer,
        "n_perms": n_perms,
        "expr_prop": expr_prop,
        "min_cells": min_cells,
        "alpha": alpha,
        "spatial": spatial,
        "radius": radius,
        "n_neighbors": n_neighbors,
    }
    if not adata.is_file():
        msg = f"No file at '{adata}'; give the path of an .h5ad file (cells x genes)."
        raise InputError(msg)
    prov = Provenance("crosstalk", params=params, seed=settings.seed)
    written: list[Path] = []
    with collect(prov):
        prov.add_input(adata)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # old files: anndata moves keys on read
                cells = ad.read_h5ad(adata)
        except OSError as exc:
            msg = f"Could not read '{adata}' as .h5ad ({exc}); is the file complete and written by AnnData?"
            raise InputError(msg) from exc
        prov.add_resource("lr_resource", RESOURCE_VERSION)
        common: dict[str, Any] = {"groupby": groupby, "sample_key": sample_key, "layer": layer, "expr_prop": expr_prop}
        common |= {"min_cells": min_cells, "n_perms": n_perms, "seed": settings.seed, "n_jobs": settings.n_jobs}
        infer_crosstalk(cells, **common)
        features = [crosstalk_features(cells, alpha=alpha)]
        tables = {"interactions": cells.uns[_keys.UNS_CROSSTALK]["results"]}
        summary = [channel_summary(tables["interactions"], alpha=alpha).assign(mode="all_cells")]
        if spatial:
            spatial_crosstalk(cells, radius=radius, n_neighbors=n_neighbors, **common)
            tables["interactions_spatial"] = cells.uns[_keys.UNS_CROSSTALK_SPATIAL]["results"]
            spatial_features = crosstalk_features(cells, key=_keys.UNS_CROSSTALK_SPATIAL, alpha=alpha)
            spatial_features["feature"] = spatial_features["feature"].str.replace(
                "crosstalk.", "crosstalk.spatial_", n=1, regex=False
            )
            features.append(spatial_features)
            summary.append(channel_summary(tables["interactions_spatial"], alpha=alpha).assign(mode="spatial"))
        written += write_features(pd.concat(features, ignore_index=True), out)
        for name, table in tables.items():
            for suffix in (".parquet", ".tsv"):
                with atomic_path(out / f"{name}{suffix}") as tmp:
                    if suffix == ".parquet":
                        table.to_parquet(tmp, index=False)
                    else:
                        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
                written.append(out / f"{name}{suffix}")
        with atomic_path(out / "channels.tsv") as tmp:
            pd.concat(summary, ignore_index=True).to_csv(tmp, sep="\t", index=False, float_format="%.6g")
        written.append(out / "channels.tsv")
        if not no_h5ad:
            written.append(write_h5ad(cells, out / "cells.h5ad"))
    written.append(prov.write(out))
    res = tables["interactions"]
    n_sig = int((res["fdr"] <= alpha).sum())
    click.echo(
        f"{res['sample'].nunique()} sample(s), {len(res)} sender x receiver x pair rows tested, "
        f"{n_sig} with FDR <= {alpha}",
        err=True,
    )
    for path in written:
        click.echo(f"Wrote {path}")


COMMANDS: list[click.Command] = [crosstalk_command]
