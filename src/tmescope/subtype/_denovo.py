"""De novo TME subtypes: sample-correlation graph, seeded community detection, threshold scan, naming.

Pure array kernels (no AnnData). Following Bagaev et al. 2021: samples are nodes, an edge joins two
samples whose Pearson correlation over the scaled signatures exceeds a threshold (weight ``1 + r``),
communities are found by modularity optimisation, and the threshold is scanned; the partition with the
wanted number of clusters and the best cluster-quality index ``CH / DB / (silhouette shifted to >= 1)``
is kept. Clusters are then named IE/F, IE, F or D from their mean immune and stromal signal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from tmescope._errors import InputError
from tmescope.subtype._groups import SUBTYPE_AXES, SUBTYPES

#: Default edge thresholds scanned (correlation between samples).
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(np.round(np.arange(0.30, 0.651, 0.025), 3).tolist())

_METHODS = ("leiden", "louvain")


@dataclass(frozen=True)
class DeNovoResult:
    """Outcome of :func:`cluster_samples`."""

    #: Cluster index per sample (0..n_clusters-1, ordered by size, largest first).
    clusters: np.ndarray
    #: One row per scanned threshold: n_clusters, n_assigned, calinski_harabasz, davies_bouldin, silhouette, chosen.
    scan: pd.DataFrame
    #: The threshold of the kept partition.
    threshold: float


def _correlation(x: np.ndarray) -> np.ndarray:
    """Pearson correlation between rows; rows without variance correlate 0 with everything."""
    centred = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=1))
    norm[norm == 0] = np.inf
    unit = centred / norm[:, None]
    corr = unit @ unit.T
    np.fill_diagonal(corr, 1.0)
    return corr


def _full_graph(corr: np.ndarray, threshold: float) -> tuple[Any, np.ndarray]:
    """Graph of every pair correlated above ``threshold`` (weight = r), and its edge weights."""
    import igraph as ig

    n = corr.shape[0]
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    wts: list[np.ndarray] = []
    # Row blocks keep the temporary index arrays small on large cohorts.
    for lo in range(0, n, 1024):
        block = corr[lo : lo + 1024]
        rows, cols = np.nonzero(block > threshold)
        rows = rows + lo
        upper = cols > rows
        src.append(rows[upper])
        dst.append(cols[upper])
        wts.append(block[rows[upper] - lo, cols[upper]])
    weights = np.concatenate(wts) if wts else np.empty(0)
    edges = np.column_stack([np.concatenate(src), np.concatenate(dst)]) if src else np.empty((0, 2), dtype=int)
    graph = ig.Graph(n=n, edges=edges.tolist(), directed=False)
    graph.es["weight"] = weights.tolist()
    return graph, weights


def _communities(graph: Any, weights: np.ndarray, threshold: float, *, method: str, seed: int) -> np.ndarray:
    """Community index per node of the subgraph of edges with weight above ``threshold``."""
    import igraph as ig

    sub = graph.subgraph_edges(np.flatnonzero(weights > threshold).tolist(), delete_vertices=False)
    if method == "leiden":
        import leidenalg

        part = leidenalg.find_partition(sub, leidenalg.ModularityVertexPartition, weights="weight", seed=seed)
        return np.asarray(part.membership)
    # igraph's Louvain draws from the Python-level generator; give it its own seeded one and restore.
    ig.set_random_number_generator(random.Random(seed))
    try:
        return np.asarray(sub.community_multilevel(weights="weight").membership)
    finally:
        ig.set_random_number_generator(random)


def _relabel(membership: np.ndarray, min_size: int) -> np.ndarray:
    """Renumber communities by size (largest first, ties by first member); small ones become -1."""
    labels = np.full(membership.shape, -1, dtype=int)
    ids, first, counts = np.unique(membership, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    new = 0
    for idx in order:
        if counts[idx] < min_size:
            continue
        labels[membership == ids[idx]] = new
        new += 1
    return labels


def _quality(x: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    return (
        float(calinski_harabasz_score(x, labels)),
        float(davies_bouldin_score(x, labels)),
        float(silhouette_score(x, labels)),
    )


def knn_vote(
    x_ref: np.ndarray,
    labels_ref: np.ndarray,
    x_query: np.ndarray,
    *,
    k: int,
    exclude_self: bool = False,
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Majority vote of the ``k`` nearest reference rows (Euclidean) for each query row.

    ``exclude_self`` drops reference row ``i`` for query row ``i`` (query = reference); ``exclude`` gives, per
    query row, one reference row to leave out (``-1`` for none), e.g. the same case already in the reference.

    Ties between labels go to the tied label with the closest neighbour. Neighbour order is stable
    (ties in distance keep reference order), so the result is fully deterministic.

    Returns
    -------
    label
        Winning label per query row.
    share
        Fraction of the ``k`` neighbours with that label.
    neighbours
        Indices of the neighbours into ``x_ref``, nearest first (n_query x k).
    distances
        Their distances.

    Examples
    --------
    >>> ref = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]])
    >>> lab, share, nn, dist = knn_vote(ref, np.array(["a", "a", "a", "b", "b"]), np.array([[4.9]]), k=3)
    >>> lab.tolist(), share.round(2).tolist(), nn.tolist()
    (['b'], [0.67], [[3, 4, 2]])
    """
    x_ref = np.asarray(x_ref, dtype=float)
    x_query = np.asarray(x_query, dtype=float)
    labels_ref = np.asarray(labels_ref)
    n_ref = x_ref.shape[0]
    drops_one = exclude_self or (exclude is not None and bool((np.asarray(exclude) >= 0).any()))
    k_eff = min(k, n_ref - 1 if drops_one else n_ref)
    if k_eff < 1:
        msg = f"Need at least {2 if exclude_self else 1} reference sample(s) for neighbour votes; got {n_ref}."
        raise InputError(msg)
    sq = (x_query**2).sum(1)[:, None] + (x_ref**2).sum(1)[None, :] - 2.0 * x_query @ x_ref.T
    dist = np.sqrt(np.clip(sq, 0.0, None))
    if exclude_self:
        np.fill_diagonal(dist, np.inf)
    if exclude is not None:
        rows = np.flatnonzero(np.asarray(exclude) >= 0)
        dist[rows, np.asarray(exclude)[rows]] = np.inf
    neighbours = np.argsort(dist, axis=1, kind="stable")[:, :k_eff]
    nd = np.take_along_axis(dist, neighbours, axis=1)
    nl = labels_ref[neighbours]
    out_label = np.empty(x_query.shape[0], dtype=labels_ref.dtype)
    share = np.empty(x_query.shape[0])
    for i in range(x_query.shape[0]):
        values, counts = np.unique(nl[i], return_counts=True)
        best = counts.max()
        tied = set(values[counts == best].tolist())
        # The first neighbour (nearest) whose label is among the tied winners decides.
        winner = next(lbl for lbl in nl[i] if lbl in tied)
        out_label[i] = winner
        share[i] = best / k_eff
    return out_label, share, neighbours, nd


