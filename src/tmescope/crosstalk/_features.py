"""Per-sample TME channel-group summaries of crosstalk results, as rows of the tidy feature table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import InputError, MissingKeyError
from tmescope.crosstalk._resource import read_channels
from tmescope.io import features_from_frame, normalize_features

if TYPE_CHECKING:
    from anndata import AnnData


def channel_summary(results: pd.DataFrame, *, alpha: float = 0.05, column: str = "fdr") -> pd.DataFrame:
    """Per sample and channel group: pairs tested, pairs significant, their summed score and the top pair.

    Parameters
    ----------
    results
        The ``results`` table of :func:`infer_crosstalk` (or of the spatial variant).
    alpha
        Significance threshold on ``column``.
    column
        ``"fdr"`` (Benjamini–Hochberg within the sample, default), ``"pvalue"`` or ``"specificity_fdr"``.

    Returns
    -------
    DataFrame with ``sample``, ``channel``, ``n_tested``, ``n_significant``, ``share``, ``strength`` (sum of
    ``lr_means`` over significant rows) and ``top`` (``sender>receiver:ligand-receptor`` of the strongest one).
    One row per sample and channel (``all`` = every pair), including channels with nothing tested.
    """
    if column not in results.columns:
        msg = f"Column {column!r} not in the crosstalk results (columns: {list(results.columns)})."
        raise MissingKeyError(msg)
    channels = ["all", *read_channels()["channel"].tolist()]
    rows = []
    for sample, table in results.groupby("sample", sort=True, observed=True):
        sig = table[column].to_numpy(float) <= alpha
        membership = table["channel"].astype(str).str.split(";")
        for ch in channels:
            in_ch = np.ones(len(table), bool) if ch == "all" else membership.map(lambda m, c=ch: c in m).to_numpy(bool)
            hit = table[in_ch & sig]
            top = ""
            if len(hit):
                best = hit.sort_values(["lr_means", "source", "target"], ascending=[False, True, True]).iloc[0]
                top = f"{best['source']}>{best['target']}:{best['ligand']}-{best['receptor']}"
            n_tested = int(in_ch.sum())
            rows.append(
                {
                    "sample": str(sample),
                    "channel": ch,
                    "n_tested": n_tested,
                    "n_significant": len(hit),
                    "share": len(hit) / n_tested if n_tested else np.nan,
                    "strength": float(hit["lr_means"].sum()),
                    "top": top,
                }
            )
    return pd.DataFrame(rows, columns=["sample", "channel", "n_tested", "n_significant", "share", "strength", "top"])


def crosstalk_features(
    adata: AnnData, *, key: str = _keys.UNS_CROSSTALK, alpha: float = 0.05, column: str = "fdr"
) -> pd.DataFrame:
    """TME channel-group crosstalk of every sample as tidy feature rows.

    Features (``crosstalk.<channel>_<measure>``) for the channels ``all``, ``immune_checkpoint``,
    ``caf_exclusion``, ``myeloid_recruitment``, ``angiogenesis`` and ``ecm_integrin``:
    ``n_significant`` (sender x receiver x pair rows with ``column`` <= ``alpha``), ``share`` (of the rows tested;
    flagged ``not_tested`` when the channel had none) and ``strength`` (summed CellPhoneDB score of the
    significant rows). The strongest significant row of each channel is the ``label`` of its ``n_significant``.

    Parameters
    ----------
    adata
        AnnData on which :func:`infer_crosstalk` (or :func:`spatial_crosstalk`) has run.
    key
        ``uns`` key of the results.
    alpha, column
        Significance rule, as in :func:`channel_summary`.

    Returns
    -------
    Tidy feature table (:data:`tmescope.io.FEATURE_COLUMNS`).

    Examples
    --------
    >>> from tmescope.crosstalk import infer_crosstalk, toy_cells
    >>> cells = toy_cells(n_cells=200)
    >>> infer_crosstalk(cells, groupby="cell_type", n_perms=100, seed=0)
    >>> f = crosstalk_features(cells).set_index("feature")
    >>> int(f.loc["crosstalk.immune_checkpoint_n_significant", "value"]) > 0
    True
    """
    if key not in adata.uns or "results" not in adata.uns[key]:
        msg = f"No crosstalk results in adata.uns[{key!r}]; run tmescope.crosstalk.infer_crosstalk() first."
        raise MissingKeyError(msg)
    if not 0 < alpha <= 1:
        msg = f"alpha must be within (0, 1], got {alpha}."
        raise InputError(msg)
    summary = channel_summary(adata.uns[key]["results"], alpha=alpha, column=column)
    method = str(adata.uns[key].get("params", {}).get("method", "cellphonedb_consensus"))
    if summary.empty:
        return normalize_features(pd.DataFrame(columns=["sample", "feature"]))
    wide = summary.set_index(["sample", "channel"]).unstack("channel")  # noqa: PD010 - one value per cell
    parts = []
    for measure, unit in (("n_significant", "count"), ("share", "fraction"), ("strength", "summed score")):
        values = wide[measure].rename(columns=lambda c, m=measure: f"{c}_{m}")
        flag = None
        if measure == "share":
            flag = values.isna().replace({True: "not_tested", False: ""}).infer_objects()
        parts.append(features_from_frame(values.astype(float), prefix="crosstalk", unit=unit, method=method, flag=flag))
    out = pd.concat(parts, ignore_index=True)
    labels = {
        (s, f"crosstalk.{c}_n_significant"): t
        for s, c, t in summary[["sample", "channel", "top"]].itertuples(index=False)
    }
    out["label"] = [labels.get((s, f), "") for s, f in zip(out["sample"], out["feature"], strict=True)]
    return normalize_features(out)
