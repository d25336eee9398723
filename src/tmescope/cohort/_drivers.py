"""TME drivers: genes whose expression associates with a TME feature across tumours, adjusted for purity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from tmescope._errors import InputError, InputTypeError
from tmescope._logging import format_items
from tmescope.cohort import _stats
from tmescope.cohort._data import check_features

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anndata import AnnData

DRIVER_COLUMNS = ("rank", "gene", "rho", "p", "q", "rho_unadjusted", "n", "excluded")
#: Genes of the features that are formulas rather than gene sets of the signature library.
FORMULA_GENES = {
    "immunotherapy.cyt_rooney2015": ("GZMA", "PRF1"),
    "immunotherapy.tide_ctl_level_jiang2018": ("CD8A", "CD8B", "GZMA", "GZMB", "PRF1"),
}


def feature_genes(feature: str) -> tuple[str, ...]:
    """Genes that define a feature: a formula's genes, or the signature-library set its name refers to.

    Examples
    --------
    >>> feature_genes("immunotherapy.ifng_6gene_ayers2017")
    ('IDO1', 'CXCL10', 'CXCL9', 'HLA-DRA', 'STAT1', 'IFNG')
    >>> feature_genes("composition.cd8_t")
    ()
    """
    from tmescope.io import feature_name
    from tmescope.signatures import get, list_sets

    if feature in FORMULA_GENES:
        return FORMULA_GENES[feature]
    family = feature.partition(".")[0]
    sets = list_sets()
    hit = sets[[feature_name(family, n) == feature for n in sets["name"]]]
    return tuple(get(str(hit["name"].iloc[0])).genes) if len(hit) else ()


def _residualise(y: np.ndarray, covars: np.ndarray) -> np.ndarray:
    """Residuals of each column of ``y`` (n x k) on an intercept and ``covars`` (n x c) by least squares.

    The projection uses einsum's own loops (not BLAS), so each column's result is the same bits whatever the
    number of columns in the chunk.
    """
    design = np.column_stack([np.ones(len(y)), covars])
    q, _ = np.linalg.qr(design)
    coef = np.einsum("ij,ik->jk", q, y)
    return y - np.einsum("ij,jk->ik", q, coef)


def partial_correlation(
    x: np.ndarray, y: np.ndarray, covars: np.ndarray | None = None, *, method: str = "spearman"
) -> tuple[np.ndarray, np.ndarray]:
    """Correlation of each column of ``x`` (n x g) with ``y`` (n), adjusted for ``covars`` (n x c).

    Spearman: everything is ranked first, then both sides are regressed on the covariates and the residuals
    correlated (partial Spearman, as TIMER adjusts for purity). p from the t distribution with n − 2 − c degrees of
    freedom. Constant columns give NaN.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> purity = rng.random(50); y = rng.normal(size=50)
    >>> x = np.column_stack([y + purity, purity * 3 + rng.normal(0, 0.1, 50)])
    >>> r, p = partial_correlation(x, y, purity[:, None])
    >>> bool(r[0] > 0.9), bool(abs(r[1]) < 0.3)
    (True, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    c = np.empty((len(y), 0)) if covars is None else np.asarray(covars, dtype=float).reshape(len(y), -1)
    if method == "spearman":
        x = stats.rankdata(x, axis=0)
        y = stats.rankdata(y)
        c = stats.rankdata(c, axis=0) if c.shape[1] else c
    elif method != "pearson":
        msg = f"method must be 'spearman' or 'pearson'; got {method!r}."
        raise InputError(msg)
    rx = _residualise(x, c)
    ry = _residualise(y[:, None], c)[:, 0]
    rx = rx - rx.mean(axis=0)
    ry = ry - ry.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.einsum("ik,i->k", rx, ry)
        r = num / np.sqrt(np.einsum("ik,ik->k", rx, rx) * np.einsum("i,i->", ry, ry))
        r = np.clip(r, -1.0, 1.0)
        df = len(y) - 2 - c.shape[1]
        t = r * np.sqrt(df / np.maximum(1 - r**2, 1e-300))
        p = 2 * stats.t.sf(np.abs(t), df)
    return r, p


def tme_drivers(
    adata: AnnData,
    *,
    features: pd.DataFrame,
    feature: str,
    purity: str | None = "estimate.purity",
    layer: str | None = None,
    method: str = "spearman",
    exclude: Sequence[str] | str = "auto",
    correction: str = "fdr_bh",
    min_samples: int = 20,
    chunk_size: int = 2000,
) -> pd.DataFrame:
    """Genome-wide scan for genes whose expression associates with a TME feature, adjusted for tumour purity.

    For every gene: partial Spearman (or Pearson) correlation between its expression and the feature, adjusted for
    purity (as TIMER does); p from the t distribution, ``q`` over genes, ``rho_unadjusted`` for comparison. Genes are
    processed in chunks (the result does not depend on ``chunk_size``). Genes that define the feature (give them in
    ``exclude``) correlate by construction: they stay in the table with ``excluded`` set and no q-value.

    Parameters
    ----------
    adata
        Samples x genes expression (any monotone scale for Spearman).
    features
        Tidy feature table holding ``feature`` and ``purity`` for the same samples.
    feature
        The TME feature, e.g. ``"immunotherapy.cyt_rooney2015"``.
    purity
        Feature used as the purity covariate (``None``: unadjusted).
    layer
        Expression layer (default ``X``).
    method
        ``"spearman"`` or ``"pearson"``.
    exclude
        Genes left out of the correction; ``"auto"``: the feature's own genes (:func:`feature_genes`).
    correction
        Multiple-testing correction.
    min_samples
        Fewest samples with the feature, purity and expression (refused below).
    chunk_size
        Genes per chunk.

    Returns
    -------
    pandas.DataFrame with :data:`DRIVER_COLUMNS`, ranked by p. ``attrs``: ``feature``, ``purity``, ``n``.

    Examples
    --------
    >>> import anndata as ad
    >>> from tmescope.io import features_from_frame
    >>> rng = np.random.default_rng(0)
    >>> pur = rng.uniform(0.3, 0.9, 40); f = rng.normal(size=40)
    >>> x = np.column_stack([f + rng.normal(0, 0.3, 40), pur, rng.normal(size=40)])
    >>> adata = ad.AnnData(x, obs=pd.DataFrame(index=[f"s{i}" for i in range(40)]), var=pd.DataFrame(index=["G1", "G2", "G3"]))
    >>> ft = features_from_frame(pd.DataFrame({"x": f, "purity": pur}, index=adata.obs_names), prefix="est", unit="", method="")
    >>> tme_drivers(adata, features=ft, feature="est.x", purity="est.purity")["gene"].iloc[0]
    'G1'
    """
    from anndata import AnnData

    if not isinstance(adata, AnnData):
        msg = f"`adata` must be an AnnData (samples x genes); got {type(adata).__name__}."
        raise InputTypeError(msg)
    table = check_features(features)
    wanted = [feature] + ([purity] if purity else [])
    missing = [f for f in wanted if f not in set(table["feature"])]
    if missing:
        msg = (
            f"Feature(s) {format_items(missing)} not in the feature table; run `tmescope profile` on these samples "
            "(purity comes from ESTIMATE: 'estimate.purity'), or pass purity=None for an unadjusted scan."
        )
        raise InputError(msg)
    wide = table[table["feature"].isin(wanted)].pivot_table(index="sample", columns="feature", values="value")
    wide = wide.reindex(adata.obs_names.astype(str))
    ok = wide.notna().all(axis=1).to_numpy()
    n = int(ok.sum())
    if n < min_samples:
        msg = (
            f"Only {n} sample(s) have expression, {feature!r}" + (f" and {purity!r}" if purity else "") + f"; at least "
            f"{min_samples} are needed for a genome-wide scan. Check that the sample IDs of the feature table match "
            "adata.obs_names."
        )
        raise InputError(msg)
    mat = adata.layers[layer] if layer is not None else adata.X
    y = wide.loc[ok, feature].to_numpy(float)
    cov = wide.loc[ok, [purity]].to_numpy(float) if purity else None
    genes = adata.var_names.astype(str)
    rho = np.full(len(genes), np.nan)
    pv = np.full(len(genes), np.nan)
    raw = np.full(len(genes), np.nan)
    idx = np.flatnonzero(ok)
    for start in range(0, len(genes), chunk_size):
        block = mat[idx, start : start + chunk_size]
        block = np.asarray(block.toarray() if hasattr(block, "toarray") else block, dtype=float)
        with np.errstate(invalid="ignore"):
            r, p = partial_correlation(block, y, cov, method=method)
            r0, _ = partial_correlation(block, y, None, method=method)
        rho[start : start + chunk_size] = r
        pv[start : start + chunk_size] = p
        raw[start : start + chunk_size] = r0
    excluded = genes.isin(list(feature_genes(feature) if isinstance(exclude, str) and exclude == "auto" else exclude))
    out = pd.DataFrame({"gene": genes, "rho": rho, "p": pv, "rho_unadjusted": raw, "n": n, "excluded": excluded})
    p_for_q = np.where(excluded, np.nan, pv)
    out["q"] = _stats.adjust_pvalues(p_for_q, method=correction)
    out = out.sort_values(["excluded", "p", "gene"], kind="stable", na_position="last").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out = out.loc[:, list(DRIVER_COLUMNS)]
    info: dict[str, Any] = {
        "feature": feature,
        "purity": purity or "",
        "n": n,
        "method": method,
        "excluded": out.loc[out["excluded"], "gene"].tolist(),
    }
    out.attrs.update(info)
    return out
