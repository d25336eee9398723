"""Ligand–receptor crosstalk between cell groups: CellPhoneDB-style permutation test plus a consensus rank."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmescope import _keys
from tmescope._errors import InputError, InputTypeError, MissingKeyError
from tmescope._execution import map_chunks
from tmescope._logging import warn
from tmescope._registry import register
from tmescope._settings import settings
from tmescope.crosstalk._kernels import group_stats, permutation_pvalues
from tmescope.crosstalk._rank import bh_fdr, consensus_ranks
from tmescope.crosstalk._resource import RESOURCE_VERSION, Entities, check_resource, load_resource, map_entities

if TYPE_CHECKING:
    from anndata import AnnData

#: Columns of the per-interaction result table, in order.
RESULT_COLUMNS = (
    "sample",
    "source",
    "target",
    "ligand",
    "receptor",
    "ligand_means",
    "receptor_means",
    "ligand_props",
    "receptor_props",
    "lr_means",
    "pvalue",
    "fdr",
    "expr_prod",
    "spec_weight",
    "lr_logfc",
    "scaled_weight",
    "lrscore",
    "magnitude_rank",
    "specificity_rank",
    "specificity_fdr",
    "channel",
    "sources",
)


def expression_matrix(adata: AnnData, layer: str | None) -> tuple[Any, pd.Index]:
    """The expression matrix to use (``layer``, ``"raw"`` for ``adata.raw`` or ``X``) and its gene names."""
    if layer is None:
        return adata.X, adata.var_names
    if layer == "raw":
        if adata.raw is None:
            msg = "layer='raw' asks for adata.raw, but this AnnData has no .raw; pass layer=None or a layer name."
            raise MissingKeyError(msg)
        return adata.raw.X, adata.raw.var_names
    if layer not in adata.layers:
        msg = f"Layer {layer!r} not in adata.layers (has {list(adata.layers)}); pass one of them, 'raw' or None."
        raise MissingKeyError(msg)
    return adata.layers[layer], adata.var_names


def gene_matrix(x: Any, var_names: pd.Index, genes: list[str]) -> sp.csr_matrix:
    """CSR matrix (float32 or float64) of ``genes`` in that order; checks values are non-negative and finite."""
    pos = pd.Index(var_names).get_indexer(genes)
    sub = x[:, pos] if sp.issparse(x) else np.asarray(x)[:, pos]
    dtype = sub.dtype if sub.dtype in (np.float32, np.float64) else np.float64
    sub = sp.csr_matrix(sub, dtype=dtype)
    sub.eliminate_zeros()
    bad = ~np.isfinite(sub.data)
    if bad.any():
        msg = "Expression has NaN or infinite values; set them to 0 or remove the cells before crosstalk."
        raise InputError(msg)
    if sub.data.size and sub.data.min() < 0:
        gene = genes[int(sub.indices[np.argmin(sub.data)])]
        msg = (
            f"Expression has negative values (e.g. gene {gene}): it looks scaled or centred. Crosstalk needs "
            "non-negative log-normalised expression; pass layer='raw' (adata.raw) or the layer holding log1p values."
        )
        raise InputError(msg)
    if sub.data.size and sub.data.max() > 50:
        warn(
            f"Expression reaches {sub.data.max():.0f}: crosstalk expects log-normalised values (e.g. log1p of "
            "normalised counts); raw counts give means dominated by a few cells."
        )
    return sub


@dataclass
class _Groups:
    codes: np.ndarray  # per kept cell
    rows: np.ndarray  # row indices of kept cells in the matrix
    names: list[str]


def _groups(labels: pd.Series, rows: np.ndarray, min_cells: int, sample: str) -> _Groups:
    sub = labels.iloc[rows]
    counts = sub.value_counts()
    kept = sorted(str(k) for k, v in counts.items() if v >= min_cells)
    dropped = sorted(str(k) for k, v in counts.items() if 0 < v < min_cells)
    if dropped:
        warn(f"Sample {sample}: groups with fewer than {min_cells} cells left out of crosstalk: {', '.join(dropped)}.")
    pos = {k: i for i, k in enumerate(kept)}
    codes = sub.astype(str).map(pos)
    ok = codes.notna().to_numpy() & sub.notna().to_numpy()
    return _Groups(codes=codes[ok].to_numpy(np.int32), rows=rows[ok], names=kept)


def _score_sample(
    x: sp.csr_matrix,
    groups: _Groups,
    ent: Entities,
    *,
    mat_mean: float,
    expr_prop: float,
    n_perms: int,
    seed: np.random.SeedSequence,
    n_jobs: int,
    permutations: np.ndarray | None = None,
) -> pd.DataFrame:
    n_groups = len(groups.names)
    codes = groups.codes
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    sums, sq, nnz, lin = group_stats(x, codes, n_groups)
    means = sums / counts[:, None]
    props = nnz / counts[:, None]
    n = counts.sum()
    mu = sums.sum(0) / n
    var = (sq.sum(0) - n * mu**2) / max(n - 1, 1)
    sd = np.sqrt(np.clip(var, 0, None))
    z = np.divide(means - mu, sd, out=np.zeros_like(means), where=sd > 0)
    lin_rest = (lin.sum(0)[None, :] - lin) / np.maximum(n - counts, 1)[:, None]
    logfc = np.log2(lin / counts[:, None] + 1) - np.log2(lin_rest + 1)

    sub = ent.subunits
    valid = sub >= 0
    gene_means = np.where(valid[None], means[:, np.where(valid, sub, 0)], np.inf)  # groups x entities x subunits
    pick = np.take_along_axis(sub[None].repeat(n_groups, 0), gene_means.argmin(2)[..., None], 2)[..., 0]
    e_mean = np.take_along_axis(means, pick, 1)
    e_prop = np.where(valid[None], props[:, np.where(valid, sub, 0)], np.inf).min(2)
    e_z = np.take_along_axis(z, pick, 1)
    e_fc = np.take_along_axis(logfc, pick, 1)

    n_pairs = len(ent.table)
    src = np.repeat(np.arange(n_groups), n_groups * n_pairs)
    tgt = np.tile(np.repeat(np.arange(n_groups), n_pairs), n_groups)
    pair = np.tile(np.arange(n_pairs), n_groups * n_groups)
    lig, rec = ent.ligand[pair], ent.receptor[pair]
    keep = (e_prop[src, lig] >= expr_prop) & (e_prop[tgt, rec] >= expr_prop)
    src, tgt, pair, lig, rec = src[keep], tgt[keep], pair[keep], lig[keep], rec[keep]

    score, pvals = permutation_pvalues(
        x,
        codes,
        n_groups,
        sub,
        src,
        tgt,
        lig,
        rec,
        n_perms=n_perms,
        seed=seed,
        n_jobs=n_jobs,
        permutations=permutations,
    )
    lm, rm = e_mean[src, lig], e_mean[tgt, rec]
    lsum, rsum = e_mean.sum(0), e_mean.sum(0)
    names = np.asarray(groups.names, dtype=object)
    lr_sqrt = np.sqrt(lm * rm)
    table = pd.DataFrame(
        {
            "source": names[src],
            "target": names[tgt],
            "ligand": ent.table["ligand"].to_numpy()[pair],
            "receptor": ent.table["receptor"].to_numpy()[pair],
            "ligand_means": lm,
            "receptor_means": rm,
            "ligand_props": e_prop[src, lig],
            "receptor_props": e_prop[tgt, rec],
            "lr_means": score,
            "pvalue": pvals,
            "fdr": bh_fdr(pvals),
            "expr_prod": lm * rm,
            "spec_weight": np.divide(lm, lsum[lig], out=np.zeros_like(lm), where=lsum[lig] > 0)
            * np.divide(rm, rsum[rec], out=np.zeros_like(rm), where=rsum[rec] > 0),
            "lr_logfc": 0.5 * (e_fc[src, lig] + e_fc[tgt, rec]),
            "scaled_weight": 0.5 * (e_z[src, lig] + e_z[tgt, rec]),
            "lrscore": lr_sqrt / (lr_sqrt + mat_mean) if mat_mean > 0 else np.ones_like(lr_sqrt),
            "channel": ent.table["channel"].to_numpy()[pair],
            "sources": ent.table["sources"].to_numpy()[pair],
        }
    )
    return consensus_ranks(table)


def _score_chunk(args: tuple[Any, ...]) -> pd.DataFrame:
    """One sample's table (chunk function of :func:`infer_crosstalk`)."""
    sample, xs, groups, ent, mat_mean, expr_prop, n_perms, child, n_jobs = args
    t = _score_sample(
        xs, groups, ent, mat_mean=mat_mean, expr_prop=expr_prop, n_perms=n_perms, seed=child, n_jobs=n_jobs
    )
    t.insert(0, "sample", sample)
    return t


