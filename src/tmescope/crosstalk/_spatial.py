"""Spatial crosstalk: ligand–receptor pairs restricted to neighbouring cells, and a local bivariate score."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmescope import _keys
from tmescope._errors import InputError, InputTypeError, MissingKeyError
from tmescope._logging import warn
from tmescope._registry import register
from tmescope._settings import settings
from tmescope.crosstalk._infer import _groups, _sample_rows, expression_matrix, gene_matrix
from tmescope.crosstalk._rank import bh_fdr
from tmescope.crosstalk._resource import RESOURCE_VERSION, check_resource, load_resource, map_entities
from tmescope.crosstalk._spatial_kernels import contact_pvalues, contact_weights, local_bivariate

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anndata import AnnData

#: Columns of the spatially restricted result table.
SPATIAL_COLUMNS = (
    "sample",
    "source",
    "target",
    "ligand",
    "receptor",
    "n_contacts",
    "ligand_props",
    "receptor_props",
    "lr_means",
    "pvalue",
    "fdr",
    "channel",
    "sources",
)


def _check_anndata(adata: Any) -> None:
    from anndata import AnnData as _AnnData

    if not isinstance(adata, _AnnData):
        msg = f"adata must be an AnnData (cells x genes), got {type(adata).__name__}."
        raise InputTypeError(msg)


def neighbour_graph(
    adata: AnnData,
    rows: np.ndarray,
    *,
    radius: float | None,
    n_neighbors: int,
    connectivity_key: str | None,
) -> sp.csr_matrix:
    """Symmetric 0/1 neighbour graph of the cells ``rows`` (no self-loops).

    From ``adata.obsp[connectivity_key]`` if given, else from ``obsm["spatial"]``: every pair closer than
    ``radius`` (coordinate units), or each cell's ``n_neighbors`` nearest cells when ``radius`` is None.
    """
    if connectivity_key is not None:
        if connectivity_key not in adata.obsp:
            msg = (
                f"Key {connectivity_key!r} not in adata.obsp (has {list(adata.obsp)}); build a graph with "
                "tmescope.spatial.spatial_neighbors() or pass radius= / n_neighbors= instead."
            )
            raise MissingKeyError(msg)
        graph = sp.csr_matrix(adata.obsp[connectivity_key])[rows][:, rows]
    else:
        from tmescope.spatial._graph import build_graph

        if "spatial" not in adata.obsm:
            msg = "adata.obsm['spatial'] is missing; spatial crosstalk needs x/y coordinates of every cell or spot."
            raise MissingKeyError(msg)
        coords = np.asarray(adata.obsm["spatial"], dtype=np.float64)
        if coords.ndim != 2 or coords.shape[1] < 2:
            msg = f"adata.obsm['spatial'] must be cells x 2 (x, y) coordinates, got shape {coords.shape}."
            raise InputError(msg)
        coords = np.ascontiguousarray(coords[rows, :2])
        bad = ~np.isfinite(coords).all(axis=1)
        if bad.any():
            names = [str(n) for n in adata.obs_names[rows[bad]][:5]]
            msg = f"{int(bad.sum())} cells have NaN or infinite coordinates (e.g. {', '.join(names)}); drop them."
            raise InputError(msg)
        if radius is not None and not radius > 0:
            msg = f"radius must be positive, got {radius}."
            raise InputError(msg)
        if radius is None and n_neighbors < 1:
            msg = f"n_neighbors must be at least 1, got {n_neighbors}."
            raise InputError(msg)
        graph, _ = build_graph(
            coords,
            [np.arange(rows.size)],
            method="knn" if radius is None else "radius",
            n_neighs=n_neighbors,
            radius=radius,
        )
    graph = ((graph + graph.T) > 0).astype(np.float64).tocsr()
    graph.setdiag(0)
    graph.eliminate_zeros()
    graph.sort_indices()
    return graph


@register(
    name="contact_cellphonedb",
    topic="crosstalk",
    modality="spatial",
    citation="CellPhoneDB score (Efremova et al. 2020) over the edges of a spatial neighbour graph",
    scale="log-normalised (non-negative)",
    gives_pvalues=True,
)
def spatial_crosstalk(
    adata: AnnData,
    *,
    groupby: str,
    sample_key: str | None = None,
    layer: str | None = None,
    radius: float | None = None,
    n_neighbors: int = 10,
    connectivity_key: str | None = None,
    resource: pd.DataFrame | None = None,
    expr_prop: float = 0.1,
    min_cells: int = 5,
    n_perms: int = 1000,
    seed: int | None = None,
    n_jobs: int | None = None,
    key_added: str = _keys.UNS_CROSSTALK_SPATIAL,
    copy: bool = False,
) -> AnnData | None:
    """Ligand–receptor crosstalk restricted to cells that touch in space.

    Only sender–receiver cell pairs joined by an edge of the neighbour graph count: the ligand mean of
    (sender group s, receiver group t) is taken over the s ends of the s–t edges (a cell with three t neighbours
    counts three times) and the receptor mean over their t ends; the score is their mean (CellPhoneDB), a complex
    taking its weakest subunit. The p-value shuffles the group labels within the sample ``n_perms`` times, keeping
    positions and expression fixed, so it asks whether the contacts of these two groups carry more of the pair
    than contacts between random cells. Pairs are tested when every subunit is expressed in ``expr_prop`` of the
    cells of its group and the two groups share at least one edge.

    Parameters
    ----------
    adata
        Cells or spots x genes, non-negative log-normalised expression, ``obsm["spatial"]`` (x, y).
    groupby, sample_key, layer, resource, expr_prop, min_cells, n_perms, seed, n_jobs, copy
        As in :func:`infer_crosstalk`; samples (slides) are analysed separately and never linked.
    radius
        Link cells closer than this (units of ``obsm["spatial"]``, e.g. µm); default: k nearest neighbours.
    n_neighbors
        k of the k-nearest-neighbour graph when ``radius`` is None (made symmetric).
    connectivity_key
        Use this ``obsp`` graph (e.g. ``"spatial_connectivities"`` from :func:`tmescope.spatial.spatial_neighbors`)
        instead of building one.
    key_added
        ``uns`` key to write.

    Returns
    -------
    None, or the changed copy if ``copy``. Writes ``uns[key_added]``: ``results`` (:data:`SPATIAL_COLUMNS`, one row
    per sample x sender x receiver x pair tested; ``n_contacts`` = s–t edges) and ``params``.

    Examples
    --------
    >>> from tmescope.crosstalk import toy_cells
    >>> cells = toy_cells(n_cells=200, seed=0)
    >>> spatial_crosstalk(cells, groupby="cell_type", radius=60.0, n_perms=50, seed=0)
    >>> res = cells.uns["crosstalk_spatial"]["results"]
    >>> bool((res["n_contacts"] > 0).all())
    True
    """
    _check_anndata(adata)
    if groupby not in adata.obs.columns:
        msg = f"Column {groupby!r} not in adata.obs (columns: {list(adata.obs.columns)[:10]}); pass groupby=."
        raise MissingKeyError(msg)
    if not 0 <= expr_prop <= 1 or n_perms < 1 or min_cells < 1:
        msg = f"Need 0 <= expr_prop <= 1, n_perms >= 1 and min_cells >= 1; got {expr_prop}, {n_perms}, {min_cells}."
        raise InputError(msg)
    seed = settings.seed if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else int(n_jobs)
    res = check_resource(load_resource() if resource is None else resource)
    x, var_names = expression_matrix(adata, layer)
    ent = map_entities(res, pd.Index(var_names))
    if ent.table.empty:
        msg = "None of the ligand–receptor pairs has all its genes in the data; gene names must be HGNC symbols."
        raise InputError(msg)
    xg = gene_matrix(x, var_names, ent.genes)
    labels = adata.obs[groupby]
    samples = _sample_rows(adata, sample_key)
    tables = []
    for (sample, rows), child in zip(samples, np.random.SeedSequence(seed).spawn(len(samples)), strict=True):
        groups = _groups(labels, rows, min_cells, sample)
        if not groups.names:
            warn(f"Sample {sample}: no group has {min_cells} cells or more; no spatial crosstalk computed for it.")
            continue
        graph = neighbour_graph(
            adata, groups.rows, radius=radius, n_neighbors=n_neighbors, connectivity_key=connectivity_key
        )
        xs = xg[groups.rows]
        n_groups = len(groups.names)
        codes = groups.codes
        counts = np.bincount(codes, minlength=n_groups).astype(float)
        onehot = sp.csr_matrix((np.ones(codes.size), (codes, np.arange(codes.size))), shape=(n_groups, codes.size))
        props = (onehot @ (xs > 0).astype(np.float64)).toarray() / counts[:, None]
        sub = ent.subunits
        valid = sub >= 0
        e_prop = np.where(valid[None], props[:, np.where(valid, sub, 0)], np.inf).min(2)
        n_pairs = len(ent.table)
        src = np.repeat(np.arange(n_groups), n_groups * n_pairs)
        tgt = np.tile(np.repeat(np.arange(n_groups), n_pairs), n_groups)
        pair = np.tile(np.arange(n_pairs), n_groups * n_groups)
        lig, rec = ent.ligand[pair], ent.receptor[pair]
        contacts = np.asarray(contact_weights(graph, codes, n_groups).sum(axis=1)).ravel().reshape(n_groups, -1)
        keep = (e_prop[src, lig] >= expr_prop) & (e_prop[tgt, rec] >= expr_prop) & (contacts[src, tgt] > 0)
        src, tgt, pair, lig, rec = src[keep], tgt[keep], pair[keep], lig[keep], rec[keep]
        score, pvals = contact_pvalues(
            xs, graph, codes, n_groups, sub, src, tgt, lig, rec, n_perms=n_perms, seed=child, n_jobs=n_jobs
        )
        names = np.asarray(groups.names, dtype=object)
        tables.append(
            pd.DataFrame(
                {
                    "sample": sample,
                    "source": names[src],
                    "target": names[tgt],
                    "ligand": ent.table["ligand"].to_numpy()[pair],
                    "receptor": ent.table["receptor"].to_numpy()[pair],
                    "n_contacts": contacts[src, tgt].astype(np.int64),
                    "ligand_props": e_prop[src, lig],
                    "receptor_props": e_prop[tgt, rec],
                    "lr_means": score,
                    "pvalue": pvals,
                    "fdr": bh_fdr(pvals),
                    "channel": ent.table["channel"].to_numpy()[pair],
                    "sources": ent.table["sources"].to_numpy()[pair],
                }
            )
        )
    results = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(SPATIAL_COLUMNS))
    results = results.loc[:, list(SPATIAL_COLUMNS)]
    target = adata.copy() if copy else adata
    target.uns[key_added] = {
        "results": results,
        "params": {
            "method": "contact_cellphonedb",
            "groupby": groupby,
            "sample_key": sample_key or "",
            "layer": layer or "",
            "graph": f"obsp[{connectivity_key!r}]"
            if connectivity_key
            else (f"radius {radius}" if radius is not None else f"{n_neighbors} nearest neighbours, symmetric"),
            "expr_prop": float(expr_prop),
            "min_cells": int(min_cells),
            "n_perms": int(n_perms),
            "seed": int(seed),
            "resource": RESOURCE_VERSION if resource is None else "user",
        },
    }
    return target if copy else None


def _entity_matrix(xg: sp.csr_matrix, subunits: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per-cell expression of entities ``idx`` (cells x len(idx)); a complex takes its weakest subunit."""
    dense_cols = np.unique(subunits[idx][subunits[idx] >= 0])
    pos = {c: i for i, c in enumerate(dense_cols)}
    block = xg[:, dense_cols].toarray()
    out = np.empty((xg.shape[0], idx.size), dtype=np.float64)
    for k, e in enumerate(idx):
        cols = [pos[c] for c in subunits[e] if c >= 0]
        out[:, k] = block[:, cols].min(axis=1)
    return out


