"""Copy-number inference from expression (windowed, reference-centred) and malignant-cell calls.

The method follows inferCNV (Patel 2014, Tirosh 2016; Broad inferCNV) as implemented by infercnvpy: genes are
ordered by genomic position; each gene's log expression is centred on the reference (normal) cells; values are
clipped; a running mean over ``window`` genes is taken per chromosome; each cell is centred on its median and
small values are set to zero (denoising). The per-cell CNV score is the mean absolute value of that profile.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmescope import _keys
from tmescope._errors import CoverageWarning, InputError, MissingKeyError
from tmescope._logging import warn
from tmescope._registry import register

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anndata import AnnData

CHROMOSOMES = tuple([f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"])
_CHUNK = 4096


@functools.cache
def gene_positions() -> pd.DataFrame:
    """The shipped GENCODE 48 gene coordinates: approved HGNC symbol -> ``chrom``, ``start``, ``end`` (1-based, bp).

    Built by ``scripts/build_gene_positions.py``; see ``tmescope/data/sc/SOURCE.md``.

    Returns
    -------
    pandas.DataFrame
        Indexed by symbol, columns ``chrom`` (ordered categorical chr1…chr22, chrX, chrY), ``start``, ``end``.

    Examples
    --------
    >>> pos = gene_positions()
    >>> pos.loc["TP53", "chrom"]
    'chr17'
    """
    import pyarrow.parquet as pq

    with resources.as_file(resources.files("tmescope") / "data" / "sc" / "gene_positions.parquet") as path:
        table = pq.read_table(path).to_pandas()
    table["chrom"] = pd.Categorical(table["chrom"].astype(str), categories=list(CHROMOSOMES), ordered=True)
    return table.set_index("symbol")


def _running_mean(x: np.ndarray, window: int, step: int) -> np.ndarray:
    """Running mean over columns of ``x`` (cells x genes of one chromosome), every ``step``-th window."""
    n = x.shape[1]
    w = min(window, n)
    csum = np.cumsum(np.pad(x, ((0, 0), (1, 0))), axis=1, dtype=np.float64)
    starts = np.arange(0, n - w + 1, step)
    return ((csum[:, starts + w] - csum[:, starts]) / w).astype(np.float32)


def cnv_kernel(
    x: Any,
    *,
    chrom_codes: np.ndarray,
    reference_means: np.ndarray,
    window: int = 100,
    step: int = 10,
    lfc_clip: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed, reference-centred copy-number profile of every cell (before the per-matrix denoising).

    Parameters
    ----------
    x
        Cells x genes (dense or sparse) log expression, genes already ordered by genomic position.
    chrom_codes
        Chromosome code of every gene (non-decreasing).
    reference_means
        Reference categories x genes: mean log expression of each reference category. A value above the largest
        category mean is centred on that mean, below the smallest on that one, and in between is 0 (infercnvpy).
    window, step, lfc_clip
        Genes per running-mean window, genes between window starts, clip of centred values.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Cells x windows profile (each cell centred on its median) and the chromosome code of each window.
    """
    lo = reference_means.min(axis=0)
    hi = reference_means.max(axis=0)
    bounds = np.flatnonzero(np.diff(chrom_codes)) + 1
    segments = np.split(np.arange(len(chrom_codes)), bounds)
    blocks = []
    for start in range(0, x.shape[0], _CHUNK):
        chunk = x[start : start + _CHUNK]
        dense = np.asarray(chunk.toarray() if sp.issparse(chunk) else chunk, dtype=np.float32)
        centred = np.where(dense > hi, dense - hi, np.where(dense < lo, dense - lo, 0.0)).astype(np.float32)
        np.clip(centred, -lfc_clip, lfc_clip, out=centred)
        smoothed = np.concatenate([_running_mean(centred[:, seg], window, step) for seg in segments], axis=1)
        smoothed -= np.median(smoothed, axis=1, keepdims=True)
        blocks.append(smoothed)
    codes = np.concatenate(
        [np.full(len(range(0, len(seg) - min(window, len(seg)) + 1, step)), chrom_codes[seg[0]]) for seg in segments]
    )
    return np.concatenate(blocks, axis=0), codes


def _denoise(cnv: np.ndarray, threshold: float) -> None:
    cnv[np.abs(cnv) < threshold] = 0.0


