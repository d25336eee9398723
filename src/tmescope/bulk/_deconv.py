"""Reference-based deconvolution into absolute cell fractions, with bootstrap intervals and a fit value.

Three fits share one pipeline (:func:`deconvolve_kernel`):

- ``"epic"``: EPIC's approach (Racle et al. 2017): weighted least squares on the signature genes with
  fractions >= 0 and sum <= 1, so that 1 - sum is the mRNA share of uncharacterised ("other") cells;
  genes are weighted by EPIC's signal-to-noise weights (when the reference has a variability), divided by
  the gene's mean reference level unless the reference says otherwise (TIL10 is fitted unweighted, as
  quanTIseq does; see :func:`_epic_weights`);
- ``"nnls"``: non-negative least squares without the sum constraint (sum scaled down to 1 when above);
- ``"svr"``: CIBERSORT's ν-support-vector regression (Newman et al. 2015) on the standardised
  signature, ν chosen among 0.25/0.5/0.75 by reconstruction error; its relative fractions are put on an
  absolute scale by a non-negative least-squares scale factor capped at 1.

Each fit gives mRNA proportions; dividing by each cell type's mRNA content and renormalising gives cell
fractions, including "other". Intervals come from a bootstrap that resamples signature genes with replacement
and adds a model-error term scaled by the sample's own residual spread (:func:`residual_scale`), whose size
(:data:`MODEL_ERROR`) was calibrated on simulated mixtures (:mod:`tmescope.bulk._calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from tmescope._errors import CoverageWarning, InputError
from tmescope._execution import map_chunks
from tmescope._keys import OBS_FIT, OBS_FIT_FLAG, OBSM_FRACTIONS, OBSM_FRACTIONS_HIGH, OBSM_FRACTIONS_LOW, UNS_INPUT
from tmescope._logging import warn
from tmescope._registry import register
from tmescope._settings import settings
from tmescope.bulk._common import check_adata, on_scale
from tmescope.bulk._reference import Reference, get_reference
from tmescope.bulk._solvers import simplex_ls_batch

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["METHODS", "DeconvolutionResult", "deconvolve", "deconvolve_kernel"]

Method = Literal["epic", "nnls", "svr"]
METHODS: tuple[str, ...] = ("epic", "nnls", "svr")
OTHER = "other"
UNS_DECONV = "deconvolution"
#: Samples whose fit (Pearson r of observed vs reconstructed signature genes) is below this are flagged
#: ``poor_fit``, per (method, shipped reference): the 2.5% quantile of the fit over 226 tumours of seven published
#: cohorts (melanoma, ccRCC, PDAC, GBM, NSCLC; ``scripts/calibrate_deconvolution.py``), so a flagged sample fits
#: worse than 97.5% of real tumours do. Uncharacterised tumour and stromal cells expressing signature genes lower
#: the fit of every tumour, most with TIL10 (immune cells only): its median over those tumours is 0.27.
POOR_FIT_BY_CONFIG: dict[tuple[str, str], float] = {
    ("epic", "til10"): 0.05,
    ("epic", "safetme"): 0.22,
    ("nnls", "til10"): 0.05,
    ("nnls", "safetme"): 0.24,
    ("svr", "til10"): -0.01,
    ("svr", "safetme"): 0.14,
}
#: Threshold for references built by the user (no tumour cohort to calibrate on).
POOR_FIT = 0.5
#: Model-error multiplier of the bootstrap (see :func:`deconvolve_kernel`), calibrated on simulated mixtures.
MODEL_ERROR = 0.75
#: Below this share of the reference's signature genes present in the data, results are flagged.
LOW_COVERAGE = 0.7
_SVR_NUS = (0.25, 0.5, 0.75)
_CHUNK = 16
#: Per-sample sums taken as TPM (used as given) rather than rescaled to one million.
_TPM_SUM = (0.5e6, 1.01e6)


@dataclass(frozen=True)
class DeconvolutionResult:
    """Arrays returned by :func:`deconvolve_kernel` (samples in rows; cell types then "other" in columns)."""

    fractions: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    fit: np.ndarray
    boot: np.ndarray | None


def _epic_weights(ref: np.ndarray, var: np.ndarray | None, *, level: bool = True) -> np.ndarray:
    """Gene weights of the "epic" fit.

    EPIC's signal-to-noise weights (sum over cell types of profile / variability, capped at 100 x their
    median) when the reference has a variability, else 1; with ``level``, divided by the gene's mean
    reference expression, so residuals count relative to the gene's level (Poisson-like) and a few very
    highly expressed genes (e.g. immunoglobulins) do not decide the fit alone.
    """
    w = np.ones(ref.shape[0])
    if var is not None:
        w = (ref / (var + 1e-12)).sum(axis=1)
        positive = w[w > 0]
        if positive.size:
            w = np.minimum(w, 100.0 * float(np.median(positive)))
    if not level:
        return w
    mean_level = ref.mean(axis=1)
    positive_level = mean_level[mean_level > 0]
    floor = max(1e-3, 0.01 * float(np.median(positive_level))) if positive_level.size else 1.0
    return w / np.maximum(mean_level, floor)


def _cls_fit(R: np.ndarray, Y: np.ndarray, W: np.ndarray, cap: float) -> np.ndarray:
    """Constrained LS for mixtures ``Y`` (S, n) or (B, S, n) with per-problem gene weights ``W`` (B, n): (B, S, K)."""
    RR = np.einsum("gk,gl->gkl", R, R).reshape(R.shape[0], -1)
    G = (W @ RR).reshape(W.shape[0], R.shape[1], R.shape[1])
    H = np.einsum("bg,gk,bsg->bsk", W, R, Y) if Y.ndim == 3 else np.einsum("bg,gk,sg->bsk", W, R, Y)
    B, S, K = H.shape
    Gb = np.ascontiguousarray(np.broadcast_to(G[:, None], (B, S, K, K)).reshape(B * S, K, K))
    out = simplex_ls_batch(Gb, np.ascontiguousarray(H.reshape(B * S, K)), cap)
    out = out.reshape(B, S, K)
    if cap <= 0:
        total = out.sum(axis=2, keepdims=True)
        out = np.where(total > 1.0, out / np.maximum(total, 1e-300), out)
    return out


def _svr_one(
    R: np.ndarray, y: np.ndarray, weight: np.ndarray | None, nus: tuple[float, ...]
) -> tuple[np.ndarray, float]:
    from sklearn.svm import NuSVR

    keep = weight > 0 if weight is not None else np.ones(R.shape[0], bool)
    Rk, yk = R[keep], y[keep]
    wk = weight[keep] if weight is not None else None
    Xs = (Rk - Rk.mean()) / Rk.std()
    sd = yk.std()
    if sd == 0:
        return np.zeros(R.shape[1]), nus[0]
    ys = (yk - yk.mean()) / sd
    best, best_rmse, best_nu = np.zeros(R.shape[1]), np.inf, nus[0]
    for nu in nus:
        model = NuSVR(kernel="linear", nu=nu, C=1.0)
        model.fit(Xs, ys, sample_weight=wk)
        coef = np.clip(np.asarray(model.coef_).ravel(), 0.0, None)
        if coef.sum() <= 0:
            continue
        rel = coef / coef.sum()
        rmse = float(np.sqrt(np.mean((Xs @ rel - ys) ** 2)))
        if rmse < best_rmse:
            best, best_rmse, best_nu = rel, rmse, nu
    if best.sum() <= 0:
        return best, best_nu
    recon = Rk @ best
    denom = float(recon @ recon if wk is None else (wk * recon) @ recon)
    num = float(recon @ yk if wk is None else (wk * recon) @ yk)
    scale = min(1.0, max(0.0, num / denom)) if denom > 0 else 0.0
    return best * scale, best_nu


def _svr_fit(
    R: np.ndarray, Y: np.ndarray, W: np.ndarray | None, nus: list[tuple[float, ...]]
) -> tuple[np.ndarray, list[float]]:
    if W is None:
        S = Y.shape[0]
        res = [_svr_one(R, Y[s], None, nus[s]) for s in range(S)]
        return np.stack([r[0] for r in res])[None], [r[1] for r in res]
    S = Y.shape[-2]
    out = np.empty((W.shape[0], S, R.shape[1]))
    for b in range(W.shape[0]):
        for s in range(S):
            out[b, s] = _svr_one(R, Y[b, s] if Y.ndim == 3 else Y[s], W[b], nus[s])[0]
    return out, []


def _to_cell_fractions(p: np.ndarray, content: np.ndarray, other_content: float) -> np.ndarray:
    """Turn mRNA proportions (..., K) into cell fractions (..., K + 1) with "other" last."""
    other = np.clip(1.0 - p.sum(axis=-1, keepdims=True), 0.0, None)
    full = np.concatenate([p, other], axis=-1)
    cells = full / np.append(content, other_content)
    total = cells.sum(axis=-1, keepdims=True)
    return np.divide(cells, total, out=np.zeros_like(cells), where=total > 0)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.divide((a * b).sum(axis=1), den, out=np.full(a.shape[0], np.nan), where=den > 0)


def residual_scale(Y: np.ndarray, recon: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Robust spread of each sample's log residuals on the signature genes (the model error's size).

    ``1.4826 x MAD`` of ``log((y + e) / (y_hat + e))`` over genes, with ``e`` 5% of the median gene level of the
    reference (so that genes near zero in both do not dominate). Under a reference whose profiles are off by
    a log-normal factor of spread ``tau`` per gene, this estimates ``tau`` (signature genes are mostly
    specific to one cell type); cells the reference does not characterise add to it.

    Examples
    --------
    >>> R = np.array([[10.0, 0.0], [0.0, 10.0], [5.0, 5.0]])
    >>> y = R @ np.array([0.3, 0.5])
    >>> residual_scale(y[None], y[None], R).tolist()
    [0.0]
    """
    level = R.mean(axis=1)
    positive = level[level > 0]
    eps = 0.05 * float(np.median(positive)) if positive.size else 1.0
    d = np.log((np.clip(Y, 0.0, None) + eps) / (np.clip(recon, 0.0, None) + eps))
    med = np.median(d, axis=1, keepdims=True)
    return 1.4826 * np.median(np.abs(d - med), axis=1)


