"""Per-cell state scores (CAF, T-cell, macrophage, GBM, metabolic, ECM) and their per-sample x compartment means."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import InputError, InputTypeError, MissingKeyError
from tmescope.sc._input import DEFAULT_SAMPLE_KEY
from tmescope.sc._markers import ALL, default_state_sets

if TYPE_CHECKING:
    from anndata import AnnData

    from tmescope.signatures import GeneSet

SUMMARY_COLUMNS = ("sample", "compartment", "set", "n_cells", "mean", "flag")


def _resolve(sets: Any) -> dict[str, tuple[GeneSet, tuple[str, ...]]]:
    from tmescope import signatures

    if sets is None:
        return default_state_sets()
    if isinstance(sets, str):
        sets = [sets]
    out: dict[str, tuple[GeneSet, tuple[str, ...]]] = {}
    if hasattr(sets, "items"):
        for name, value in sets.items():
            if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[1], str):
                gs, comps = value
                gs = signatures.as_gene_sets({name: gs})[name]
                out[name] = (gs, tuple(comps))
            else:
                out[name] = (signatures.as_gene_sets({name: value})[name], (ALL,))
        return out
    for name in sets:
        out[str(name)] = (signatures.get(str(name)), (ALL,))
    return out


def sample_key_of(adata: AnnData, sample_key: str | None) -> str:
    """The sample column: ``sample_key``, else the one recorded by :func:`tmescope.sc.prepare_cells`, else ``sample``."""
    info = adata.uns.get(_keys.UNS_INPUT, {})
    key = sample_key or (info.get("sample_key") if isinstance(info, dict) else None)
    if not key and DEFAULT_SAMPLE_KEY in adata.obs:
        key = DEFAULT_SAMPLE_KEY
    if not key:
        msg = (
            "No sample column: pass sample_key= (the obs column naming each cell's sample), or prepare the data "
            "with tmescope.sc.prepare_cells, which records it."
        )
        raise MissingKeyError(msg)
    if key not in adata.obs:
        msg = f"Sample column {key!r} not in adata.obs (columns: {', '.join(map(str, adata.obs.columns[:12]))})."
        raise MissingKeyError(msg)
    return str(key)


def _groupby_of(adata: AnnData, groupby: str) -> pd.Series:
    if groupby not in adata.obs:
        msg = (
            f"Column {groupby!r} not in adata.obs; run tmescope.sc.annotate_compartments(adata) first, or pass "
            "groupby= with your own cell-type column."
        )
        raise MissingKeyError(msg)
    return adata.obs[groupby].astype(str)


def score_states(
    adata: AnnData,
    *,
    sets: Any = None,
    method: str = "mean_z",
    groupby: str = _keys.OBS_COMPARTMENT,
    sample_key: str | None = None,
    min_cells: int = 10,
    min_coverage: float = 0.5,
    n_jobs: int | None = None,
    key_added: str = _keys.OBSM_SC_STATES,
) -> pd.DataFrame:
    """Score cell-state programs in every cell and average them per sample and compartment.

    The default sets (:func:`tmescope.sc.default_state_sets`) are the CAF states (myCAF/iCAF of Öhlund 2017,
    apCAF of Elyada 2019, the six CAF-S1 clusters and CAF-S1 / normal-fibroblast sets of Kieffer 2020), T-cell
    exhaustion, cytotoxicity and naive/memory programs, macrophage programs (M1-like, M2-like, Bagaev 2021 M1,
    TIDE M2 exclusion, glioma microglia/BMDM), glioblastoma malignant states (Neftel 2019) and the metabolic and
    matrisome (ECM) collections. Each set is aggregated only in the compartments where it means something
    (CAF states in fibroblasts, …); metabolic and ECM programs in every compartment.

    Parameters
    ----------
    adata
        Cells × genes, log-normalised ``X`` with HGNC symbols, annotated (``obs[groupby]``).
    sets
        ``None`` (defaults), library set names (aggregated in every compartment), or a mapping
        ``name -> genes`` / ``name -> (genes or GeneSet, compartments)``.
    method
        Per-cell scoring method of :func:`tmescope.scoring.score_signatures`: ``"mean_z"`` (default; z over all
        cells, so scores are relative to the cells given) or ``"singscore"`` (per cell, rank-based).
    groupby
        Compartment column (default ``"compartment"``).
    sample_key
        Sample column; default the one recorded by :func:`tmescope.sc.prepare_cells`.
    min_cells
        Groups with fewer cells are still reported, flagged ``few_cells``.
    min_coverage
        Coverage floor passed to :func:`tmescope.scoring.score_signatures` (sets below it are NaN, warned).
    n_jobs
        Threads; results do not depend on it.
    key_added
        ``obsm`` key of the per-cell scores.

    Returns
    -------
    Tidy summary (``sample``, ``compartment``, ``set``, ``n_cells``, ``mean``, ``flag``). Writes
    ``obsm[key_added]`` (cells × sets), ``uns["coverage_<key_added>"]`` (per-set coverage) and
    ``uns["sc_states"]`` (``method``, ``compartments`` of each set, ``summary``).

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> genes = ["GZMA", "GZMB", "PRF1", "NKG7", "GNLY", "CD3E"]
    >>> a = ad.AnnData(rng.gamma(1.0, size=(20, 6)), var=pd.DataFrame(index=genes))
    >>> a.obs["compartment"] = ["cd8_t"] * 10 + ["nk"] * 10
    >>> a.obs["sample"] = ["p1", "p2"] * 10
    >>> s = score_states(a, sets={"cyto": (genes[:5], ["cd8_t", "nk"])}, sample_key="sample", min_cells=3)
    >>> s[["sample", "compartment", "n_cells"]].values.tolist()
    [['p1', 'cd8_t', 5], ['p1', 'nk', 5], ['p2', 'cd8_t', 5], ['p2', 'nk', 5]]
    """
    from anndata import AnnData

    from tmescope.scoring import score_signatures

    if not isinstance(adata, AnnData):
        msg = f"`adata` must be an AnnData (cells × genes); received {type(adata).__name__}."
        raise InputTypeError(msg)
    if method not in ("mean_z", "singscore"):
        msg = f"State scoring method must be 'mean_z' or 'singscore' (per-cell methods); received {method!r}."
        raise InputError(msg)
    skey = sample_key_of(adata, sample_key)
    groups = _groupby_of(adata, groupby)
    resolved = _resolve(sets)
    gene_sets = {name: gs for name, (gs, _) in resolved.items()}
    scores = score_signatures(
        adata, sets=gene_sets, method=method, min_coverage=min_coverage, n_jobs=n_jobs, key_added=key_added
    )
    scores = cast("pd.DataFrame", scores)
    samples = adata.obs[skey].astype(str)
    summary = summarise_states(scores, samples=samples, groups=groups, resolved=resolved, min_cells=min_cells)
    adata.uns[_keys.UNS_SC_STATES] = {
        "method": method,
        "groupby": groupby,
        "sample_key": skey,
        "compartments": {name: list(comps) for name, (_, comps) in resolved.items()},
        "summary": summary,
    }
    return summary


def summarise_states(
    scores: pd.DataFrame,
    *,
    samples: pd.Series,
    groups: pd.Series,
    resolved: dict[str, tuple[GeneSet, tuple[str, ...]]],
    min_cells: int,
) -> pd.DataFrame:
    """Mean per-cell score of each set per (sample, compartment), for the compartments where the set applies."""
    frame = scores.copy()
    frame["_sample"] = samples.to_numpy()
    frame["_group"] = groups.to_numpy()
    grouped = frame.groupby(["_sample", "_group"], sort=True, observed=True)
    means = grouped[list(scores.columns)].mean()
    sizes = grouped.size()
    rows = []
    for (sample, group), n in sizes.items():
        for name, (_, comps) in resolved.items():
            if ALL not in comps and group not in comps:
                continue
            value = float(means.loc[(sample, group), name])
            flag = "low_coverage" if not np.isfinite(value) else ("few_cells" if n < min_cells else "")
            rows.append(
                {"sample": sample, "compartment": group, "set": name, "n_cells": int(n), "mean": value, "flag": flag}
            )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


#: Neftel 2019 meta-modules: the four cellular states and the state sets behind each (the higher score counts).
GBM_STATES: dict[str, tuple[str, ...]] = {
    "mes_like": ("mes1_neftel2019", "mes2_neftel2019"),
    "ac_like": ("ac_neftel2019",),
    "opc_like": ("opc_neftel2019",),
    "npc_like": ("npc1_neftel2019", "npc2_neftel2019"),
}
GBM_COLUMNS = ("sample", "state", "n_cells", "n_total", "fraction", "ci_low", "ci_high")


def assign_gbm_states(
    adata: AnnData,
    *,
    compartments: tuple[str, ...] = ("malignant_epithelial", "unknown"),
    groupby: str = _keys.OBS_COMPARTMENT,
    sample_key: str | None = None,
    key: str = _keys.OBSM_SC_STATES,
) -> pd.DataFrame:
    """Give each malignant cell its dominant glioblastoma state (Neftel 2019) and count the state mix per sample.

    A cell's score for a meta-module is its highest per-cell score among the module's sets (MES-like = max of
    MES1 and MES2, NPC-like = max of NPC1 and NPC2; AC-like, OPC-like one set each); its state is the module
    with the highest score. This is the dominant state of Neftel et al.'s two-axis plot, simplified: the
    per-gene centring of the mean z-score stands in for their control-gene correction, and hybrid states are
    not called. Meant for glioblastoma: malignant cells of other tumours get a state too, without meaning.

    Parameters
    ----------
    adata
        Cells scored by :func:`score_states` with the Neftel sets (the defaults include them).
    compartments
        Compartments holding the malignant cells (GBM cells lack epithelial markers and are often ``unknown``).
    groupby
        Compartment column.
    sample_key
        Sample column; default the one recorded by :func:`tmescope.sc.prepare_cells`.
    key
        ``obsm`` key of the per-cell state scores.

    Returns
    -------
    Tidy per-sample state mix (``sample``, ``state``, ``n_cells``, ``n_total``, ``fraction``, ``ci_low``,
    ``ci_high``; 95 % Wilson interval). Writes ``obs["gbm_state"]`` (NaN outside ``compartments``) and, when
    :func:`score_states` wrote it, ``uns["sc_states"]["gbm_states"]`` (the same table).

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> a = ad.AnnData(np.zeros((3, 1)))
    >>> a.obs["sample"], a.obs["compartment"] = "s1", ["unknown", "unknown", "cd8_t"]
    >>> a.obsm["sc_states"] = pd.DataFrame(
    ...     {n: [0.0, 0.0, 0.0] for m in GBM_STATES.values() for n in m}, index=a.obs_names
    ... ).assign(mes2_neftel2019=[1.0, 0.0, 0.0], opc_neftel2019=[0.0, 2.0, 0.0])
    >>> mix = assign_gbm_states(a, sample_key="sample")
    >>> a.obs["gbm_state"].tolist()[:2], mix["fraction"].tolist()
    (['mes_like', 'opc_like'], [0.0, 0.5, 0.0, 0.5])
    """
    from tmescope.sc._aggregate import wilson_interval

    if key not in adata.obsm:
        msg = f"No per-cell state scores in adata.obsm[{key!r}]; run tmescope.sc.score_states(adata) first."
        raise MissingKeyError(msg)
    scores = adata.obsm[key]
    needed = [s for sets in GBM_STATES.values() for s in sets]
    missing = [s for s in needed if s not in scores.columns]
    if missing:
        msg = (
            f"adata.obsm[{key!r}] lacks the Neftel 2019 state sets {missing}; run tmescope.sc.score_states with the "
            "default sets (or include them)."
        )
        raise MissingKeyError(msg)
    skey = sample_key_of(adata, sample_key)
    groups = _groupby_of(adata, groupby)
    meta = pd.DataFrame({state: scores[list(sets)].max(axis=1) for state, sets in GBM_STATES.items()})
    malignant = groups.isin(compartments).to_numpy() & meta.notna().all(axis=1).to_numpy()
    if not meta.notna().all(axis=0).all():
        msg = "The Neftel state scores are NaN (too few of their genes measured); GBM states cannot be assigned."
        raise InputError(msg)
    states = list(GBM_STATES)
    label = np.where(malignant, np.asarray(states, dtype=object)[np.argmax(meta.to_numpy(), axis=1)], None)
    adata.obs[_keys.OBS_GBM_STATE] = pd.Categorical(label, categories=states)
    samples = adata.obs[skey].astype(str)
    table = pd.crosstab(samples[malignant], adata.obs.loc[malignant, _keys.OBS_GBM_STATE].astype(str))
    table = table.reindex(index=sorted(set(samples)), columns=states, fill_value=0)
    long = table.rename_axis(index="sample", columns="state").stack().rename("n_cells").reset_index()
    long["n_total"] = long["sample"].map(table.sum(axis=1)).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        long["fraction"] = long["n_cells"] / long["n_total"].replace(0, np.nan)
    lo, hi = wilson_interval(long["n_cells"].to_numpy(), long["n_total"].to_numpy())
    long["ci_low"], long["ci_high"] = lo, hi
    mix = long.loc[:, list(GBM_COLUMNS)].sort_values(["sample", "state"]).reset_index(drop=True)
    info = adata.uns.get(_keys.UNS_SC_STATES)
    if isinstance(info, dict):
        info["gbm_states"] = mix
    return mix
