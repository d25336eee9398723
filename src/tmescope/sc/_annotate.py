"""Marker-based, seeded compartment annotation at cluster level, with per-cell scores and confidence.

Method (``marker_clusters``):

1. per-cell score of every compartment = mean z-score of its positive markers minus ``neg_weight`` × mean
   z-score of its negative markers (z over all cells of the log-normalised data; :func:`tmescope.scoring.mean_z`);
2. cells are clustered with scanpy (highly variable genes when there are more than ``n_top_genes``, PCA,
   k-nearest-neighbour graph, Leiden) with one seed for every random step;
3. each cluster gets the compartment with the highest mean score over its cells; a cluster whose best mean
   score is below ``min_score`` matches nothing and is labelled ``unknown`` (flag ``unknown``); a best score less
   than ``min_margin`` above the second is flagged ``ambiguous``;
4. confidence of a cluster's label = share of its cells whose own best-scoring compartment is that label.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

from tmescope import _keys
from tmescope._errors import CoverageWarning, InputError, InputTypeError, MissingKeyError
from tmescope._logging import format_items, warn
from tmescope._registry import register
from tmescope._settings import settings
from tmescope.sc._markers import COMPARTMENTS, UNKNOWN, marker_table, markers_from_table
from tmescope.scoring import mean_z

if TYPE_CHECKING:
    from anndata import AnnData

_CHUNK = 8192
#: Above this many cells the neighbour graph and Leiden run on a seeded subsample (see :func:`leiden_clusters`).
MAX_CLUSTER_CELLS = 50_000
CLUSTER_COLUMNS = (
    "cluster",
    "n_cells",
    "label",
    "score",
    "second_label",
    "second_score",
    "margin",
    "confidence",
    "flag",
)


class ClusterLabels(NamedTuple):
    """Result of :func:`label_clusters` (clusters in code order)."""

    mean_scores: np.ndarray
    """Mean score of every compartment over each cluster's cells, (n_clusters, n_compartments)."""
    best: np.ndarray
    """Index of the best compartment per cluster, -1 when it matches nothing."""
    second: np.ndarray
    """Index of the runner-up compartment per cluster (-1 when there is a single compartment)."""
    margin: np.ndarray
    """Best minus runner-up mean score."""
    confidence: np.ndarray
    """Share of the cluster's cells whose own best compartment is the cluster's best (0 when unknown)."""
    n_cells: np.ndarray
    """Cells per cluster."""


def marker_scores(
    X: np.ndarray,
    positive: list[np.ndarray],
    negative: list[np.ndarray],
    *,
    mean: np.ndarray,
    std: np.ndarray,
    neg_weight: float = 0.5,
) -> np.ndarray:
    """Per-cell compartment scores: mean z of positive markers minus ``neg_weight`` × mean z of negative markers.

    Parameters
    ----------
    X
        Dense log-normalised values, (n_cells, n_genes).
    positive, negative
        Column indices of each compartment's positive and negative markers (an empty array: none).
    mean, std
        Per-gene mean and standard deviation over all cells (the z-score reference).
    neg_weight
        Weight of the negative markers.

    Returns
    -------
    Scores, (n_cells, n_compartments).

    Examples
    --------
    >>> X = np.array([[5.0, 0.0], [0.0, 5.0], [0.0, 0.0]])
    >>> m, s = X.mean(axis=0), X.std(axis=0, ddof=1)
    >>> marker_scores(X, [np.array([0]), np.array([1])], [np.array([1]), np.array([], int)], mean=m, std=s).round(2)
    array([[ 1.44, -0.58],
           [-1.15,  1.15],
           [-0.29, -0.58]])
    """
    pos = mean_z(X, positive, mean=mean, std=std)
    has_neg = np.array([len(n) > 0 for n in negative])
    if has_neg.any():
        neg = mean_z(X, [n if len(n) else np.array([0]) for n in negative], mean=mean, std=std)
        pos = pos - float(neg_weight) * np.where(has_neg[None, :], neg, 0.0)
    return pos