@register(
    name="local_bivariate_moran",
    topic="crosstalk",
    modality="spatial",
    citation="Local bivariate Moran's I (Anselin 1995; Anselin, Syabri & Smirnov 2002), as in LIANA+ bivar",
    scale="log-normalised (non-negative)",
)
def local_lr_scores(
    adata: AnnData,
    *,
    sample_key: str | None = None,
    layer: str | None = None,
    pairs: Sequence[tuple[str, str]] | str | None = None,
    radius: float | None = None,
    n_neighbors: int = 10,
    connectivity_key: str | None = None,
    resource: pd.DataFrame | None = None,
    expr_prop: float = 0.05,
    key_added: str = _keys.OBSM_LR_LOCAL,
    copy: bool = False,
) -> AnnData | None:
    r"""Local bivariate ligand–receptor score of every cell or spot.

    For each pair, the local bivariate Moran's I :cite:`anselin1995` of the ligand at a cell and the receptor in
    its neighbourhood: :math:`I_i = z(L)_i \sum_j w_{ij} z(R)_j` with z-scores over the cells of the sample and
    row-normalised neighbour weights. Positive where a ligand-high cell sits among receptor-high neighbours.
    Complexes take their weakest subunit in every cell.

    Parameters
    ----------
    adata
        Cells or spots x genes, non-negative log-normalised expression, ``obsm["spatial"]``.
    sample_key, layer, resource
        As in :func:`infer_crosstalk`.
    pairs
        ``None``: pairs of the curated TME channels; ``"all"``: every pair of the resource; or a list of
        (ligand, receptor) tuples. Only pairs whose ligand and receptor are each expressed in at least
        ``expr_prop`` of all cells are scored.
    radius, n_neighbors, connectivity_key
        Neighbourhood, as in :func:`spatial_crosstalk`.
    key_added
        ``obsm`` and ``uns`` key to write.
    copy
        Return a changed copy instead.

    Returns
    -------
    None, or the changed copy. Writes ``obsm[key_added]`` (DataFrame, cells x ``LIGAND^RECEPTOR`` columns) and
    ``uns[key_added]`` (``pairs``: per sample and pair the global bivariate Moran's I = mean of the local scores,
    with ligand, receptor and channel; ``params``).

    Examples
    --------
    >>> from tmescope.crosstalk import toy_cells
    >>> cells = toy_cells(n_cells=200, seed=0)
    >>> local_lr_scores(cells, radius=60.0)
    >>> cells.obsm["lr_local"].shape[0], "CXCL12^CXCR4" in cells.obsm["lr_local"].columns
    (200, True)
    """
    _check_anndata(adata)
    res = check_resource(load_resource() if resource is None else resource)
    if pairs is None:
        res = res[res["channel"] != ""]
    elif isinstance(pairs, str):
        if pairs != "all":
            msg = f"pairs must be None, 'all' or a list of (ligand, receptor) tuples, got {pairs!r}."
            raise InputError(msg)
    else:
        wanted = pd.DataFrame(list(pairs), columns=["ligand", "receptor"])
        known = res.merge(wanted, on=["ligand", "receptor"])
        res = known if len(known) == len(wanted) else check_resource(wanted.merge(res, how="left").fillna(""))
    x, var_names = expression_matrix(adata, layer)
    ent = map_entities(res.reset_index(drop=True), pd.Index(var_names))
    xg = gene_matrix(x, var_names, ent.genes)
    share = np.asarray((xg > 0).mean(axis=0)).ravel()
    sub = ent.subunits
    e_share = np.where(sub >= 0, share[np.where(sub >= 0, sub, 0)], np.inf).min(1)
    ok = (e_share[ent.ligand] >= expr_prop) & (e_share[ent.receptor] >= expr_prop)
    table = ent.table.loc[ok].reset_index(drop=True)
    if table.empty:
        msg = (
            f"No ligand–receptor pair has its ligand and receptor each expressed in {expr_prop:.0%} of the cells; "
            "lower expr_prop or pass pairs=."
        )
        raise InputError(msg)
    columns = [f"{lg}^{rc}" for lg, rc in zip(table["ligand"], table["receptor"], strict=True)]
    lig_all = _entity_matrix(xg, sub, table["ligand_idx"].to_numpy())
    rec_all = _entity_matrix(xg, sub, table["receptor_idx"].to_numpy())
    scores = np.zeros((adata.n_obs, len(table)), dtype=np.float32)
    summary = []
    for sample, rows in _sample_rows(adata, sample_key):
        graph = neighbour_graph(adata, rows, radius=radius, n_neighbors=n_neighbors, connectivity_key=connectivity_key)
        deg = np.asarray(graph.sum(axis=1)).ravel()
        weights = sp.diags(np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)) @ graph
        local = local_bivariate(lig_all[rows], rec_all[rows], weights.tocsr())
        scores[rows] = local
        summary.append(
            pd.DataFrame(
                {
                    "sample": sample,
                    "ligand": table["ligand"],
                    "receptor": table["receptor"],
                    "global_moran_i": local.mean(axis=0),
                    "channel": table["channel"],
                }
            )
        )
    target = adata.copy() if copy else adata
    target.obsm[key_added] = pd.DataFrame(scores, index=adata.obs_names, columns=columns)
    target.uns[key_added] = {
        "pairs": pd.concat(summary, ignore_index=True),
        "params": {
            "method": "local_bivariate_moran",
            "sample_key": sample_key or "",
            "layer": layer or "",
            "graph": f"obsp[{connectivity_key!r}]"
            if connectivity_key
            else (f"radius {radius}" if radius is not None else f"{n_neighbors} nearest neighbours, symmetric"),
            "expr_prop": float(expr_prop),
        },
    }
    return target if copy else None