def _ordered_genes(
    var_names: pd.Index, positions: pd.DataFrame, exclude: Sequence[str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Column indices of the positioned genes, in genomic order, and their positions."""
    pos = positions[~positions.index.duplicated()]
    keep = [g for g in var_names if g in pos.index]
    table = pos.loc[keep, ["chrom", "start", "end"]].copy()
    table["chrom"] = table["chrom"].astype(str)
    table = table[~table["chrom"].isin(list(exclude))]
    order = {c: i for i, c in enumerate(CHROMOSOMES)}
    extra = sorted(set(table["chrom"]) - set(order))
    order.update({c: len(CHROMOSOMES) + i for i, c in enumerate(extra)})
    table["code"] = table["chrom"].map(order)
    table = table.sort_values(["code", "start", "end"], kind="stable")
    cols = var_names.get_indexer(table.index)
    return cols, table


@register(
    name="windowed_cnv",
    topic="sc",
    modality="single-cell",
    citation="Patel 2014, Tirosh 2016 (inferCNV, Broad Institute); window/centring rules as in infercnvpy",
    scale="log-normalised (ln(counts per 10k + 1))",
)
def infer_cnv(
    adata: AnnData,
    *,
    reference_key: str,
    reference_categories: Sequence[str] | str,
    window: int = 100,
    step: int = 10,
    lfc_clip: float = 3.0,
    dynamic_threshold: float = 1.5,
    exclude_chromosomes: Sequence[str] = ("chrX", "chrY"),
    gene_positions_table: pd.DataFrame | None = None,
    layer: str | None = None,
    min_genes_per_chromosome: int = 5,
) -> None:
    """Infer a copy-number profile and CNV score for every cell, relative to normal reference cells.

    Genes are ordered by genomic position (GENCODE 48, :func:`gene_positions`, or your table); each gene's
    log expression is centred on the reference cells (per reference category: above the highest category mean
    the excess over it, below the lowest the deficit, 0 in between), clipped at ``±lfc_clip``, averaged over a
    running window of ``window`` genes per chromosome (one window every ``step`` genes), centred on each cell's
    median, and values smaller than ``dynamic_threshold`` standard deviations of the whole matrix are set to 0.
    The CNV score of a cell is the mean absolute value of its profile.

    Parameters
    ----------
    adata
        Cells x genes with log-normalised expression in ``X`` (as written by :func:`prepare_cells`) and HGNC
        symbols as ``var_names``.
    reference_key
        ``obs`` column holding the reference (normal) categories, e.g. ``"compartment"``.
    reference_categories
        Values of ``reference_key`` whose cells are normal (e.g. immune and stromal compartments).
    window, step
        Genes per running-mean window and genes between consecutive windows.
    lfc_clip
        Centred log expression is clipped to ``[-lfc_clip, lfc_clip]``.
    dynamic_threshold
        Denoising: values below this many standard deviations (of the whole profile matrix) become 0.
    exclude_chromosomes
        Chromosomes left out (sex chromosomes by default, as infercnvpy).
    gene_positions_table
        Your own ``symbol``-indexed table with ``chrom``, ``start``, ``end``; default the shipped GENCODE 48 table.
    layer
        Layer with log-normalised expression instead of ``X``.
    min_genes_per_chromosome
        Chromosomes with fewer positioned genes are left out.

    Returns
    -------
    None
        Writes ``obsm["X_cnv"]`` (cells x windows), ``obs["cnv_score"]`` and ``uns["cnv"]`` (``chr_pos``: first
        window of each chromosome; ``windows``: chromosome, first and last gene of each window; ``params``;
        ``reference``; ``n_genes``; ``noise_threshold``; ``reference_cv_scores`` for :func:`call_malignant`).

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> pos = gene_positions()
    >>> genes = pos.index[pos["chrom"].isin(["chr1", "chr2"])][:400]
    >>> rng = np.random.default_rng(0)
    >>> x = rng.poisson(2.0, size=(60, 400)).astype(np.float32)
    >>> x[:30, :200] *= 3  # a gain of the first 200 genes in 30 cells
    >>> cells = ad.AnnData(np.log1p(x), obs=pd.DataFrame({"kind": ["tumour"] * 30 + ["normal"] * 30}, index=[f"c{i}" for i in range(60)]))
    >>> cells.var_names = list(genes)
    >>> infer_cnv(cells, reference_key="kind", reference_categories=["normal"], window=50)
    >>> bool(cells.obs["cnv_score"][:30].mean() > 2 * cells.obs["cnv_score"][30:].mean())
    True
    """
    if reference_key not in adata.obs:
        msg = (
            f"Reference column {reference_key!r} not in adata.obs; pass the obs column holding the normal "
            f"categories (e.g. 'compartment' after tmescope.sc.annotate_compartments). Columns: "
            f"{', '.join(map(str, adata.obs.columns[:12]))}."
        )
        raise MissingKeyError(msg)
    cats = [reference_categories] if isinstance(reference_categories, str) else list(reference_categories)
    labels = adata.obs[reference_key].astype(str).to_numpy()
    missing = [c for c in cats if c not in set(labels)]
    present = [c for c in cats if c in set(labels)]
    if not present:
        msg = (
            f"None of the reference categories {cats} occurs in obs[{reference_key!r}] "
            f"(values: {', '.join(sorted(set(labels))[:12])}); name normal cell types present in the data."
        )
        raise InputError(msg)
    if missing:
        warn(f"Reference categories not found in obs[{reference_key!r}] and ignored: {', '.join(missing)}.")
    if window < 1 or step < 1:
        msg = f"window and step must be positive integers; got window={window}, step={step}."
        raise InputError(msg)
    ref = np.isin(labels, present)
    if ref.sum() < 2:
        msg = f"Only {int(ref.sum())} reference cell(s) in obs[{reference_key!r}]; at least 2 are needed."
        raise InputError(msg)
    positions = gene_positions() if gene_positions_table is None else gene_positions_table
    cols, table = _ordered_genes(adata.var_names, positions, exclude_chromosomes)
    counts = table["chrom"].value_counts()
    small = counts[counts < min_genes_per_chromosome].index
    table = table[~table["chrom"].isin(small)]
    cols = adata.var_names.get_indexer(table.index)
    if len(cols) < window:
        msg = (
            f"Only {len(cols)} of {adata.n_vars} genes have a genomic position (GENCODE 48 symbols, chromosomes "
            f"other than {', '.join(exclude_chromosomes)}); CNV inference needs at least window={window}. Use "
            "HGNC symbols as var_names (tmescope.sc.prepare_cells maps them) or pass gene_positions_table=."
        )
        raise InputError(msg)
    if len(cols) < 0.5 * adata.n_vars:
        warn(
            f"Only {len(cols)} of {adata.n_vars} genes have a genomic position; the CNV profile uses those.",
            CoverageWarning,
        )
    x = adata.layers[layer] if layer is not None else adata.X
    x = x[:, cols]
    codes = table["code"].to_numpy()
    ref_codes = [c for c in present if (labels == c).any()]
    means = np.vstack([np.asarray(x[labels == c].mean(axis=0), dtype=np.float64).ravel() for c in ref_codes])
    cnv, wcodes = cnv_kernel(x, chrom_codes=codes, reference_means=means, window=window, step=step, lfc_clip=lfc_clip)
    noise = float(dynamic_threshold * cnv.std())
    _denoise(cnv, noise)
    score = np.abs(cnv).mean(axis=1)
    cv_scores = _reference_cv_scores(
        x, labels, ref, ref_codes, codes=codes, window=window, step=step, lfc_clip=lfc_clip, noise=noise
    )
    adata.obsm[_keys.OBSM_CNV] = cnv
    adata.obs[_keys.OBS_CNV_SCORE] = score.astype(np.float64)
    chrom_names = table.groupby("code", sort=True)["chrom"].first()
    wchrom = chrom_names.loc[wcodes].to_numpy().astype(str)
    first = {c: int(np.flatnonzero(wchrom == c)[0]) for c in dict.fromkeys(wchrom)}
    adata.uns[_keys.UNS_CNV] = {
        "chr_pos": first,
        "window_chrom": wchrom,
        "params": {
            "reference_key": reference_key,
            "reference_categories": present,
            "window": int(window),
            "step": int(step),
            "lfc_clip": float(lfc_clip),
            "dynamic_threshold": float(dynamic_threshold),
            "exclude_chromosomes": list(exclude_chromosomes),
            "gene_positions": "GENCODE 48 (tmescope/data/sc/gene_positions.parquet)"
            if gene_positions_table is None
            else "user table",
        },
        "n_genes": len(cols),
        "n_reference_cells": int(ref.sum()),
        "noise_threshold": noise,
        "reference_cv_scores": cv_scores,
    }


def _reference_cv_scores(
    x: Any,
    labels: np.ndarray,
    ref: np.ndarray,
    ref_codes: list[str],
    *,
    codes: np.ndarray,
    window: int,
    step: int,
    lfc_clip: float,
    noise: float,
) -> np.ndarray:
    """CNV scores of the reference cells, each half scored against the other half (2-fold cross-fitting).

    A reference cell's own score is biased low (it helped define the centre); scoring it against the other half
    gives the scores a normal cell that is *not* in the reference would get. The halves alternate along each
    category's cells in their input order, so the result needs no random numbers.
    """
    idx = np.flatnonzero(ref)
    fold = np.zeros(len(labels), dtype=np.int8)
    for c in ref_codes:
        members = np.flatnonzero(labels == c)
        fold[members[1::2]] = 1
    out = np.empty(len(idx), dtype=np.float64)
    for f in (0, 1):
        train = ref & (fold != f)
        test = ref & (fold == f)
        cats = [c for c in ref_codes if (train & (labels == c)).any()]
        if not test.any() or not cats:
            continue
        means = np.vstack([np.asarray(x[train & (labels == c)].mean(axis=0), dtype=np.float64).ravel() for c in cats])
        cnv, _ = cnv_kernel(
            x[test], chrom_codes=codes, reference_means=means, window=window, step=step, lfc_clip=lfc_clip
        )
        _denoise(cnv, noise)
        out[np.searchsorted(idx, np.flatnonzero(test))] = np.abs(cnv).mean(axis=1)
    return out


def call_malignant(
    adata: AnnData,
    *,
    quantile: float = 0.99,
    margin: float = 1.0,
    key_added: str = _keys.OBS_CNV_CALL,
) -> pd.DataFrame:
    """Call each cell malignant or normal from its CNV score (after :func:`infer_cnv`).

    The threshold is calibrated on the reference cells, scored without themselves: each half of the reference is
    scored against the other half (``uns["cnv"]["reference_cv_scores"]``), and a cell whose CNV score exceeds
    ``margin`` x the ``quantile`` of those scores is called ``malignant``. Reference cells are ``reference``,
    other cells ``normal``. At the defaults about 1 % of normal cells outside the reference are expected above
    the threshold.

    Parameters
    ----------
    adata
        Cells after :func:`infer_cnv`.
    quantile
        Quantile of the cross-fitted reference scores used as the threshold.
    margin
        Factor on that quantile (raise it to call fewer, clearer malignant cells).
    key_added
        ``obs`` column written.

    Returns
    -------
    pandas.DataFrame
        One row per call (``malignant``, ``normal``, ``reference``): ``n_cells`` and ``mean_cnv_score``. Writes
        ``obs[key_added]`` (categorical) and ``uns["cnv"]["threshold"]``.

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> pos = gene_positions()
    >>> genes = pos.index[pos["chrom"].isin(["chr1", "chr2"])][:400]
    >>> rng = np.random.default_rng(0)
    >>> x = rng.poisson(2.0, size=(60, 400)).astype(np.float32)
    >>> x[:20, :200] *= 3
    >>> cells = ad.AnnData(np.log1p(x), obs=pd.DataFrame({"kind": ["tumour"] * 30 + ["normal"] * 30}, index=[f"c{i}" for i in range(60)]))
    >>> cells.var_names = list(genes)
    >>> infer_cnv(cells, reference_key="kind", reference_categories=["normal"], window=50)
    >>> call_malignant(cells)["n_cells"].to_dict()
    {'malignant': 20, 'normal': 10, 'reference': 30}
    """
    if _keys.UNS_CNV not in adata.uns or _keys.OBS_CNV_SCORE not in adata.obs:
        msg = "No CNV scores in adata; run tmescope.sc.infer_cnv(adata, reference_key=..., reference_categories=...) first."
        raise MissingKeyError(msg)
    if not 0 < quantile <= 1 or margin <= 0:
        msg = f"quantile must be in (0, 1] and margin > 0; got quantile={quantile}, margin={margin}."
        raise InputError(msg)
    info = adata.uns[_keys.UNS_CNV]
    params = info["params"]
    cv = np.asarray(info["reference_cv_scores"], dtype=np.float64)
    threshold = float(margin * np.quantile(cv, quantile))
    labels = adata.obs[params["reference_key"]].astype(str).to_numpy()
    ref = np.isin(labels, list(params["reference_categories"]))
    score = adata.obs[_keys.OBS_CNV_SCORE].to_numpy()
    call = np.where(ref, "reference", np.where(score > threshold, "malignant", "normal"))
    adata.obs[key_added] = pd.Categorical(call, categories=["malignant", "normal", "reference"])
    info["threshold"] = threshold
    info["call_params"] = {"quantile": float(quantile), "margin": float(margin), "key_added": key_added}
    frame = pd.DataFrame({"call": call, "score": score})
    out = frame.groupby("call").agg(n_cells=("score", "size"), mean_cnv_score=("score", "mean"))
    return out.reindex(["malignant", "normal", "reference"]).fillna({"n_cells": 0}).astype({"n_cells": int})
