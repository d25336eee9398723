"""Command-line commands of the `composition` topic: ``tmescope composition EXPR -o OUT``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tmescope._cli._common import handle_errors, reader_options


def write_composition(
    expr: Path,
    out: Path,
    *,
    method: str = "epic",
    reference: str = "til10",
    n_boot: int = 200,
    ci: float = 0.95,
    read_options: dict[str, Any] | None = None,
    seed: int | None = None,
    n_jobs: int | None = None,
) -> list[Path]:
    """Read EXPR, run ESTIMATE, MCP-counter and the deconvolution, and write the outputs into OUT.

    ``read_options`` are keywords of :func:`tmescope.io.read_expression` (e.g. ``{"scale": "log2(x+1)"}``).
    """
    import numpy as np
    import pandas as pd

    from tmescope import _keys
    from tmescope._provenance import Provenance, collect
    from tmescope._settings import settings
    from tmescope.bulk import deconvolve, estimate, mcp_counter
    from tmescope.io import (
        counts_as_tpm,
        drop_incomplete_genes,
        features_from_frame,
        normalize_features,
        read_expression,
        write_features,
        write_h5ad,
    )

    seed = settings.seed if seed is None else int(seed)
    prov = Provenance(
        "composition",
        params={
            "method": method,
            "reference": reference,
            "n_boot": n_boot,
            "ci": ci,
            "read_options": dict(read_options or {}),
        },
        seed=seed,
    )
    with collect(prov):
        adata = read_expression(expr, **(read_options or {}))
        adata = counts_as_tpm(drop_incomplete_genes(adata, method="composition"), method="composition")
        prov.add_input(expr, role="expression")
        out.mkdir(parents=True, exist_ok=True)
        est = estimate(adata)
        note = adata.uns["estimate"]["purity_note"]
        est_flag = pd.DataFrame("", index=est.index, columns=est.columns)
        if note.startswith("approximate"):
            est_flag["purity"] = "approximate_purity_non_affymetrix"
        parts = [
            features_from_frame(
                est, prefix="estimate", unit="ESTIMATE score", method="ESTIMATE 1.0.13 (Yoshihara 2013)", flag=est_flag
            )
        ]
        mcp = mcp_counter(adata)
        parts.append(
            features_from_frame(
                mcp, prefix="abundance", unit="mean log2(TPM+1) of markers", method="MCP-counter markers"
            )
        )
        fr = deconvolve(adata, method=method, reference=reference, n_boot=n_boot, ci=ci, seed=seed, n_jobs=n_jobs)
        flags = adata.obs[_keys.OBS_FIT_FLAG].astype(str).to_numpy()
        flag = pd.DataFrame(np.repeat(flags[:, None], fr.shape[1], axis=1), index=fr.index, columns=fr.columns)
        parts.append(
            features_from_frame(
                fr,
                prefix="composition",
                unit="fraction of cells",
                method=f"{method}/{reference}, {n_boot} bootstrap, {ci:.0%} interval",
                ci_low=adata.obsm[_keys.OBSM_FRACTIONS_LOW],
                ci_high=adata.obsm[_keys.OBSM_FRACTIONS_HIGH],
                flag=flag,
            )
        )
        fit = adata.obs[[_keys.OBS_FIT]].rename(columns={_keys.OBS_FIT: "fit"})
        parts.append(features_from_frame(fit, prefix="composition", unit="Pearson r", method=f"{method}/{reference}"))
        features = normalize_features(pd.concat(parts, ignore_index=True))
        written = [write_h5ad(adata, out / "composition.h5ad"), *write_features(features, out)]
    prov.write(out)
    return [*written, out / "provenance.json"]


@click.command("composition")
@click.argument("expr", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option(
    "--method",
    type=click.Choice(["epic", "nnls", "svr"]),
    default="epic",
    show_default=True,
    help="Deconvolution fit: EPIC-like constrained least squares, NNLS, or CIBERSORT-like nu-SVR.",
)
@click.option(
    "--reference",
    type=click.Choice(["til10", "safetme"]),
    default="til10",
    show_default=True,
    help="Shipped reference: quanTIseq TIL10 (10 immune types) or safeTME (18 immune and stromal types).",
)
@click.option("--n-boot", type=click.IntRange(min=0), default=200, show_default=True, help="Bootstrap replicates.")
@click.option("--ci", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95, show_default=True)
@reader_options
@handle_errors
def composition_command(  # noqa: PLR0917 - click passes every option positionally
    expr: Path, out: Path, method: str, reference: str, n_boot: int, ci: float, read_options: dict[str, Any]
) -> None:
    """Bulk TME composition of every sample in EXPR: ESTIMATE, MCP-counter abundance and cell fractions.

    Writes OUT/composition.h5ad, OUT/features.parquet and .tsv (one row per sample and feature, with
    intervals and flags) and OUT/provenance.json.
    """
    written = write_composition(
        expr,
        out,
        method=method,
        reference=reference,
        n_boot=n_boot,
        ci=ci,
        read_options=read_options,
    )
    click.echo("Wrote " + ", ".join(str(p) for p in written))


COMMANDS: list[click.Command] = [composition_command]
