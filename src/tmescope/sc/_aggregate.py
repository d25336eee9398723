"""Per-sample composition, pseudobulk and the tidy feature table of the single-cell module."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
from scipy import sparse

from tmescope import _keys
from tmescope._errors import InputError, InputTypeError
from tmescope.sc._states import _groupby_of, sample_key_of

if TYPE_CHECKING:
    from anndata import AnnData

#: Collections scored on the per-sample pseudobulk, with the feature prefixes of the bulk profile.
PSEUDOBULK_COLLECTIONS: tuple[tuple[str, str], ...] = (
    ("immunotherapy", "immunotherapy"),
    ("tls", "tls"),
    ("caf", "caf_state"),
    ("matrisome", "matrisome"),
    ("metabolic", "metabolic"),
    ("bagaev2021", "tme_signature"),
)
COMPOSITION_COLUMNS = ("sample", "compartment", "n_cells", "n_total", "fraction", "ci_low", "ci_high")
_Z95 = 1.959963984540054


def wilson_interval(k: np.ndarray, n: np.ndarray, *, z: float = _Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion ``k / n`` (95 % by default).

    Examples
    --------
    >>> lo, hi = wilson_interval(np.array([5]), np.array([10]))
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.237, 0.763)
    """
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def composition(adata: AnnData, *, sample_key: str | None = None, groupby: str = _keys.OBS_COMPARTMENT) -> pd.DataFrame:
    """Fraction of each sample's cells in each compartment, with a 95 % Wilson interval.

    Parameters
    ----------
    adata
        Annotated cells (``obs[groupby]``).
    sample_key
        Sample column; default the one recorded by :func:`tmescope.sc.prepare_cells`.
    groupby
        Compartment column.

    Returns
    -------
    Tidy DataFrame (``sample``, ``compartment``, ``n_cells``, ``n_total``, ``fraction``, ``ci_low``, ``ci_high``)
    with every compartment of the column in every sample (zero counts included). Nothing is written.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.zeros((4, 1)))
    >>> a.obs["sample"] = ["s1", "s1", "s1", "s2"]
    >>> a.obs["compartment"] = ["cd8_t", "cd8_t", "b_cell", "b_cell"]
    >>> composition(a, sample_key="sample")[["sample", "compartment", "fraction"]].values.tolist()
    [['s1', 'b_cell', 0.3333333333333333], ['s1', 'cd8_t', 0.6666666666666666], ['s2', 'b_cell', 1.0], ['s2', 'cd8_t', 0.0]]
    """
    skey = sample_key_of(adata, sample_key)
    groups = _groupby_of(adata, groupby)
    col = adata.obs[groupby]
    cats = [str(c) for c in col.cat.categories] if isinstance(col.dtype, pd.CategoricalDtype) else sorted(set(groups))
    present = set(groups)
    cats = [c for c in cats if c in present] if not isinstance(col.dtype, pd.CategoricalDtype) else cats
    table = pd.crosstab(adata.obs[skey].astype(str).to_numpy(), groups.to_numpy()).reindex(columns=cats, fill_value=0)
    table = table.loc[:, [c for c in cats if table[c].sum() > 0]]
    table = table.reindex(columns=sorted(table.columns))
    long = table.rename_axis(index="sample", columns="compartment").stack().rename("n_cells").reset_index()
    long["n_total"] = long["sample"].map(table.sum(axis=1))
    long["fraction"] = long["n_cells"] / long["n_total"]
    lo, hi = wilson_interval(long["n_cells"].to_numpy(), long["n_total"].to_numpy())
    long["ci_low"], long["ci_high"] = lo, hi
    long["n_cells"] = long["n_cells"].astype(np.int64)
    long["n_total"] = long["n_total"].astype(np.int64)
    return long.loc[:, list(COMPOSITION_COLUMNS)].sort_values(["sample", "compartment"]).reset_index(drop=True)


