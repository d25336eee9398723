"""Deconvolution references: the shipped ones (TIL10, safeTME) and references built from single-cell data."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmescope._errors import InputError, InputTypeError, MissingKeyError
from tmescope.bulk._common import data_path, read_table

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["Reference", "build_reference", "get_reference", "references"]


@dataclass(frozen=True)
class Reference:
    """A deconvolution reference: signature profiles of cell types on a linear, TPM-like scale.

    Attributes
    ----------
    name
        Short name (``"til10"``, ``"safetme"``, or the user's).
    signature
        Genes x cell types, linear expression per cell type (TPM-like: same units as the bulk data).
    mrna_content
        Relative mRNA content per cell type, used to turn mRNA proportions into cell fractions.
    other_mrna_content
        mRNA content assumed for uncharacterised ("other") cells, in the same units.
    variance
        Optional genes x cell types variability; genes are then weighted as in EPIC.
    rnaseq_exclude
        Signature genes to drop for RNA-seq input (noisy in RNA-seq).
    weighting
        Gene weighting of the ``"epic"`` fit: ``"level"`` divides each gene's weight by its mean reference
        expression (residuals relative to the gene's level); ``"none"`` keeps absolute residuals, as the
        reference's authors fitted it (TIL10: quanTIseq's unweighted constrained least squares).
    citation, licence, description
        Where the reference comes from and what it may be used for.
    """

    name: str
    signature: pd.DataFrame
    mrna_content: pd.Series
    other_mrna_content: float
    variance: pd.DataFrame | None = None
    rnaseq_exclude: tuple[str, ...] = ()
    weighting: str = "level"
    citation: str = ""
    licence: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sig = self.signature
        if sig.shape[0] < sig.shape[1] or sig.shape[1] < 1:
            msg = f"Reference {self.name!r} has {sig.shape[0]} genes for {sig.shape[1]} cell types; it needs at least one cell type and as many genes as cell types."
            raise InputError(msg)
        if not sig.index.is_unique or not sig.columns.is_unique:
            msg = f"Reference {self.name!r}: gene and cell-type names must be unique."
            raise InputError(msg)
        values = sig.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all() or (values < 0).any():
            msg = f"Reference {self.name!r}: the signature must be finite, non-negative and linear (TPM-like)."
            raise InputError(msg)
        missing = [c for c in sig.columns if c not in self.mrna_content.index]
        if missing:
            msg = f"Reference {self.name!r}: no mRNA content for cell type(s) {missing}."
            raise InputError(msg)
        if self.weighting not in {"level", "none"}:
            msg = f"Reference {self.name!r}: weighting must be 'level' or 'none'; received {self.weighting!r}."
            raise InputError(msg)
        if self.variance is not None and not self.variance.index.equals(sig.index):
            msg = f"Reference {self.name!r}: `variance` must have the same genes (rows, same order) as `signature`."
            raise InputError(msg)

    @property
    def cell_types(self) -> list[str]:
        """The reference's cell types, in column order."""
        return list(self.signature.columns)

    def __repr__(self) -> str:
        return f"Reference({self.name!r}, {self.signature.shape[0]} genes x {self.signature.shape[1]} cell types)"


@cache
def _til10() -> Reference:
    sig = read_table("til10_signature.tsv").astype(np.float64)
    content = read_table("til10_mrna_content.tsv")["mrna_content"].astype(np.float64)
    noisy = tuple(data_path("til10_rnaseq_noisy_genes.txt").read_text().split())
    return Reference(
        name="til10",
        signature=sig,
        mrna_content=content,
        other_mrna_content=float(content.median()),
        rnaseq_exclude=noisy,
        weighting="none",
        citation="Finotello et al. 2019, Genome Med 11:34 (quanTIseq TIL10)",
        licence="BSD-3-Clause (Innsbruck Medical University); notice shipped",
        description="10 immune cell types of tumour infiltrates; fitted on 170 genes (153 for RNA-seq)",
    )


@cache
def _safetme() -> Reference:
    sig = read_table("safetme_signature.tsv").astype(np.float64)
    content = read_table("safetme_mrna_content.tsv")["mrna_content"].astype(np.float64)
    return Reference(
        name="safetme",
        signature=sig,
        mrna_content=content,
        other_mrna_content=float(content.median()),
        citation="Danaher et al. 2022, Nat Commun 13:385 (SpatialDecon safeTME)",
        licence="MIT (NanoString Technologies); notice shipped",
        description="18 immune and stromal cell types incl. fibroblasts and endothelial cells; 906 genes",
    )


_SHIPPED = {"til10": _til10, "safetme": _safetme}


def get_reference(reference: str | Reference) -> Reference:
    """The named shipped reference, or ``reference`` itself when it is a :class:`Reference`."""
    if isinstance(reference, Reference):
        return reference
    if not isinstance(reference, str):
        msg = f"`reference` must be a name ({sorted(_SHIPPED)}) or a `tmescope.bulk.Reference`; received {type(reference).__name__}."
        raise InputTypeError(msg)
    key = reference.lower()
    if key not in _SHIPPED:
        msg = f"Unknown reference {reference!r}; shipped references are {sorted(_SHIPPED)} (see `tmescope.bulk.references()`), or build one with `tmescope.bulk.build_reference`."
        raise InputError(msg)
    return _SHIPPED[key]()


def references() -> pd.DataFrame:
    """The shipped deconvolution references.

    Returns
    -------
    One row per reference: ``name``, ``n_genes``, ``n_cell_types``, ``cell_types``, ``citation``,
    ``licence``, ``description``.

    Examples
    --------
    >>> references()["name"].tolist()
    ['til10', 'safetme']
    """
    rows = []
    for name in _SHIPPED:
        ref = get_reference(name)
        rows.append(
            {
                "name": ref.name,
                "n_genes": ref.signature.shape[0],
                "n_cell_types": ref.signature.shape[1],
                "cell_types": ", ".join(ref.cell_types),
                "citation": ref.citation,
                "licence": ref.licence,
                "description": ref.description,
            }
        )
    return pd.DataFrame(rows)


def _select_markers(profiles: np.ndarray, n_markers: int, min_expr: float) -> np.ndarray:
    """Indices of the union of each cell type's most specific genes.

    Specificity of gene g for type k = log2(1 + p_gk) - log2(1 + max over other types of p_g.), among genes
    with p_gk >= ``min_expr``; the ``n_markers`` most specific positive genes of each type are kept.
    """
    logp = np.log2(1.0 + profiles)
    n_types = profiles.shape[1]
    chosen: list[int] = []
    for k in range(n_types):
        others = np.delete(logp, k, axis=1)
        spec = logp[:, k] - (others.max(axis=1) if n_types > 1 else 0.0)
        spec[profiles[:, k] < min_expr] = -np.inf
        order = np.argsort(-spec, kind="stable")[:n_markers]
        chosen.extend(int(i) for i in order if spec[i] > 0)
    return np.unique(np.asarray(chosen, dtype=np.int64))


def build_reference(
    adata_sc: ad.AnnData,
    *,
    groupby: str,
    sample_key: str | None = None,
    layer: str | None = None,
    n_markers: int = 50,
    name: str = "custom",
) -> Reference:
    """Build a deconvolution reference from annotated single-cell (or per-group pseudobulk) data.

    Counts are summed per (sample, cell type) pseudobulk (per cell type when ``sample_key`` is None),
    scaled to counts per million, and the cell-type profile is the mean over samples; the gene
    variability across samples weights genes as in EPIC. The ``n_markers`` most specific genes of each
    cell type (log fold change against the highest other type, expressed at >= 1 CPM) form the
    signature. The relative mRNA content of a cell type is its mean total counts per observation
    divided by the median of those means (1 for every type when observations are pseudobulks of
    unknown cell numbers, i.e. when ``adata_sc.X`` is not integer counts).

    Parameters
    ----------
    adata_sc
        Cells (or pseudobulks) x genes, raw counts (or any linear expression).
    groupby
        ``obs`` column with the cell type of each observation.
    sample_key
        ``obs`` column with the sample/patient of each observation, so each cell type's profile
        averages over samples and their spread gives the gene weights.
    layer
        Layer to use instead of ``adata_sc.X``.
    n_markers
        Marker genes per cell type.
    name
        Name of the new reference.

    Returns
    -------
    A :class:`Reference` usable as ``deconvolve(..., reference=ref)``. Nothing is written into ``adata_sc``.

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(1.0, size=(60, 200)).astype(float)
    >>> X[:20, :10] += 30; X[20:40, 10:20] += 30; X[40:, 20:30] += 30
    >>> obs = pd.DataFrame({"cell_type": ["A"] * 20 + ["B"] * 20 + ["C"] * 20}, index=[f"c{i}" for i in range(60)])
    >>> ref = build_reference(ad.AnnData(X, obs=obs), groupby="cell_type", n_markers=10)
    >>> ref.cell_types, ref.signature.shape[0] >= 30
    (['A', 'B', 'C'], True)
    """
    import anndata as ad

    if not isinstance(adata_sc, ad.AnnData):
        msg = f"`build_reference` expects an AnnData (cells x genes); received {type(adata_sc).__name__}."
        raise InputTypeError(msg)
    for key in (groupby, sample_key):
        if key is not None and key not in adata_sc.obs:
            msg = (
                f"`build_reference`: column {key!r} not in `adata_sc.obs` (columns: {list(adata_sc.obs.columns)[:10]})."
            )
            raise MissingKeyError(msg)
    if n_markers < 1:
        msg = f"`build_reference`: n_markers must be >= 1; received {n_markers}."
        raise InputError(msg)
    X = adata_sc.X if layer is None else adata_sc.layers[layer]
    X = sp.csr_matrix(X) if not sp.issparse(X) else X.tocsr()
    X = X.astype(np.float64)
    if X.nnz and (not np.isfinite(X.data).all() or X.data.min() < 0):
        msg = "`build_reference` needs non-negative linear counts (raw counts or CPM); found negative or non-finite values (log-normalised or scaled data?). Pass the raw counts layer with `layer=`."
        raise InputError(msg)
    groups = adata_sc.obs[groupby].astype(str).to_numpy()
    cell_types = sorted(set(groups))
    if len(cell_types) < 2:
        msg = f"`build_reference`: column {groupby!r} has {len(cell_types)} cell type(s); at least 2 are needed."
        raise InputError(msg)
    samples = adata_sc.obs[sample_key].astype(str).to_numpy() if sample_key is not None else np.zeros(len(groups), str)
    totals = np.asarray(X.sum(axis=1)).ravel()
    is_counts = X.nnz == 0 or np.allclose(X.data, np.round(X.data))

    n_genes = X.shape[1]
    profiles = np.zeros((n_genes, len(cell_types)))
    variance = np.zeros((n_genes, len(cell_types)))
    content = np.ones(len(cell_types))
    for k, ct in enumerate(cell_types):
        in_ct = groups == ct
        per_sample = []
        for s in sorted(set(samples[in_ct])):
            rows = np.flatnonzero(in_ct & (samples == s))
            pb = np.asarray(X[rows].sum(axis=0)).ravel()
            if pb.sum() > 0:
                per_sample.append(pb / pb.sum() * 1e6)
        if not per_sample:
            msg = f"`build_reference`: cell type {ct!r} has no counts."
            raise InputError(msg)
        stack = np.vstack(per_sample)
        profiles[:, k] = stack.mean(axis=0)
        variance[:, k] = stack.std(axis=0, ddof=1) if stack.shape[0] > 1 else 0.0
        content[k] = totals[in_ct].mean()
    if is_counts and adata_sc.n_obs > len(set(zip(groups, samples, strict=True))):
        content = content / np.median(content)
    else:
        content = np.ones(len(cell_types))
    markers = _select_markers(profiles, n_markers, min_expr=1.0)
    if markers.size < len(cell_types):
        msg = f"`build_reference`: only {markers.size} marker genes found for {len(cell_types)} cell types; the groups are not distinguishable in this data."
        raise InputError(msg)
    genes = adata_sc.var_names[markers]
    has_var = sample_key is not None and bool((variance[markers] > 0).any())
    return Reference(
        name=name,
        signature=pd.DataFrame(profiles[markers], index=genes, columns=cell_types),
        mrna_content=pd.Series(content, index=cell_types),
        other_mrna_content=float(np.median(content)),
        variance=pd.DataFrame(variance[markers], index=genes, columns=cell_types) if has_var else None,
        citation="built with tmescope.bulk.build_reference",
        licence="as the single-cell data",
        description=f"{len(cell_types)} cell types from {groupby!r}; {n_markers} markers per type",
        extra={"full_profiles": pd.DataFrame(profiles, index=adata_sc.var_names.copy(), columns=cell_types)},
    )