def _sample_rows(adata: AnnData, sample_key: str | None) -> list[tuple[str, np.ndarray]]:
    if sample_key is None:
        return [("all", np.arange(adata.n_obs))]
    if sample_key not in adata.obs.columns:
        msg = f"Column {sample_key!r} not in adata.obs (columns: {list(adata.obs.columns)[:10]}); pass sample_key=."
        raise MissingKeyError(msg)
    col = adata.obs[sample_key]
    if col.isna().any():
        msg = f"adata.obs[{sample_key!r}] has {int(col.isna().sum())} missing sample IDs; fill or drop those cells."
        raise InputError(msg)
    values = col.astype(str).to_numpy()
    return [(s, np.flatnonzero(values == s)) for s in sorted(set(values))]


@register(
    name="cellphonedb_consensus",
    topic="crosstalk",
    modality="single-cell",
    citation="Efremova et al. 2020 Nat Protoc (CellPhoneDB); Dimitrov et al. 2022 Nat Commun (LIANA consensus)",
    scale="log-normalised (non-negative)",
    gives_pvalues=True,
)
def infer_crosstalk(
    adata: AnnData,
    *,
    groupby: str,
    sample_key: str | None = None,
    layer: str | None = None,
    resource: pd.DataFrame | None = None,
    expr_prop: float = 0.1,
    min_cells: int = 5,
    n_perms: int = 1000,
    seed: int | None = None,
    n_jobs: int | None = None,
    key_added: str = _keys.UNS_CROSSTALK,
    copy: bool = False,
) -> AnnData | None:
    """Ligand–receptor crosstalk between the cell groups of every sample.

    For every sender group, receiver group and ligand–receptor pair whose subunits are all expressed in at least
    ``expr_prop`` of the cells of their group, computes the CellPhoneDB score :cite:`efremova2020` (mean of the
    ligand mean in the sender and the receptor mean in the receiver; a complex takes its weakest subunit) and its
    permutation p-value (labels shuffled ``n_perms`` times within the sample), Benjamini–Hochberg FDR, and the
    LIANA-style consensus :cite:`dimitrov2022` of three magnitude scores (CellPhoneDB mean, expression product,
    SingleCellSignalR LRscore) and four specificity scores (permutation p-value, NATMI specificity weight, mean
    log2 fold change, mean z-score) by robust rank aggregation.

    Parameters
    ----------
    adata
        Cells x genes, non-negative log-normalised expression, HGNC symbols.
    groupby
        ``obs`` column with the cell groups (cell types, compartments).
    sample_key
        ``obs`` column with each cell's sample; every sample is analysed on its own (default: one sample ``all``).
    layer
        Layer with log-normalised values, ``"raw"`` for ``adata.raw``, or None for ``X``.
    resource
        Ligand–receptor table with ``ligand`` and ``receptor`` columns; default :func:`load_resource`.
    expr_prop
        Minimum share of cells of a group expressing every subunit.
    min_cells
        Groups with fewer cells in a sample are left out (with a warning).
    n_perms
        Label permutations per sample.
    seed
        Seed of the permutations (default ``tmescope.settings.seed``).
    n_jobs
        Threads (default ``tmescope.settings.n_jobs``); results never depend on it.
    key_added
        ``uns`` key to write.
    copy
        Return a changed copy instead of writing into ``adata``.

    Returns
    -------
    None, or the changed copy if ``copy``. Writes ``uns[key_added]``: a dict with ``results`` (DataFrame with
    :data:`RESULT_COLUMNS`, one row per sample x sender x receiver x pair tested) and ``params``.

    Examples
    --------
    >>> from tmescope.crosstalk import infer_crosstalk, toy_cells
    >>> cells = toy_cells(n_cells=200, seed=0)
    >>> infer_crosstalk(cells, groupby="cell_type", n_perms=100, seed=0)
    >>> res = cells.uns["crosstalk"]["results"]
    >>> hit = res[(res["ligand"] == "CXCL12") & (res["receptor"] == "CXCR4")]
    >>> hit[["source", "target"]].values.tolist(), bool(hit["fdr"].iloc[0] < 0.05)
    ([['fibroblast', 'T cell']], True)
    """
    from anndata import AnnData as _AnnData

    if not isinstance(adata, _AnnData):
        msg = f"adata must be an AnnData (cells x genes), got {type(adata).__name__}."
        raise InputTypeError(msg)
    if groupby not in adata.obs.columns:
        msg = f"Column {groupby!r} not in adata.obs (columns: {list(adata.obs.columns)[:10]}); pass groupby=."
        raise MissingKeyError(msg)
    if not 0 <= expr_prop <= 1:
        msg = f"expr_prop must be within [0, 1], got {expr_prop}."
        raise InputError(msg)
    if n_perms < 1 or min_cells < 1:
        msg = f"n_perms and min_cells must be at least 1, got {n_perms} and {min_cells}."
        raise InputError(msg)
    seed = settings.seed if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else int(n_jobs)
    res = check_resource(load_resource() if resource is None else resource)
    x, var_names = expression_matrix(adata, layer)
    if not pd.Index(var_names).is_unique:
        msg = "Gene names are not unique; make them unique (e.g. adata.var_names_make_unique()) first."
        raise InputError(msg)
    ent = map_entities(res, pd.Index(var_names))
    if ent.table.empty:
        msg = (
            f"None of the {len(res)} ligand–receptor pairs has all its genes in the data (first genes: "
            f"{list(var_names[:5])}); crosstalk needs HGNC symbols as gene names."
        )
        raise InputError(msg)
    labels = adata.obs[groupby]
    xg = gene_matrix(x, var_names, ent.genes)
    cell_sums = np.asarray(x.sum(axis=1)).ravel().astype(np.float64)
    n_vars = x.shape[1]
    samples = _sample_rows(adata, sample_key)
    children = np.random.SeedSequence(seed).spawn(len(samples))
    todo = []
    for (sample, rows), child in zip(samples, children, strict=True):
        groups = _groups(labels, rows, min_cells, sample)
        if len(groups.names) < 1:
            warn(f"Sample {sample}: no group has {min_cells} cells or more; no crosstalk computed for it.")
            continue
        todo.append((sample, groups, child))

    def load(item: tuple[str, _Groups, np.random.SeedSequence]) -> tuple[Any, ...]:
        sample, groups, child = item
        whole = groups.rows.size == xg.shape[0] and bool(np.all(groups.rows == np.arange(xg.shape[0])))
        xs = xg if whole else xg[groups.rows]
        mat_mean = float(cell_sums[groups.rows].sum() / (groups.rows.size * n_vars))
        return sample, xs, groups, ent, mat_mean, expr_prop, n_perms, child, n_jobs

    # one sample = one chunk: on ``tmescope.settings.client`` when set and there is more than one sample
    if len(todo) > 1:
        tables = map_chunks(_score_chunk, todo, ids=[f"sample {t[0]}" for t in todo], load=load, key="crosstalk")
    else:
        tables = [_score_chunk(load(t)) for t in todo]
    results = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(RESULT_COLUMNS))
    results = results.loc[:, list(RESULT_COLUMNS)]
    for col in ("sample", "source", "target"):
        results[col] = results[col].astype(str)
    target = adata.copy() if copy else adata
    target.uns[key_added] = {
        "results": results,
        "params": {
            "method": "cellphonedb_consensus",
            "groupby": groupby,
            "sample_key": sample_key or "",
            "layer": layer or "",
            "expr_prop": float(expr_prop),
            "min_cells": int(min_cells),
            "n_perms": int(n_perms),
            "seed": int(seed),
            "resource": RESOURCE_VERSION if resource is None else "user",
            "n_pairs_in_data": len(ent.table),
        },
    }
    return target if copy else None