def pseudobulk(
    adata: AnnData,
    *,
    sample_key: str | None = None,
    groupby: str | None = None,
    layer: str | None = None,
) -> AnnData:
    """Sum cells per sample (and per compartment) into pseudobulk profiles.

    Raw counts are summed when available (``layers["counts"]`` by default); otherwise the log-normalised
    ``X`` is back-transformed (``expm1``) and summed, which the result records. The output feeds
    :func:`tmescope.bulk.build_reference` (``groupby="compartment"``, ``sample_key=<sample column>``) and bulk
    scoring.

    Parameters
    ----------
    adata
        Cells × genes (from :func:`tmescope.sc.prepare_cells`).
    sample_key
        Sample column; default the one recorded by :func:`tmescope.sc.prepare_cells`.
    groupby
        Also split by this ``obs`` column (e.g. ``"compartment"``); ``None`` gives one profile per sample.
    layer
        Layer of linear counts to sum; default ``"counts"`` when present.

    Returns
    -------
    anndata.AnnData
        Pseudobulks × genes, ``X`` float64 sums; ``obs`` with the sample column, ``groupby`` (when given) and
        ``n_cells``; ``uns["pseudobulk"]`` with ``values`` (what was summed), ``sample_key`` and ``groupby``.

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> a = ad.AnnData(np.ones((4, 2)), var=pd.DataFrame(index=["CD3E", "LYZ"]))
    >>> a.layers["counts"] = np.array([[1, 0], [2, 1], [0, 5], [3, 3]], dtype=float)
    >>> a.obs["sample"] = ["s1", "s1", "s2", "s2"]
    >>> pb = pseudobulk(a, sample_key="sample")
    >>> pb.X.tolist(), pb.obs["n_cells"].tolist()
    ([[3.0, 1.0], [3.0, 8.0]], [2, 2])
    """
    from anndata import AnnData

    if not isinstance(adata, AnnData):
        msg = f"`adata` must be an AnnData (cells × genes); received {type(adata).__name__}."
        raise InputTypeError(msg)
    skey = sample_key_of(adata, sample_key)
    if layer is None and _keys.LAYER_COUNTS in adata.layers:
        layer = _keys.LAYER_COUNTS
    if layer is not None:
        if layer not in adata.layers:
            msg = f"Layer {layer!r} not in adata.layers (present: {list(adata.layers) or 'none'})."
            raise InputError(msg)
        M = sparse.csr_matrix(adata.layers[layer], dtype=np.float64)
        values = f"sum of adata.layers[{layer!r}] (raw counts)"
    else:
        M = sparse.csr_matrix(adata.X, dtype=np.float64)
        M.data = np.expm1(M.data)
        values = "sum of expm1(adata.X): normalised expression (no raw counts were available)"
    if M.nnz and (not np.isfinite(M.data).all() or M.data.min() < 0):
        msg = "Pseudobulk needs non-negative finite linear values; the matrix has negative or non-finite entries."
        raise InputError(msg)
    keys = [adata.obs[skey].astype(str)]
    if groupby is not None:
        keys.append(_groupby_of(adata, groupby))
    frame = pd.DataFrame({f"k{i}": k.to_numpy() for i, k in enumerate(keys)})
    uniq = frame.drop_duplicates().sort_values(list(frame.columns)).reset_index(drop=True)
    index = pd.MultiIndex.from_frame(uniq)
    cell_codes = index.get_indexer(pd.MultiIndex.from_frame(frame))
    G = sparse.csr_matrix((np.ones(adata.n_obs), (cell_codes, np.arange(adata.n_obs))), shape=(len(uniq), adata.n_obs))
    summed = np.asarray((G @ M).toarray())
    obs = pd.DataFrame({skey: uniq["k0"].to_numpy()})
    if groupby is not None:
        obs[groupby] = uniq["k1"].to_numpy()
    obs["n_cells"] = np.bincount(cell_codes, minlength=len(uniq)).astype(np.int64)
    obs.index = pd.Index(["|".join(map(str, row)) for row in uniq.itertuples(index=False)])
    out = AnnData(X=summed, obs=obs, var=pd.DataFrame(index=adata.var_names.copy()))
    out.uns["pseudobulk"] = {"values": values, "sample_key": skey, "groupby": groupby or ""}
    return out