def label_clusters(
    scores: np.ndarray, clusters: np.ndarray, n_clusters: int, *, min_score: float, min_margin: float
) -> ClusterLabels:
    """Label clusters by the highest mean per-cell score; flag those below ``min_score``.

    Parameters
    ----------
    scores
        Per-cell compartment scores, (n_cells, n_compartments); NaN columns are never chosen.
    clusters
        Cluster code (0 .. n_clusters - 1) of every cell.
    n_clusters
        Number of clusters.
    min_score
        A cluster whose best mean score is below this matches nothing (best = -1).
    min_margin
        Not used for the decision; returned margins are compared with it by the caller.

    Returns
    -------
    ClusterLabels

    Examples
    --------
    >>> s = np.array([[2.0, 0.0], [1.5, 0.2], [0.1, 0.0], [0.0, 0.2]])
    >>> r = label_clusters(s, np.array([0, 0, 1, 1]), 2, min_score=0.5, min_margin=0.1)
    >>> r.best.tolist(), r.confidence.tolist()
    ([0, -1], [1.0, 0.0])
    """
    del min_margin
    n_cells, k = scores.shape
    filled = np.where(np.isfinite(scores), scores, -np.inf)
    counts = np.bincount(clusters, minlength=n_clusters).astype(np.float64)
    sums = np.zeros((n_clusters, k))
    np.add.at(sums, clusters, np.where(np.isfinite(scores), scores, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[:, ~np.isfinite(scores).any(axis=0)] = np.nan
    ranked = np.where(np.isfinite(means), means, -np.inf)
    order = np.argsort(-ranked, axis=1, kind="stable")
    top = order[:, 0]
    second = order[:, 1] if k > 1 else np.full(n_clusters, -1)
    top_score = ranked[np.arange(n_clusters), top]
    second_score = ranked[np.arange(n_clusters), second] if k > 1 else np.full(n_clusters, -np.inf)
    margin = top_score - second_score
    best = np.where(top_score >= min_score, top, -1)
    cell_best = np.argmax(filled, axis=1) if k else np.zeros(n_cells, int)
    agree = np.zeros(n_clusters)
    hits = cell_best == best[clusters]
    np.add.at(agree, clusters, hits.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.where(best >= 0, agree / counts, 0.0)
    return ClusterLabels(means, best, second, margin, confidence, counts.astype(np.int64))


def _gene_stats(X: Any, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene mean and sd (ddof=1) of the chosen columns over all cells, sparse-friendly."""
    sub = X[:, cols]
    n = sub.shape[0]
    if sparse.issparse(sub):
        sub = sparse.csc_matrix(sub, dtype=np.float64)
        mean = np.asarray(sub.mean(axis=0)).ravel()
        sq = np.asarray(sub.multiply(sub).sum(axis=0)).ravel()
    else:
        sub = np.asarray(sub, dtype=np.float64)
        mean = sub.mean(axis=0)
        sq = (sub**2).sum(axis=0)
    var = (sq - n * mean**2) / max(n - 1, 1)
    sd = np.sqrt(np.clip(var, 0.0, None))
    sd[sd < 1e-9] = 0.0
    return mean, sd


def _dense(block: Any) -> np.ndarray:
    return np.asarray(block.toarray() if sparse.issparse(block) else block, dtype=np.float64)


def compartment_scores(
    adata: AnnData,
    *,
    markers: pd.DataFrame | None = None,
    neg_weight: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cell marker scores of every compartment (computed, not written).

    Parameters
    ----------
    adata
        Cells × genes with log-normalised ``X`` (see :func:`tmescope.sc.prepare_cells`).
    markers
        Marker table (columns ``compartment``, ``gene``, optional ``direction``); default the shipped table
        (:func:`tmescope.sc.marker_table`).
    neg_weight
        Weight of negative markers.

    Returns
    -------
    (scores, coverage)
        Scores: cells × compartments (NaN for a compartment none of whose positive markers is measured).
        Coverage: one row per compartment with ``n_markers``, ``n_present``, ``missing``.
    """
    table = marker_table() if markers is None else markers
    for col in ("compartment", "gene"):
        if col not in table:
            msg = f"The marker table needs columns 'compartment' and 'gene' (and optionally 'direction'); it lacks {col!r}."
            raise InputError(msg)
    sets = markers_from_table(table)
    pos_index = pd.Series(np.arange(adata.n_vars), index=adata.var_names)
    rows, positive, negative = [], [], []
    for comp, (pos, neg) in sets.items():
        p = [g for g in pos if g in pos_index.index]
        n = [g for g in neg if g in pos_index.index]
        rows.append(
            {
                "compartment": comp,
                "n_markers": len(pos),
                "n_present": len(p),
                "missing": ",".join(g for g in pos if g not in pos_index.index),
            }
        )
        positive.append(pos_index[p].to_numpy(dtype=np.int64))
        negative.append(pos_index[n].to_numpy(dtype=np.int64))
    coverage = pd.DataFrame(rows)
    cols = np.unique(np.concatenate([*positive, *negative, np.array([], dtype=np.int64)]))
    remap = np.full(adata.n_vars, -1, dtype=np.int64)
    remap[cols] = np.arange(cols.size)
    pos_local = [remap[p] for p in positive]
    neg_local = [remap[n] for n in negative]
    X = adata.X
    out = np.full((adata.n_obs, len(sets)), np.nan)
    if cols.size:
        mean, sd = _gene_stats(X, cols)
        scoreable = np.array([len(p) > 0 for p in pos_local])
        for lo in range(0, adata.n_obs, _CHUNK):
            block = _dense(X[lo : lo + _CHUNK][:, cols])
            s = marker_scores(block, pos_local, neg_local, mean=mean, std=sd, neg_weight=neg_weight)
            out[lo : lo + _CHUNK] = np.where(scoreable[None, :], s, np.nan)
    return pd.DataFrame(out, index=adata.obs_names.copy(), columns=list(sets)), coverage


def leiden_clusters(
    adata: AnnData,
    *,
    resolution: float = 2.0,
    n_neighbors: int = 15,
    n_pcs: int = 30,
    n_top_genes: int = 2000,
    seed: int = 0,
    max_cells: int | None = None,
) -> pd.Categorical:
    """Seeded scanpy clustering of log-normalised cells: HVG (when needed), PCA, neighbours, Leiden.

    Runs on a private copy; nothing is written into ``adata``. Above ``max_cells`` cells (default
    :data:`MAX_CLUSTER_CELLS`, 50,000) the exact neighbour graph and Leiden run on a seeded subsample of
    ``max_cells`` cells, and every other cell joins the cluster whose centroid (in the same PCA space) is nearest:
    the exact neighbour search is quadratic in the number of cells.

    Returns
    -------
    Cluster of every cell (categories ``"0"``, ``"1"``, … by decreasing size, as scanpy numbers them).
    """
    import scanpy as sc
    from anndata import AnnData

    work = AnnData(X=sparse.csr_matrix(adata.X, dtype=np.float32), obs=pd.DataFrame(index=adata.obs_names.copy()))
    work.var_names = adata.var_names.copy()
    if adata.n_obs < 3:
        return pd.Categorical(["0"] * adata.n_obs)
    expressed = np.asarray((work.X > 0).sum(axis=0)).ravel() > 0
    work = work[:, expressed].copy()
    if work.n_vars > n_top_genes:
        sc.pp.highly_variable_genes(work, n_top_genes=n_top_genes, flavor="seurat", subset=True)
    # scaling centres the genes, which densifies anyway: do it explicitly (cells × at most n_top_genes)
    work.X = np.asarray(work.X.toarray(), dtype=np.float32)
    sc.pp.scale(work, max_value=10.0)
    n_comps = max(1, min(n_pcs, work.n_vars - 1, work.n_obs - 1))
    sc.pp.pca(work, n_comps=n_comps, svd_solver="arpack", random_state=seed)
    limit = MAX_CLUSTER_CELLS if max_cells is None else int(max_cells)
    if work.n_obs > limit:
        return _subsample_clusters(
            work, limit, n_comps=n_comps, n_neighbors=n_neighbors, resolution=resolution, seed=seed
        )
    return _leiden_on_pca(work, n_comps=n_comps, n_neighbors=n_neighbors, resolution=resolution, seed=seed)


def _subsample_clusters(
    work: AnnData, limit: int, *, n_comps: int, n_neighbors: int, resolution: float, seed: int
) -> pd.Categorical:
    """Leiden on a seeded subsample of ``limit`` cells; the others join the nearest cluster centroid (PCA space)."""
    pick = np.sort(np.random.default_rng(seed).choice(work.n_obs, limit, replace=False))
    sub = _leiden_on_pca(work[pick].copy(), n_comps=n_comps, n_neighbors=n_neighbors, resolution=resolution, seed=seed)
    pcs = np.asarray(work.obsm["X_pca"], dtype=np.float64)
    cats = list(sub.categories)
    codes = np.asarray(sub.codes)
    centroids = np.vstack([pcs[pick[codes == k]].mean(axis=0) for k in range(len(cats))])
    out = np.empty(work.n_obs, dtype=np.int64)
    c2 = (centroids**2).sum(axis=1)
    for start in range(0, work.n_obs, _CHUNK):
        block = pcs[start : start + _CHUNK]
        out[start : start + _CHUNK] = np.argmin(c2[None, :] - 2.0 * block @ centroids.T, axis=1)
    out[pick] = codes
    return pd.Categorical.from_codes(out, categories=cats)


def exact_neighbors(work: AnnData, *, n_neighbors: int, n_comps: int, seed: int) -> None:
    """Exact kNN graph on ``work.obsm["X_pca"]`` (internal; shared by clustering and the embedding).

    Exact (sklearn, brute force) at every size: deterministic whatever the thread count, and it avoids scanpy 1.11's
    approximate path, which fails on the sparse arrays returned by current pynndescent.
    """
    import scanpy as sc

    with warnings.catch_warnings():
        # scanpy edits its own kNN matrix in place when cells are identical; not a problem of the input
        warnings.filterwarnings("ignore", category=sparse.SparseEfficiencyWarning)
        sc.pp.neighbors(
            work, n_neighbors=min(n_neighbors, work.n_obs - 1), n_pcs=n_comps, random_state=seed, transformer="sklearn"
        )


def _leiden_on_pca(work: AnnData, *, n_comps: int, n_neighbors: int, resolution: float, seed: int) -> pd.Categorical:
    """Exact neighbour graph and seeded Leiden on ``work.obsm["X_pca"]`` (internal)."""
    import scanpy as sc

    exact_neighbors(work, n_neighbors=n_neighbors, n_comps=n_comps, seed=seed)
    sc.tl.leiden(
        work,
        resolution=resolution,
        random_state=seed,
        flavor="igraph",
        n_iterations=2,
        directed=False,
        key_added="leiden",
    )
    return pd.Categorical(work.obs["leiden"].astype(str))


@register(
    name="marker_clusters",
    topic="sc",
    modality="single-cell",
    citation="Markers: Franzén 2019 (PanglaoDB), Domínguez Conde 2022 (CellTypist), Travaglini 2020, Zheng 2017, "
    "Villani 2017; Leiden: Traag 2019",
    scale="log-normalised (ln(counts per 10k + 1))",
)
def annotate_compartments(
    adata: AnnData,
    *,
    labels_key: str | None = None,
    markers: pd.DataFrame | None = None,
    resolution: float = 2.0,
    n_neighbors: int = 15,
    n_pcs: int = 30,
    min_score: float = 0.15,
    min_margin: float = 0.1,
    neg_weight: float = 0.5,
    seed: int | None = None,
    copy: bool = False,
) -> pd.DataFrame | AnnData:
    """Annotate the major TME compartment of every cell, at cluster level, with per-cell scores.

    Compartments: ``malignant_epithelial``, ``cd4_t``, ``cd8_t``, ``treg``, ``nk``, ``b_cell``, ``plasma``,
    ``monocyte_macrophage``, ``dendritic_cell``, ``mast``, ``neutrophil``, ``fibroblast``, ``pericyte_smooth_muscle``,
    ``endothelial`` (shipped markers; see ``docs/sc.md``), and ``unknown`` for clusters that match none.

    Parameters
    ----------
    adata
        Cells × genes, log-normalised ``X`` with HGNC symbols (:func:`tmescope.sc.prepare_cells` makes it).
    labels_key
        Use the user's labels in this ``obs`` column instead of the annotator: they become ``obs["compartment"]``
        as given; the marker scores are still computed, and the cluster table says which compartment the
        markers suggest for each label.
    markers
        A marker table replacing the shipped one (columns ``compartment``, ``gene``, optional ``direction``).
    resolution, n_neighbors, n_pcs
        Leiden resolution (over-clustering helps: small clusters are labelled one by one), neighbours and PCs.
    min_score
        Clusters whose best mean marker score (mean z) is below this match nothing and are labelled ``unknown``.
    min_margin
        A best score less than this above the runner-up is flagged ``ambiguous``.
    neg_weight
        Weight of negative markers (e.g. CD3 for NK cells).
    seed
        Seed of PCA, neighbours and Leiden (default ``tmescope.settings.seed``).
    copy
        Return a changed copy instead of writing into ``adata``.

    Returns
    -------
    The cluster table (``cluster``, ``n_cells``, ``label``, ``score``, ``second_label``, ``second_score``,
    ``margin``, ``confidence``, ``flag``) or the changed copy when ``copy=True``. Writes
    ``obs["compartment"]``, ``obs["compartment_confidence"]``, ``obs["compartment_cluster"]``,
    ``obsm["compartment_scores"]`` and ``uns["compartment"]`` (``method``, ``params``, ``coverage``,
    ``clusters``).

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> from tmescope.sc import prepare_cells
    >>> rng = np.random.default_rng(0)
    >>> genes = ["CD3E", "CD3D", "CD8A", "CD8B", "MS4A1", "CD79A", "CD19", "LYZ", "CD14", "CD68"]
    >>> X = rng.poisson(0.2, size=(90, 10)).astype(np.float32)
    >>> X[:30, :4] += 6; X[30:60, 4:7] += 6; X[60:, 7:] += 6
    >>> a = prepare_cells(ad.AnnData(X, var=pd.DataFrame(index=genes)))
    >>> table = annotate_compartments(a, resolution=0.3, seed=0, markers=tiny_markers())
    >>> sorted(a.obs["compartment"].astype(str).value_counts().items())
    [('b_cell', 30), ('cd8_t', 30), ('monocyte_macrophage', 30)]
    """
    from anndata import AnnData

    if not isinstance(adata, AnnData):
        msg = f"`adata` must be an AnnData (cells × genes); received {type(adata).__name__}."
        raise InputTypeError(msg)
    if labels_key is not None and labels_key not in adata.obs:
        msg = (
            f"Label column {labels_key!r} not in adata.obs (columns: {', '.join(map(str, adata.obs.columns[:12]))}). "
            "Pass the obs column with your cell-type labels (CLI --labels-key), or none to annotate with markers."
        )
        raise MissingKeyError(msg)
    if not adata.var_names.is_unique:
        msg = "Gene names must be unique; run tmescope.sc.prepare_cells (or tmescope.genes.harmonize_var) first."
        raise InputError(msg)
    if adata.n_obs == 0:
        msg = "`adata` has no cells; nothing to annotate."
        raise InputError(msg)
    seed = settings.seed if seed is None else int(seed)
    if copy:
        adata = adata.copy()

    scores, coverage = compartment_scores(adata, markers=markers, neg_weight=neg_weight)
    absent = coverage.loc[coverage["n_present"] == 0, "compartment"].tolist()
    if absent:
        warn(
            f"{len(absent)} compartment(s) have none of their markers among the genes and cannot be assigned: "
            f"{', '.join(absent)}. Check that var_names are HGNC symbols of all genes (not a small panel).",
            CoverageWarning,
        )
    if labels_key is not None:
        cluster_cat = pd.Categorical(adata.obs[labels_key].astype(str))
        method = f"user labels (obs[{labels_key!r}])"
    else:
        cluster_cat = leiden_clusters(adata, resolution=resolution, n_neighbors=n_neighbors, n_pcs=n_pcs, seed=seed)
        method = "marker_clusters"
    names = [str(c) for c in cluster_cat.categories]
    codes = np.asarray(cluster_cat.codes, dtype=np.int64)
    comps = list(scores.columns)
    res = label_clusters(scores.to_numpy(), codes, len(names), min_score=min_score, min_margin=min_margin)
    table = _cluster_table(names, comps, res, min_margin=min_margin)

    if labels_key is None:
        cats = [*dict.fromkeys([*(c for c in COMPARTMENTS if c in comps), *comps]), UNKNOWN]
        per_cell = table["label"].to_numpy()[codes]
        adata.obs[_keys.OBS_COMPARTMENT] = pd.Categorical(per_cell, categories=cats)
        adata.obs[_keys.OBS_COMPARTMENT_CONFIDENCE] = table["confidence"].to_numpy(dtype=np.float64)[codes]
        unknown = table[table["flag"] == "unknown"]
        if len(unknown):
            warn(
                f"{len(unknown)} cluster(s) ({int(unknown['n_cells'].sum())} cells) match no compartment's markers "
                f"(best mean score below {min_score:g}) and are labelled 'unknown': "
                f"{format_items([f'{c} (best {lab} {s:.2f})' for c, lab, s in zip(unknown['cluster'], unknown['second_label'], unknown['score'], strict=True)])}. "
                "They may be malignant cells without epithelial markers, or a cell type outside the marker table.",
            )
    else:
        adata.obs[_keys.OBS_COMPARTMENT] = pd.Categorical(adata.obs[labels_key].astype(str))
        adata.obs[_keys.OBS_COMPARTMENT_CONFIDENCE] = np.nan
    adata.obs[_keys.OBS_COMPARTMENT_CLUSTER] = pd.Categorical(np.asarray(names, dtype=object)[codes], categories=names)
    adata.obsm[_keys.OBSM_COMPARTMENT_SCORES] = scores
    adata.uns[_keys.UNS_COMPARTMENT] = {
        "method": method,
        "params": {
            "labels_key": labels_key or "",
            "resolution": float(resolution),
            "n_neighbors": int(n_neighbors),
            "n_pcs": int(n_pcs),
            "min_score": float(min_score),
            "min_margin": float(min_margin),
            "neg_weight": float(neg_weight),
            "seed": seed,
            "markers": "shipped (tmescope/data/sc/compartment_markers.tsv)" if markers is None else "user table",
        },
        "coverage": coverage,
        "clusters": table,
    }
    _record(method, seed)
    return adata if copy else table


def _cluster_table(names: list[str], comps: list[str], res: ClusterLabels, *, min_margin: float) -> pd.DataFrame:
    rows = []
    for i, name in enumerate(names):
        top = int(np.nanargmax(np.where(np.isfinite(res.mean_scores[i]), res.mean_scores[i], -np.inf)))
        best = int(res.best[i])
        second = int(res.second[i])
        score = float(res.mean_scores[i, top])
        flag = ""
        if best < 0:
            flag = "unknown"
        elif res.margin[i] < min_margin:
            flag = "ambiguous"
        rows.append(
            {
                "cluster": name,
                "n_cells": int(res.n_cells[i]),
                "label": comps[best] if best >= 0 else UNKNOWN,
                "score": score,
                # for an unknown cluster the runner-up slot names its closest compartment
                "second_label": comps[top] if best < 0 else (comps[second] if second >= 0 else ""),
                "second_score": score if best < 0 else (float(res.mean_scores[i, second]) if second >= 0 else np.nan),
                "margin": float(res.margin[i]) if np.isfinite(res.margin[i]) else np.nan,
                "confidence": float(res.confidence[i]),
                "flag": flag,
            }
        )
    return pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS))


def tiny_markers() -> pd.DataFrame:
    """A three-compartment marker table for examples and tests (subset of the shipped table).

    Examples
    --------
    >>> sorted(tiny_markers()["compartment"].unique())
    ['b_cell', 'cd8_t', 'monocyte_macrophage']
    """
    t = marker_table()
    keep = t["compartment"].isin(["cd8_t", "b_cell", "monocyte_macrophage"]) & (t["direction"] == "+")
    return t[keep].reset_index(drop=True)


def _record(method: str, seed: int) -> None:
    from tmescope._provenance import current

    prov = current()
    if prov is not None:
        prov.params.setdefault("sc_annotation", {"method": method, "seed": seed})
