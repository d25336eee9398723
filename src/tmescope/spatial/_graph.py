"""Spatial neighbour graphs (kNN, radius, Delaunay), built per slide and never across slides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.spatial import Delaunay, cKDTree

from tmescope import _keys
from tmescope._errors import InputError, MissingKeyError
from tmescope._registry import register
from tmescope._settings import settings
from tmescope.spatial._input import check_spatial, per_slide, slide_groups

if TYPE_CHECKING:
    import anndata as ad

GraphMethod = Literal["knn", "radius", "delaunay"]


def knn_edges(coords: np.ndarray, k: int, *, n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges from each point to its ``k`` nearest other points (kernel; rows, cols, lengths)."""
    n = coords.shape[0]
    k_eff = min(k, n - 1)
    if k_eff <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    dist, idx = cKDTree(coords).query(coords, k=k_eff + 1, workers=n_jobs)
    keep = idx != np.arange(n)[:, None]
    # a point whose duplicates push it out of its own list keeps its k nearest instead
    full = keep.sum(axis=1) > k_eff
    keep[full, -1] = False
    rows = np.repeat(np.arange(n, dtype=np.int64), k_eff)
    return rows, idx[keep].astype(np.int64), dist[keep]


def radius_edges(coords: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges between every pair of points closer than ``radius`` (both directions; kernel)."""
    pairs = cKDTree(coords).query_pairs(radius, output_type="ndarray").astype(np.int64)
    d = np.sqrt(((coords[pairs[:, 0]] - coords[pairs[:, 1]]) ** 2).sum(axis=1))
    return np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]], np.r_[d, d]


def delaunay_edges(coords: np.ndarray, max_edge: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Delaunay triangulation edges (both directions), dropping those longer than ``max_edge`` (kernel)."""
    n = coords.shape[0]
    if n < 3:
        return radius_edges(coords, np.inf if max_edge is None else max_edge) if n == 2 else knn_edges(coords, 1)
    try:
        tri = Delaunay(coords)
    except Exception:
        return knn_edges(coords, 2)
    indptr, indices = tri.vertex_neighbor_vertices
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    cols = indices.astype(np.int64)
    d = np.sqrt(((coords[rows] - coords[cols]) ** 2).sum(axis=1))
    if max_edge is not None:
        ok = d <= max_edge
        rows, cols, d = rows[ok], cols[ok], d[ok]
    return rows, cols, d


def _slide_edges(args: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of one slide (chunk function of :func:`build_graph`)."""
    c, method, n_neighs, radius, max_edge, n_jobs = args
    if method == "knn":
        return knn_edges(c, n_neighs, n_jobs=n_jobs)
    if method == "radius":
        return radius_edges(c, float(radius))
    return delaunay_edges(c, max_edge)


def build_graph(
    coords: np.ndarray,
    groups: list[np.ndarray],
    *,
    method: GraphMethod = "knn",
    n_neighs: int = 6,
    radius: float | None = None,
    max_edge: float | None = None,
    n_jobs: int = 1,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Connectivities and edge lengths of a per-group graph (kernel; groups are row positions of each slide)."""
    n = coords.shape[0]
    rr, cc, dd = [], [], []
    params = (method, n_neighs, radius, max_edge, n_jobs)
    edges = per_slide(_slide_edges, groups, load=lambda pos: (coords[pos], *params), key="spatial_graph")
    for pos, (r, col, d) in zip(groups, edges, strict=True):
        rr.append(pos[r])
        cc.append(pos[col])
        dd.append(d)
    rows = np.concatenate(rr) if rr else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cc) if cc else np.zeros(0, dtype=np.int64)
    dist = np.concatenate(dd) if dd else np.zeros(0)
    dmat = sp.csr_matrix((dist.astype(np.float32), (rows, cols)), shape=(n, n))
    dmat.sort_indices()
    conn = sp.csr_matrix((np.ones(dmat.nnz, dtype=np.float32), dmat.indices.copy(), dmat.indptr.copy()), shape=(n, n))
    return conn, dmat


@register(
    name="spatial_neighbors",
    topic="spatial",
    modality="spatial",
    citation="kNN / radius / Delaunay graph as in squidpy.gr.spatial_neighbors (Palla et al. 2022)",
    scale="coordinates in µm",
)
def spatial_neighbors(
    adata: ad.AnnData,
    *,
    method: GraphMethod = "knn",
    n_neighs: int = 6,
    radius: float | None = None,
    max_edge: float | None = None,
    n_jobs: int | None = None,
    copy: bool = False,
) -> ad.AnnData | None:
    """Spatial neighbour graph of every slide (cells of different slides are never linked).

    Parameters
    ----------
    adata
        AnnData from :func:`read_spatial` (``obsm["spatial"]`` in µm, ``obs["slide"]``).
    method
        ``"knn"`` (each cell to its ``n_neighs`` nearest cells; directed, like squidpy's generic kNN),
        ``"radius"`` (all pairs closer than ``radius`` µm) or ``"delaunay"`` (triangulation edges, those longer than
        ``max_edge`` µm dropped).
    n_neighs
        Neighbours per cell for ``"knn"``.
    radius
        Radius in µm for ``"radius"``.
    max_edge
        Longest Delaunay edge kept, in µm (``None`` keeps all).
    n_jobs
        Threads for the kNN search (results never depend on it).
    copy
        Return a changed copy instead of writing into ``adata``.

    Returns
    -------
    None (or the copy); writes ``obsp["spatial_connectivities"]`` (0/1, CSR), ``obsp["spatial_distances"]``
    (edge lengths in µm) and ``uns["spatial_neighbors"]`` (method and parameters).

    Examples
    --------
    >>> import pandas as pd
    >>> from tmescope.spatial import read_spatial
    >>> t = pd.DataFrame({"x": [0.0, 1, 2, 0, 1], "y": [0.0, 0, 0, 9, 9], "cell_type": list("ABABA"),
    ...                   "slide": ["s1", "s1", "s1", "s2", "s2"]})
    >>> a = read_spatial(t, unit="um")
    >>> spatial_neighbors(a, n_neighs=1)
    >>> int(a.obsp["spatial_connectivities"][:3, 3:].sum())  # no edge between slides
    0
    """
    if method not in ("knn", "radius", "delaunay"):
        msg = f"method must be 'knn', 'radius' or 'delaunay'; received {method!r}."
        raise InputError(msg)
    if method == "knn" and (not isinstance(n_neighs, int | np.integer) or n_neighs < 1):
        msg = f"n_neighs must be a positive integer; received {n_neighs!r}."
        raise InputError(msg)
    if method == "radius" and (radius is None or not radius > 0):
        msg = f"method='radius' needs a positive radius in µm; received radius={radius!r}."
        raise InputError(msg)
    if max_edge is not None and not max_edge > 0:
        msg = f"max_edge must be a positive length in µm or None; received {max_edge!r}."
        raise InputError(msg)
    if copy:
        adata = adata.copy()
    coords, _ = check_spatial(adata, cell_type_key=None) if _keys.OBS_CELL_TYPE in adata.obs else _coords(adata)
    groups = [pos for _, pos in slide_groups(adata)]
    conn, dist = build_graph(
        coords,
        groups,
        method=method,
        n_neighs=n_neighs,
        radius=radius,
        max_edge=max_edge,
        n_jobs=n_jobs or settings.n_jobs,
    )
    adata.obsp[_keys.OBSP_SPATIAL_CONN] = conn
    adata.obsp[_keys.OBSP_SPATIAL_DIST] = dist
    adata.uns[_keys.UNS_SPATIAL_GRAPH] = {
        "method": method,
        "n_neighs": int(n_neighs) if method == "knn" else -1,
        "radius": float(radius) if radius is not None else float("nan"),
        "max_edge": float(max_edge) if max_edge is not None else float("nan"),
        "n_edges": int(conn.nnz),
        "mean_degree": float(conn.nnz / max(adata.n_obs, 1)),
    }
    return adata if copy else None


def _coords(adata: ad.AnnData) -> tuple[np.ndarray, None]:
    if "spatial" not in adata.obsm:
        msg = "adata.obsm['spatial'] is missing; read the data with tmescope.spatial.read_spatial(..., unit=...) first."
        raise InputError(msg)
    return np.ascontiguousarray(np.asarray(adata.obsm["spatial"], dtype=np.float64)[:, :2]), None


def get_graph(adata: ad.AnnData) -> sp.csr_matrix:
    """The stored connectivities, or a clear error naming the function that builds them."""
    if _keys.OBSP_SPATIAL_CONN not in adata.obsp:
        msg = f"Key {_keys.OBSP_SPATIAL_CONN!r} not in adata.obsp; run tmescope.spatial.spatial_neighbors(adata) first."
        raise MissingKeyError(msg)
    return sp.csr_matrix(adata.obsp[_keys.OBSP_SPATIAL_CONN])