def _composition_features(comp: pd.DataFrame, *, method: str) -> pd.DataFrame:
    from tmescope.io import feature_name

    out = pd.DataFrame(
        {
            "sample": comp["sample"],
            "feature": [feature_name("composition", c) for c in comp["compartment"]],
            "value": comp["fraction"],
            "unit": "fraction of cells",
            "method": method,
            "ci_low": comp["ci_low"],
            "ci_high": comp["ci_high"],
            "flag": "",
        }
    )
    totals = comp.groupby("sample")["n_total"].first()
    counts = pd.DataFrame(
        {
            "sample": totals.index,
            "feature": "sc.n_cells",
            "value": totals.to_numpy(dtype=float),
            "unit": "cells",
            "method": "cells per sample",
            "flag": "",
        }
    )
    return pd.concat([out, counts], ignore_index=True)


def _state_features(adata: AnnData) -> pd.DataFrame:
    from tmescope.io import feature_name

    info = adata.uns.get(_keys.UNS_SC_STATES)
    if not isinstance(info, dict) or "summary" not in info:
        return pd.DataFrame()
    s = info["summary"]
    if not len(s):
        return pd.DataFrame()
    comp = [feature_name("sc_state", c).split(".", 1)[1] for c in s["compartment"]]
    names = [feature_name(f"sc_state.{c}", n) for c, n in zip(comp, s["set"], strict=True)]
    unit = "mean z over cells" if info.get("method") == "mean_z" else "mean singscore over cells"
    return pd.DataFrame(
        {
            "sample": s["sample"].astype(str),
            "feature": names,
            "value": s["mean"].astype(float),
            "unit": unit,
            "method": f"{info.get('method')} per cell (z over all cells of the run), mean per sample and compartment",
            "flag": s["flag"],
        }
    )


def _gbm_features(adata: AnnData) -> pd.DataFrame:
    from tmescope.io import feature_name

    info = adata.uns.get(_keys.UNS_SC_STATES)
    if not isinstance(info, dict) or "gbm_states" not in info:
        return pd.DataFrame()
    mix = info["gbm_states"]
    return pd.DataFrame(
        {
            "sample": mix["sample"].astype(str),
            "feature": [feature_name("gbm_state", s) for s in mix["state"]],
            "value": mix["fraction"].astype(float),
            "unit": "fraction of malignant cells",
            "method": "dominant Neftel 2019 meta-module per malignant cell (mean z scores)",
            "ci_low": mix["ci_low"].astype(float),
            "ci_high": mix["ci_high"].astype(float),
            "flag": "",
        }
    )


def _cnv_features(adata: AnnData, sample_key: str | None) -> pd.DataFrame:
    from tmescope.sc._states import sample_key_of

    if _keys.OBS_CNV_CALL not in adata.obs:
        return pd.DataFrame()
    frame = pd.DataFrame(
        {
            "sample": adata.obs[sample_key_of(adata, sample_key)].astype(str).to_numpy(),
            "malignant": (adata.obs[_keys.OBS_CNV_CALL].astype(str) == "malignant").to_numpy(),
            "score": adata.obs[_keys.OBS_CNV_SCORE].to_numpy(dtype=float),
        }
    )
    g = frame.groupby("sample", sort=True)
    k = g["malignant"].sum().to_numpy(dtype=float)
    n = g["malignant"].size().to_numpy(dtype=float)
    lo, hi = wilson_interval(k, n)
    samples = g["malignant"].sum().index.astype(str)
    method = "inferred copy number (windowed expression centred on reference cells), threshold from reference cells"
    fraction = pd.DataFrame(
        {
            "sample": samples,
            "feature": "cnv.malignant_fraction",
            "value": k / n,
            "unit": "fraction of cells",
            "method": method,
            "ci_low": lo,
            "ci_high": hi,
            "flag": "",
        }
    )
    mean = pd.DataFrame(
        {
            "sample": samples,
            "feature": "cnv.mean_score",
            "value": g["score"].mean().to_numpy(dtype=float),
            "unit": "mean absolute CNV profile",
            "method": method,
            "flag": "",
        }
    )
    return pd.concat([fraction, mean], ignore_index=True)