def cluster_samples(
    x: np.ndarray,
    *,
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS,
    n_clusters: int = 4,
    method: str = "louvain",
    seed: int = 0,
    min_cluster_size: int | None = None,
    k: int = 35,
) -> DeNovoResult:
    """Cluster samples (rows of scaled signature scores) by community detection on their correlation graph.

    Parameters
    ----------
    x
        Samples x signatures, scaled within the cohort.
    thresholds
        Edge thresholds (correlation) to scan.
    n_clusters
        Number of clusters wanted; among partitions with this many clusters the best by
        ``CH / DB / (silhouette - min + 1)`` is kept. When no threshold gives it, the best partition with
        2 or more clusters is kept.
    method
        ``"louvain"`` (igraph multilevel, seeded) or ``"leiden"`` (leidenalg, modularity, seeded).
    seed
        Seed of the community detection.
    min_cluster_size
        Communities smaller than this are not clusters; their samples (and samples with no edge) take the
        majority cluster of their ``k`` nearest clustered samples. Default: max(3, 2 % of samples).
    k
        Neighbours used for that assignment.

    Returns
    -------
    :class:`DeNovoResult`.
    """
    if method not in _METHODS:
        msg = f"Unknown community method {method!r}; expected one of {list(_METHODS)}."
        raise InputError(msg)
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    min_size = max(3, round(0.02 * n)) if min_cluster_size is None else int(min_cluster_size)
    corr = _correlation(x)
    graph, weights = _full_graph(corr, float(min(thresholds)))
    del corr
    rows = []
    partitions = []
    for t in thresholds:
        labels = _relabel(_communities(graph, weights, float(t), method=method, seed=seed), min_size)
        assigned = labels >= 0
        n_found = int(labels.max() + 1) if assigned.any() else 0
        ch = db = sc = np.nan
        if n_found >= 2 and assigned.sum() > n_found:
            ch, db, sc = _quality(x[assigned], labels[assigned])
        rows.append(
            {
                "threshold": float(t),
                "n_clusters": n_found,
                "n_assigned": int(assigned.sum()),
                "calinski_harabasz": ch,
                "davies_bouldin": db,
                "silhouette": sc,
            }
        )
        partitions.append(labels)
    scan = pd.DataFrame(rows)
    valid = scan["calinski_harabasz"].notna() & (scan["n_assigned"] >= 0.5 * n)
    pool = scan[valid & (scan["n_clusters"] == n_clusters)]
    if pool.empty:
        pool = scan[valid]
    if pool.empty:
        msg = (
            f"No threshold in {thresholds[0]}..{thresholds[-1]} split the {n} samples into 2 or more clusters "
            "covering half of them; the cohort may be too small or too homogeneous for de novo subtypes. "
            "Classify against a reference cohort instead (reference=tmescope.profile.default_reference())."
        )
        raise InputError(msg)
    sc_shift = pool["silhouette"] - pool["silhouette"].min() + 1.0
    index = (pool["calinski_harabasz"] / pool["davies_bouldin"] / sc_shift).astype(float)
    best = int(index.idxmax())
    scan["quality_index"] = np.nan
    scan.loc[index.index, "quality_index"] = index
    scan["chosen"] = scan.index == best
    labels = partitions[best].copy()
    missing = labels < 0
    if missing.any():
        lab, _, _, _ = knn_vote(x[~missing], labels[~missing], x[missing], k=k)
        labels[missing] = lab
    return DeNovoResult(clusters=labels, scan=scan, threshold=float(scan.loc[best, "threshold"]))


