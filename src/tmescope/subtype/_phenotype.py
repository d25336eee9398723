"""Bulk proxy of the immune phenotype (inflamed / excluded / desert) from CD8 and stromal TGF-β signal.

Chen & Mellman (Nature 2017) define the phenotypes by where CD8 T cells sit in tissue; bulk RNA cannot
see location. This proxy uses two expression signals instead and is labelled as such everywhere:

- CD8 signal: mean log2(TPM+1) of the TIDE cytotoxic-T-lymphocyte genes CD8A, CD8B, GZMA, GZMB, PRF1
  (Jiang et al., Nat Med 2018);
- stromal TGF-β signal: mean log2(TPM+1) of the pan-fibroblast TGF-β response signature Pan-F-TBRS
  (Mariathasan et al., Nature 2018), the signal of T-cell exclusion in that study.

Both are scaled by the median and mean absolute deviation of a reference cohort (or of this cohort).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import CoverageWarning, InputError
from tmescope._logging import warn
from tmescope._registry import register
from tmescope.subtype._reference import as_subtype_reference
from tmescope.subtype._scaling import median_scale, scale_parameters

if TYPE_CHECKING:
    from anndata import AnnData

#: TIDE cytotoxic T lymphocyte (CTL) genes (Jiang et al. 2018).
CD8_GENES: tuple[str, ...] = ("CD8A", "CD8B", "GZMA", "GZMB", "PRF1")
#: Pan-F-TBRS, pan-fibroblast TGF-β response signature (Mariathasan et al. 2018), current HGNC symbols
#: (CTGF is now CCN2, FAM101B is now RFLNB).
TGFB_GENES: tuple[str, ...] = (
    "ACTA2",
    "ACTG2",
    "ADAM12",
    "ADAM19",
    "CNN1",
    "COL4A1",
    "CCN2",
    "CTPS1",
    "RFLNB",
    "FSTL3",
    "HSPB1",
    "IGFBP3",
    "PXDC1",
    "SEMA7A",
    "SH3PXD2A",
    "TAGLN",
    "TGFBI",
    "TNS1",
    "TPM1",
)
PHENOTYPES: tuple[str, ...] = ("inflamed", "excluded", "desert")
SIGNALS: tuple[str, ...] = ("cd8_signal", "stromal_tgfb_signal")
#: Minimum fraction of a gene list that must be measured.
MIN_COVERAGE = 0.5


def phenotype_rule(cd8: np.ndarray, tgfb: np.ndarray, *, low: float = 0.5) -> np.ndarray:
    """Phenotype from scaled CD8 and stromal TGF-β signals (units of MAD around the reference median).

    - ``desert``: CD8 signal below ``-low``;
    - ``excluded``: otherwise, when the stromal TGF-β signal is above the median and above the CD8 signal;
    - ``inflamed``: otherwise, when the CD8 signal is at or above the median;
    - ``desert``: everything else (CD8 slightly below the median without stromal signal).

    Examples
    --------
    >>> phenotype_rule(np.array([1.0, 0.2, -1.0, 1.0, -0.2]), np.array([0.0, 1.0, 2.0, 1.5, -1.0])).tolist()
    ['inflamed', 'excluded', 'desert', 'excluded', 'desert']
    """
    cd8 = np.asarray(cd8, dtype=float)
    tgfb = np.asarray(tgfb, dtype=float)
    return np.where(
        cd8 < -low,
        "desert",
        np.where((tgfb > 0) & (tgfb > cd8), "excluded", np.where(cd8 >= 0, "inflamed", "desert")),
    ).astype(object)


def _log2_expression(adata: AnnData, layer: str | None) -> np.ndarray:
    from tmescope.io import as_scale

    return np.asarray(as_scale(adata, "log2p1", layer=layer, method="immune_phenotype"), dtype=float)


def _signal(x: np.ndarray, var_names: pd.Index, genes: tuple[str, ...], label: str) -> tuple[np.ndarray, list[str]]:
    present = [g for g in genes if g in var_names]
    if len(present) < MIN_COVERAGE * len(genes):
        msg = (
            f"Only {len(present)} of the {len(genes)} {label} genes are measured ({', '.join(present) or 'none'}); "
            f"at least {int(np.ceil(MIN_COVERAGE * len(genes)))} are needed for the immune-phenotype proxy."
        )
        raise InputError(msg)
    if len(present) < len(genes):
        absent = [g for g in genes if g not in var_names]
        warn(
            f"{label}: {len(absent)} gene(s) not measured ({', '.join(absent[:5])}); using {len(present)}.",
            CoverageWarning,
        )
    idx = var_names.get_indexer(present)
    return x[:, idx].mean(axis=1), present


def phenotype_signals(adata: AnnData, *, layer: str | None = None) -> pd.DataFrame:
    """The two raw signals (mean log2(TPM+1) of the CD8 and Pan-F-TBRS genes) per sample."""
    x = _log2_expression(adata, layer)
    cd8, _ = _signal(x, adata.var_names, CD8_GENES, "CD8 (TIDE CTL)")
    tgfb, _ = _signal(x, adata.var_names, TGFB_GENES, "Pan-F-TBRS")
    return pd.DataFrame({"cd8_signal": cd8, "stromal_tgfb_signal": tgfb}, index=adata.obs_names)


@register(
    name="immune_phenotype_proxy",
    topic="subtype",
    modality="bulk",
    citation="Chen & Mellman, Nature 2017; Jiang et al., Nat Med 2018; Mariathasan et al., Nature 2018",
    scale="log2(TPM+1)",
)
def immune_phenotype(
    adata: AnnData,
    *,
    reference: Any = None,
    layer: str | None = None,
    low: float = 0.5,
    key_added: str = _keys.OBS_IMMUNE_PHENOTYPE,
    copy: bool = False,
) -> pd.DataFrame | AnnData:
    """Bulk proxy of the immune phenotype: inflamed, excluded or desert.

    This is an expression proxy, not the spatial phenotype of Chen & Mellman (2017): it cannot see where
    CD8 T cells sit. It scales a CD8 signal (TIDE CTL genes) and a stromal TGF-β signal (Pan-F-TBRS) by the
    median and mean absolute deviation of a reference cohort (or of this cohort when ``reference`` is
    ``None``) and applies :func:`phenotype_rule`.

    Parameters
    ----------
    adata
        Samples x genes expression; read as log2(TPM+1) through :func:`tmescope.io.as_scale`.
    reference
        Reference cohort whose signal distribution defines "high" and "low"; ``None`` uses this cohort
        (at least 10 samples).
    layer
        Layer to read instead of ``X`` (converted to log2(TPM+1) like ``X``).
    low
        CD8 signal (in MAD units below the median) under which a sample is a desert.
    key_added
        ``obs`` column for the phenotype.
    copy
        Return a changed copy of ``adata`` instead of writing into it.

    Returns
    -------
    DataFrame with the two signals, their scaled values and ``phenotype`` (or the changed copy when
    ``copy=True``). Writes ``obs[key_added]`` (categorical inflamed / excluded / desert),
    ``obsm["immune_phenotype"]`` (signals and scaled values) and ``uns["immune_phenotype"]`` (rule, genes,
    reference, ``kind = "bulk expression proxy"``).

    Examples
    --------
    >>> import anndata as ad
    >>> genes = list(CD8_GENES + TGFB_GENES)
    >>> x = np.ones((12, len(genes)))
    >>> x[:4, :5] = 60.0  # CD8-rich
    >>> x[4:8, 5:] = 60.0  # stroma-rich
    >>> x[4:8, :5] = 4.0
    >>> adata = ad.AnnData(x, obs=pd.DataFrame(index=[f"s{i}" for i in range(12)]), var=pd.DataFrame(index=genes))
    >>> adata.uns["tmescope_input"] = {"scale": "linear", "pseudocount": None, "log_base": None}
    >>> immune_phenotype(adata)["phenotype"].tolist()[::4]
    ['inflamed', 'excluded', 'desert']
    """
    target = adata.copy() if copy else adata
    signals = phenotype_signals(target, layer=layer)
    raw = signals.to_numpy()
    if reference is None:
        if raw.shape[0] < 10:
            msg = (
                f"The immune-phenotype proxy needs a reference cohort or at least 10 samples to define high and "
                f"low signal; got {raw.shape[0]}. Pass reference=tmescope.profile.default_reference()."
            )
            raise InputError(msg)
        median, mad = scale_parameters(raw)
        ref_name = ""
    else:
        ref = as_subtype_reference(reference)
        median = np.array([ref.phenotype_median[s] for s in SIGNALS])
        mad = np.array([ref.phenotype_mad[s] for s in SIGNALS])
        ref_name = ref.name
    scaled = median_scale(raw, median, mad)
    pheno = phenotype_rule(scaled[:, 0], scaled[:, 1], low=low)
    table = signals.assign(cd8_scaled=scaled[:, 0], stromal_tgfb_scaled=scaled[:, 1])
    target.obsm[_keys.OBSM_IMMUNE_PHENOTYPE] = table.copy()
    target.obs[key_added] = pd.Categorical(pheno, categories=list(PHENOTYPES))
    target.uns[_keys.UNS_IMMUNE_PHENOTYPE] = {
        "kind": "bulk expression proxy",
        "cd8_genes": list(CD8_GENES),
        "tgfb_genes": list(TGFB_GENES),
        "reference": ref_name,
        "low": float(low),
        "median": median.tolist(),
        "mad": mad.tolist(),
    }
    if copy:
        return target
    return table.assign(phenotype=target.obs[key_added].astype(str).to_numpy())