def _signature_features(pb: AnnData) -> pd.DataFrame:
    from tmescope.io import features_from_frame
    from tmescope.scoring import score_signatures

    cpm = np.asarray(pb.X, dtype=np.float64)
    totals = cpm.sum(axis=1, keepdims=True)
    totals[totals <= 0] = 1.0
    work = pb.copy()
    work.X = np.log2(cpm / totals * 1e6 + 1.0)
    parts = []
    for collection, prefix in PSEUDOBULK_COLLECTIONS:
        scores = score_signatures(work, sets=collection, method="ssgsea", normalize=False, key_added=f"pb_{collection}")
        scores = cast("pd.DataFrame", scores)
        cov = work.uns[_keys.UNS_COVERAGE.format(method=f"pb_{collection}")].set_index("set")
        flag = pd.DataFrame(
            np.repeat(np.where(cov.loc[scores.columns, "below_floor"], "low_coverage", "")[None, :], len(scores), 0),
            index=scores.index,
            columns=scores.columns,
        )
        parts.append(
            features_from_frame(
                scores,
                prefix=prefix,
                unit="enrichment score",
                method="ssGSEA (GSVA, alpha 0.25), unnormalised, on the per-sample single-cell pseudobulk (log2 CPM+1)",
                flag=flag,
            )
        )
    return pd.concat(parts, ignore_index=True)


def sc_features(
    adata: AnnData,
    *,
    sample_key: str | None = None,
    groupby: str = _keys.OBS_COMPARTMENT,
    signatures: bool = True,
) -> pd.DataFrame:
    """The tidy feature table of a single-cell run, in the vocabulary of the bulk profile.

    Rows per sample: ``composition.<compartment>`` (fraction of cells, 95 % Wilson interval), ``sc.n_cells``,
    ``sc_state.<compartment>.<set>`` (mean per-cell state score, from :func:`tmescope.sc.score_states` when it
    was run), ``gbm_state.<state>`` (glioblastoma state mix, when :func:`tmescope.sc.assign_gbm_states` was run),
    ``cnv.malignant_fraction`` and ``cnv.mean_score`` (when :func:`tmescope.sc.call_malignant` was run) and, with ``signatures=True``, the bulk profile's signature features (``immunotherapy.*``,
    ``tls.*``, ``caf_state.*``, ``matrisome.*``, ``metabolic.*``, ``tme_signature.*``) scored by ssGSEA on each
    sample's pseudobulk, so that single-cell and bulk profiles of one patient can be joined on ``sample`` and
    compared feature by feature.

    Parameters
    ----------
    adata
        Annotated cells (``obs[groupby]``).
    sample_key
        Sample column; default the one recorded by :func:`tmescope.sc.prepare_cells`.
    groupby
        Compartment column.
    signatures
        Also score the pseudobulk with the bulk signature collections.

    Returns
    -------
    Tidy feature table (:data:`tmescope.io.FEATURE_COLUMNS`). Nothing is written into ``adata``.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.zeros((3, 1)))
    >>> a.obs["sample"] = ["s1", "s1", "s2"]
    >>> a.obs["compartment"] = ["cd8_t", "b_cell", "b_cell"]
    >>> f = sc_features(a, sample_key="sample", signatures=False)
    >>> f.loc[f["sample"] == "s1", ["feature", "value"]].values.tolist()
    [['composition.b_cell', 0.5], ['composition.cd8_t', 0.5], ['sc.n_cells', 2.0]]
    """
    from tmescope.io import normalize_features

    info = adata.uns.get(_keys.UNS_COMPARTMENT, {})
    method = str(info.get("method", "")) if isinstance(info, dict) else ""
    method = method if method and method != "marker_clusters" else "tmescope.sc marker_clusters"
    if groupby != _keys.OBS_COMPARTMENT:
        method = f"labels in obs[{groupby!r}]"
    comp = composition(adata, sample_key=sample_key, groupby=groupby)
    parts = [
        _composition_features(comp, method=method),
        _state_features(adata),
        _gbm_features(adata),
        _cnv_features(adata, sample_key),
    ]
    if signatures:
        parts.append(_signature_features(pseudobulk(adata, sample_key=sample_key)))
    return normalize_features(pd.concat([p for p in parts if len(p)], ignore_index=True))