def name_clusters(x: np.ndarray, clusters: np.ndarray, immune_idx: list[int], stromal_idx: list[int]) -> dict[int, str]:
    """Name clusters IE/F, IE, F or D from their mean immune and stromal signal.

    With four clusters the names are assigned one-to-one, maximising the agreement between each cluster's
    (immune, stromal) centroid and the label's direction (IE/F: +,+; IE: +,-; F: -,+; D: -,-). With any
    other number each cluster takes the label of the quadrant its centroid falls in (relative to the cohort
    median, which is 0 after scaling), so two clusters can share a name.

    Examples
    --------
    >>> x = np.array([[2.0, 2.0], [2.0, -2.0], [-2.0, 2.0], [-2.0, -2.0]])
    >>> name_clusters(x, np.array([0, 1, 2, 3]), [0], [1])
    {0: 'IE/F', 1: 'IE', 2: 'F', 3: 'D'}
    """
    ids = np.unique(clusters)
    axes = np.array([[x[clusters == c][:, immune_idx].mean(), x[clusters == c][:, stromal_idx].mean()] for c in ids])
    names = list(SUBTYPES)
    directions = np.array([SUBTYPE_AXES[s] for s in names], dtype=float)
    if len(ids) == len(names):
        rows, cols = linear_sum_assignment(-(axes @ directions.T))
        return {int(ids[r]): names[c] for r, c in zip(rows, cols, strict=True)}
    out = {}
    for c, (imm, strom) in zip(ids, axes, strict=True):
        out[int(c)] = {(True, True): "IE/F", (True, False): "IE", (False, True): "F", (False, False): "D"}[
            (bool(imm > 0), bool(strom > 0))
        ]
    return out