def deconvolve_kernel(
    Y: np.ndarray,
    R: np.ndarray,
    *,
    content: np.ndarray,
    other_content: float,
    method: str = "epic",
    variance: np.ndarray | None = None,
    level_weighting: bool = True,
    n_boot: int = 200,
    ci: float = 0.95,
    model_error: float | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    keep_boot: bool = False,
) -> DeconvolutionResult:
    """Deconvolve mixtures on the signature genes into cell fractions with bootstrap intervals.

    Parameters
    ----------
    Y
        Samples x signature genes, linear, on the reference's scale (e.g. TPM).
    R
        Signature genes x cell types, linear.
    content, other_content
        mRNA content per cell type and of the uncharacterised cells.
    method
        ``"epic"``, ``"nnls"`` or ``"svr"``.
    variance
        Optional genes x cell types variability (EPIC gene weights).
    level_weighting
        Divide the "epic" gene weights by the gene's mean reference level (see :func:`_epic_weights`).
    n_boot, ci, seed
        Bootstrap replicates (0 for none), interval level, and seed. The gene resamples and the model-error
        draws are drawn once from ``seed`` and shared by all samples, so a sample's result does not depend
        on the others.
    model_error
        Size of the model-error term of the bootstrap, as a multiple of the sample's residual spread
        (:func:`residual_scale`): each replicate multiplies the sample's signature genes by
        ``exp(model_error x scale x z_g)`` with ``z_g`` standard normal, on top of resampling genes.
        ``None`` uses :data:`MODEL_ERROR` (calibrated on simulated mixtures, see
        :mod:`tmescope.bulk._calibration`); 0 gives gene resampling alone.
    n_jobs
        Threads over chunks of samples; results do not depend on it.
    keep_boot
        Also return the (n_boot, samples, K + 1) bootstrap fractions.

    Returns
    -------
    :class:`DeconvolutionResult`: fractions, interval bounds, per-sample fit (Pearson r between observed
    and reconstructed signature genes) and optionally the bootstrap draws.

    Examples
    --------
    >>> R = np.array([[10.0, 0.0], [0.0, 10.0], [5.0, 5.0]])
    >>> Y = (R @ np.array([0.3, 0.5]))[None, :]
    >>> res = deconvolve_kernel(Y, R, content=np.ones(2), other_content=1.0, n_boot=20)
    >>> res.fractions.round(3).tolist()
    [[0.3, 0.5, 0.2]]
    """
    if method not in METHODS:
        msg = f"Unknown deconvolution method {method!r}; choose one of {list(METHODS)} (see `tmescope.bulk.methods()`)."
        raise InputError(msg)
    Y = np.asarray(Y, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    n_genes = R.shape[0]
    w = _epic_weights(R, variance, level=level_weighting) if method == "epic" else np.ones(n_genes)

    def fit(Yc: np.ndarray, W: np.ndarray, nus: list[tuple[float, ...]]) -> np.ndarray:
        if method == "svr":
            return _svr_fit(R, Yc, W, nus)[0]
        return _cls_fit(R, Yc, W, cap=1.0 if method == "epic" else 0.0)

    S = Y.shape[0]
    point_nus: list[float] = [0.0] * S
    if method == "svr":
        p_full, point_nus = _svr_fit(R, Y, None, [_SVR_NUS] * S)
        p = p_full[0]
    else:
        p = fit(Y, w[None], [])[0]
    fractions = _to_cell_fractions(p, content, other_content)
    recon = p @ R.T
    fitv = _pearson_rows(Y, recon)
    c = MODEL_ERROR if model_error is None else float(model_error)

    low = np.full_like(fractions, np.nan)
    high = np.full_like(fractions, np.nan)
    boot_all = None
    if n_boot > 0:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        counts = rng.multinomial(n_genes, np.full(n_genes, 1.0 / n_genes), size=n_boot).astype(np.float64)
        W = counts * w[None]
        Z = rng.standard_normal((n_boot, n_genes))
        spread = c * residual_scale(Y, recon, R) if c > 0 else np.zeros(S)
        chunks = [np.arange(i, min(i + _CHUNK, S)) for i in range(0, S, _CHUNK)]

        def run(part: tuple[np.ndarray, np.ndarray, list[tuple[float, ...]]]) -> np.ndarray:
            Yc, sc, nus = part
            if c > 0:
                Yc = Yc[None] * np.exp(sc[None, :, None] * Z[:, None, :])
            return _to_cell_fractions(fit(Yc, W, nus), content, other_content)

        # one execution layer: threads in-process, or tasks when tmescope.settings.client is set
        parts = map_chunks(
            run,
            chunks,
            ids=[f"samples {idx[0]}..{idx[-1]}" for idx in chunks],
            load=lambda idx: (Y[idx], spread[idx], [(point_nus[i],) for i in idx]),
            key="bootstrap",
            desc="bootstrap",
            n_jobs=n_jobs,
        )
        boot_all = np.concatenate(parts, axis=1)
        alpha = (1.0 - ci) / 2.0
        low = np.quantile(boot_all, alpha, axis=0)
        high = np.quantile(boot_all, 1.0 - alpha, axis=0)
        # The interval always contains the point estimate.
        low = np.minimum(low, fractions)
        high = np.maximum(high, fractions)
    return DeconvolutionResult(fractions, low, high, fitv, boot_all if keep_boot else None)


def _is_array(adata: ad.AnnData) -> bool:
    info = adata.uns.get(UNS_INPUT, {})
    platform = str(info.get("platform", "")).lower() if isinstance(info, dict) else ""
    return any(t in platform for t in ("array", "affy", "illumina_beadchip", "agilent"))


@register(
    name="deconvolve",
    topic="bulk",
    modality="bulk expression",
    citation="Racle et al. 2017 eLife (EPIC); Newman et al. 2015 Nat Methods (ν-SVR); Finotello et al. 2019 (TIL10)",
    scale="linear (TPM-like); declared log2 input is converted, undeclared log input refused",
)
def deconvolve(
    adata: ad.AnnData,
    *,
    method: str = "epic",
    reference: str | Reference = "til10",
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int | None = None,
    n_jobs: int | None = None,
    layer: str | None = None,
    copy: bool = False,
) -> pd.DataFrame:
    """Absolute cell fractions per sample, with bootstrap intervals and a goodness-of-fit value.

    The bulk data are put on a linear TPM-like scale (samples summing to between 0.5 and 1.01 million are
    taken as TPM as given, since dropped genes lower the sum; others are rescaled to one million), restricted to
    the reference's signature genes (for RNA-seq, minus the reference's genes known to be noisy in
    RNA-seq) and fitted with ``method``; see :mod:`tmescope.bulk._deconv` for the three fits. mRNA
    proportions are divided by each cell type's mRNA content, so the result is fractions of cells,
    including ``other`` (cells the reference does not characterise, e.g. tumour cells). Intervals:
    ``n_boot`` seeded bootstrap replicates, each resampling the signature genes and perturbing them by the
    model error (the sample's residual spread times :data:`MODEL_ERROR`); percentile interval at level ``ci``.
    A sample is flagged ``poor_fit`` when its fit is below the 2.5% quantile of the fits of 226 published
    tumours with the same method and shipped reference (:data:`POOR_FIT_BY_CONFIG`; 0.5 for user-built
    references).

    Parameters
    ----------
    adata
        Samples x genes with HGNC symbols; TPM, raw counts, or log2 data with the scale declared in
        ``uns['tmescope_input']['scale']``.
    method
        ``"epic"`` (default), ``"nnls"`` or ``"svr"``.
    reference
        ``"til10"`` (default), ``"safetme"``, or a :class:`Reference` (e.g. from :func:`build_reference`).
    n_boot
        Bootstrap replicates for the intervals (0: no intervals).
    ci
        Interval level.
    seed
        Seed of the gene resampling; ``None`` uses ``tmescope.settings.seed``.
    n_jobs
        Threads; ``None`` uses ``tmescope.settings.n_jobs``. Results do not depend on it.
    layer
        Layer to use instead of ``adata.X``.
    copy
        Work on a copy of ``adata`` (the input is left unchanged).

    Returns
    -------
    Cell fractions (samples x cell types + ``other``; rows sum to 1). Written to
    ``adata.obsm['fractions']``, ``adata.obsm['fractions_ci_low']``, ``adata.obsm['fractions_ci_high']``,
    ``adata.obs['deconvolution_fit']`` (Pearson r of observed vs reconstructed signature genes),
    ``adata.obs['deconvolution_flag']`` (``""``, ``"poor_fit"``, ``"low_coverage"``) and
    ``adata.uns['deconvolution']`` (parameters, genes used, ``poor_fit_threshold``, ``model_error``).

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> from tmescope.bulk import get_reference
    >>> sig = get_reference("til10").signature
    >>> profiles = pd.concat([sig, 1e6 - sig.sum().to_frame("filler").T])  # each profile sums to 1e6 TPM
    >>> mrna = np.array([0.2, 0, 0, 0.1, 0, 0.05, 0.1, 0.15, 0, 0])  # the rest: cells without these genes
    >>> tumour = pd.Series(0.0, index=profiles.index); tumour["filler"] = 1e6
    >>> mix = profiles.to_numpy() @ mrna + tumour.to_numpy() * (1 - mrna.sum())
    >>> a = ad.AnnData(mix[None, :], var=pd.DataFrame(index=profiles.index))
    >>> a.uns["tmescope_input"] = {"scale": "linear"}
    >>> fr = deconvolve(a, n_boot=50, seed=0)
    >>> fr.round(2).loc[:, ["b_cell", "cd8_t", "other"]].iloc[0].tolist()
    [0.25, 0.18, 0.35]
    >>> a.obsm["fractions_ci_low"].shape
    (1, 11)
    """
    check_adata(adata, func="deconvolve")
    if method not in METHODS:
        msg = f"Unknown deconvolution method {method!r}; choose one of {list(METHODS)} (see `tmescope.bulk.methods()`)."
        raise InputError(msg)
    if not 0 < ci < 1:
        msg = f"`ci` must be between 0 and 1 (e.g. 0.95); received {ci}."
        raise InputError(msg)
    if n_boot < 0:
        msg = f"`n_boot` must be >= 0; received {n_boot}."
        raise InputError(msg)
    ref = get_reference(reference)
    seed = settings.seed if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else int(n_jobs)
    if copy:
        adata = adata.copy()
    X = on_scale(adata, layer, target="linear", func="deconvolve")
    # Genes the scale conversion could not value (e.g. counts without a gene length) are left out.
    finite = np.isfinite(X).all(axis=0)
    X = X[:, finite]
    genes = adata.var_names[finite]
    full = ref.extra.get("full_profiles")
    sig = ref.signature
    if isinstance(full, pd.DataFrame):
        common = full.index.intersection(genes)
        lib = X[:, genes.get_indexer(common)].sum(axis=1)
        sig = sig / full.loc[common].sum(axis=0) * 1e6
    else:
        lib = X.sum(axis=1)
    if (lib <= 0).any():
        bad = adata.obs_names[lib <= 0].tolist()[:5]
        msg = f"`deconvolve`: sample(s) {bad} have no expression (all zeros); remove them."
        raise InputError(msg)
    # TPM is used as given: a sum a little under one million means genes were dropped (e.g. unmapped
    # identifiers), and rescaling would inflate every gene. Other linear scales are put on one million.
    tpm_like = (lib >= _TPM_SUM[0]) & (lib <= _TPM_SUM[1])
    Xn = np.where(tpm_like[:, None], X, X / lib[:, None] * 1e6)

    use = sig.index
    if not _is_array(adata) and ref.rnaseq_exclude:
        use = use.difference(pd.Index(ref.rnaseq_exclude), sort=False)
    present = use.intersection(genes, sort=False)
    coverage = present.size / use.size
    if present.size <= sig.shape[1]:
        msg = f"`deconvolve`: only {present.size} of the {use.size} signature genes of reference {ref.name!r} are in the data; at least {sig.shape[1] + 1} are needed. Are the genes HGNC symbols?"
        raise InputError(msg)
    if coverage < LOW_COVERAGE:
        warn(
            f"`deconvolve`: {present.size} of {use.size} signature genes of reference {ref.name!r} ({coverage:.0%}) are present; results are flagged low_coverage.",
            CoverageWarning,
        )
    Y = Xn[:, genes.get_indexer(present)]
    R = sig.loc[present].to_numpy(dtype=np.float64)
    var = ref.variance.loc[present].to_numpy(dtype=np.float64) if ref.variance is not None else None
    content = ref.mrna_content.loc[sig.columns].to_numpy(dtype=np.float64)
    res = deconvolve_kernel(
        Y,
        R,
        content=content,
        other_content=ref.other_mrna_content,
        method=method,
        variance=var,
        level_weighting=ref.weighting == "level",
        n_boot=n_boot,
        ci=ci,
        seed=seed,
        n_jobs=n_jobs,
    )
    cols = [*sig.columns, OTHER]
    idx = adata.obs_names.copy()
    df = pd.DataFrame(res.fractions, index=idx, columns=cols)
    adata.obsm[OBSM_FRACTIONS] = df
    adata.obsm[OBSM_FRACTIONS_LOW] = pd.DataFrame(res.ci_low, index=idx, columns=cols)
    adata.obsm[OBSM_FRACTIONS_HIGH] = pd.DataFrame(res.ci_high, index=idx, columns=cols)
    threshold = POOR_FIT_BY_CONFIG.get((method, ref.name), POOR_FIT) if isinstance(reference, str) else POOR_FIT
    flags = np.where(np.nan_to_num(res.fit, nan=-1.0) < threshold, "poor_fit", "")
    if coverage < LOW_COVERAGE:
        flags = np.where(flags == "", "low_coverage", flags + ";low_coverage")
    adata.obs[OBS_FIT] = res.fit
    adata.obs[OBS_FIT_FLAG] = flags
    adata.uns[UNS_DECONV] = {
        "method": method,
        "reference": ref.name,
        "n_boot": int(n_boot),
        "ci": float(ci),
        "seed": int(seed),
        "n_signature_genes": int(present.size),
        "signature_coverage": float(coverage),
        "poor_fit_threshold": float(threshold),
        "model_error": float(MODEL_ERROR),
        "unit": "fraction of cells",
    }
    return df
