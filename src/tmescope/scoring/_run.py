"""Read an expression file, score gene sets in every sample and write the tables (``tmescope signatures score``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tmescope._errors import InputError
from tmescope._provenance import Provenance, atomic_path, collect

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    import pandas as pd

_UNITS = {"ssgsea": "enrichment score", "singscore": "singscore", "mean_z": "mean z-score"}
_METHOD_TEXT = {
    "ssgsea": "ssGSEA (GSVA, alpha 0.25)",
    "singscore": "singscore (Foroutan 2018)",
    "mean_z": "mean z-score of log2(x+1)",
}


def run_scoring(
    expr_path: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    names: Sequence[str] = (),
    collection: str | None = None,
    gmt: Sequence[str | os.PathLike[str]] = (),
    method: str = "ssgsea",
    normalize: bool = False,
    min_coverage: float = 0.5,
    read_options: dict[str, Any] | None = None,
) -> Path:
    """Score gene sets in every sample of an expression file; write the wide and tidy tables and provenance.

    Works on any number of genes (targeted panels included): a set with fewer than ``min_coverage`` of its genes
    measured is reported as NaN with a warning, and ``coverage.tsv`` lists every set's coverage.

    Parameters
    ----------
    expr_path
        Expression file or AnnData zarr store (any input of :func:`tmescope.io.read_expression`).
    outdir
        Output folder (created if needed).
    names, collection
        Built-in sets or collection to score (see ``tmescope signatures list``); default every built-in set, or
        only the ``gmt`` sets when those are given.
    gmt
        GMT files of your own gene sets.
    method, normalize, min_coverage
        As in :func:`tmescope.scoring.score_signatures`. Values are scored on the log2(x+1) scale of the linear
        values (counts become TPM first); ranks, and so ssGSEA and singscore, are the same as on the input's own
        log or linear scale.
    read_options
        Keywords of :func:`tmescope.io.read_expression` (with ``allow_missing``, genes missing in some sample are
        left out).

    Returns
    -------
    The output folder, holding ``scores.tsv`` (samples x sets), ``features.parquet``/``.tsv`` (tidy, features
    ``score.<set>``), ``coverage.tsv`` and ``provenance.json``.
    """
    from tmescope import signatures
    from tmescope.io import (
        as_scale,
        counts_as_tpm,
        drop_incomplete_genes,
        features_from_frame,
        read_expression,
        write_features,
    )
    from tmescope.scoring import score_signatures

    outdir = Path(outdir)
    expr_path = Path(expr_path)
    params = {
        "names": list(names),
        "collection": collection or "",
        "gmt": [str(p) for p in gmt],
        "method": method,
        "normalize": normalize,
        "min_coverage": min_coverage,
        "read_options": dict(read_options or {}),
    }
    prov = Provenance("signatures score", params=params)
    with collect(prov):
        sets = {}
        if names or collection or not gmt:
            sets.update(signatures.get_sets(list(names) or None, collection=collection))
        for path in gmt:
            sets.update(signatures.read_gmt(path))
            prov.add_input(path, role="gene sets")
        if not sets:
            msg = "No gene sets selected; check --collection and --name (see `tmescope signatures list`)."
            raise InputError(msg)
        adata = read_expression(expr_path, **(read_options or {}))
        prov.add_input(expr_path, role="expression")
        adata = counts_as_tpm(drop_incomplete_genes(adata, method="signatures score"), method="signatures score")
        adata.layers["log2p1"] = as_scale(adata, "log2p1", method="signatures score")
        result = score_signatures(
            adata,
            sets=sets,
            method=method,
            normalize=normalize,
            layer="log2p1",
            min_coverage=min_coverage,
            key_added="scores",
        )
        scores = cast("pd.DataFrame", result)  # copy=False: the scores table
        coverage = adata.uns["coverage_scores"]
        outdir.mkdir(parents=True, exist_ok=True)
        with atomic_path(outdir / "scores.tsv") as tmp:
            scores.rename_axis("sample").to_csv(tmp, sep="\t")
        with atomic_path(outdir / "coverage.tsv") as tmp:
            coverage.to_csv(tmp, sep="\t", index=False)
        label = _METHOD_TEXT[method] + (", normalised" if normalize and method == "ssgsea" else "")
        write_features(features_from_frame(scores, prefix="score", unit=_UNITS[method], method=label), outdir)
    prov.write(outdir)
    return outdir
