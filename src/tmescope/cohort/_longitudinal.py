"""Longitudinal TME: per-feature change between timepoints of the same patient, against technical noise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from tmescope._errors import InputError, MissingKeyError
from tmescope._logging import format_items
from tmescope.cohort import _stats
from tmescope.cohort._data import align_clinical, check_features

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Words that place a timepoint label in time (checked in this order).
_ORDER_WORDS = (("pre", 0), ("base", 0), ("screen", 0), ("on", 1), ("early", 1), ("post", 2), ("progress", 3))
LONGITUDINAL_COLUMNS = (
    "feature",
    "from",
    "to",
    "n_pairs",
    "mean_change",
    "median_change",
    "sd_change",
    "noise_sd",
    "noise_source",
    "n_beyond_noise",
    "p",
    "p_ttest",
    "q",
    "status",
)


class LongitudinalResult(NamedTuple):
    """What :func:`longitudinal_change` returns."""

    #: Per feature: paired change from the first to the last timepoint, tests, technical noise (:data:`LONGITUDINAL_COLUMNS`).
    changes: pd.DataFrame
    #: Per patient and feature: ``patient``, ``feature``, ``from_sample``, ``to_sample``, ``change``, ``beyond_noise``.
    per_patient: pd.DataFrame
    #: Subtype at each timepoint per patient (``patient``, ``from``, ``to``) and counts of each transition.
    transitions: pd.DataFrame
    #: Long table for timelines: ``patient``, ``sample``, ``timepoint``, ``order``, ``feature``, ``value``, ``label``.
    timeline: pd.DataFrame
    info: dict[str, Any]


def _rank(label: str, order: Sequence[str] | None) -> int | None:
    if order is not None:
        return list(order).index(label) if label in order else None
    low = label.lower()
    for word, rank in _ORDER_WORDS:
        if low.startswith(word) or f"-{word}" in low or f" {word}" in low or f"_{word}" in low:
            return rank
    return None


def longitudinal_change(
    features: pd.DataFrame,
    *,
    clinical: pd.DataFrame,
    order: Sequence[str] | None = None,
    subtype: str = "subtype.label",
    correction: str = "fdr_bh",
    min_pairs: int = 5,
) -> LongitudinalResult:
    """Change of every feature between the first and the last timepoint of patients sampled more than once.

    For each patient with samples at two or more timepoints, the change is last − first. Per feature: mean,
    median and SD of the change, paired Wilcoxon signed-rank ``p`` (and paired t ``p_ttest``), ``q`` over
    features. Technical noise (the SD of a difference between two measurements of the same tumour) comes from
    replicate samples (same patient, same timepoint) when there are at least 3 such pairs, else from the
    features' own confidence intervals (``ci_low``/``ci_high``, e.g. the deconvolution bootstrap), else it is
    unknown; ``n_beyond_noise`` counts patients whose change exceeds 1.96 noise SDs. The subtype at the first
    and last timepoint gives the transitions.

    Parameters
    ----------
    features
        Tidy feature table of all samples.
    clinical
        Clinical table with ``patient_id`` and ``timepoint`` (:func:`tmescope.io.read_clinical`).
    order
        Timepoint labels in time order; by default inferred from the words pre/baseline/screening < on/early <
        post < progression.
    subtype
        Categorical feature whose transitions are counted.
    correction
        Multiple-testing correction.
    min_pairs
        Fewest patients with paired samples (refused below).

    Returns
    -------
    :class:`LongitudinalResult`.

    Examples
    --------
    >>> from tmescope.cohort import simulate_longitudinal
    >>> feats, clin = simulate_longitudinal(n_patients=20, shift={"sim.f0": 1.0}, seed=0)
    >>> res = longitudinal_change(feats, clinical=clin)
    >>> res.changes.loc[0, "feature"], bool(res.changes.loc[0, "q"] < 0.01)
    ('sim.f0', True)
    """
    table = check_features(features)
    samples = pd.Index(sorted(table["sample"].unique()), name="sample")
    clin = align_clinical(samples, clinical)
    for col in ("patient_id", "timepoint"):
        if col not in clin.columns or clin[col].isna().all():
            msg = (
                f"Longitudinal analysis needs the clinical column {col!r} (which patient each sample is from, and "
                "when it was taken); read the clinical table with tmescope.io.read_clinical."
            )
            raise MissingKeyError(msg)
    meta = pd.DataFrame(
        {"patient": clin["patient_id"].astype("string"), "timepoint": clin["timepoint"].astype("string")},
        index=samples,
    ).dropna()
    meta["order"] = [_rank(str(t), order) for t in meta["timepoint"]]
    unplaced = sorted(set(meta.loc[meta["order"].isna(), "timepoint"]))
    if unplaced:
        msg = (
            f"Cannot place the timepoint(s) {format_items(unplaced)} in time. Give `order` (CLI --timepoints) with "
            "every timepoint label in time order, e.g. order=['pre-treatment', 'on-treatment']."
        )
        raise InputError(msg)
    meta["order"] = meta["order"].astype(int)
    n_tp = meta.groupby("patient")["order"].nunique()
    paired = n_tp[n_tp >= 2].index
    if len(paired) < min_pairs:
        msg = (
            f"Only {len(paired)} patient(s) have samples at two or more timepoints; at least {min_pairs} are needed "
            f"for a paired analysis ({meta['patient'].nunique()} patients, {len(meta)} samples, timepoints "
            f"{format_items(sorted(set(meta['timepoint'])))}). Check that patient_id links the samples of a patient."
        )
        raise InputError(msg)
    wide = table[table["label"] == ""].pivot_table(index="sample", columns="feature", values="value", aggfunc="first")
    lo = table[table["label"] == ""].pivot_table(index="sample", columns="feature", values="ci_low", aggfunc="first")
    hi = table[table["label"] == ""].pivot_table(index="sample", columns="feature", values="ci_high", aggfunc="first")
    m = meta.sort_values(["patient", "order", "timepoint"], kind="stable")
    firsts, lasts = [], []
    for pat in paired:
        rows = m[m["patient"] == pat]
        first_o, last_o = rows["order"].min(), rows["order"].max()
        # several samples at the first/last timepoint: the first listed stands for it (others feed the noise)
        firsts.append(rows.index[rows["order"] == first_o][0])
        lasts.append(rows.index[rows["order"] == last_o][0])
    firsts_i, lasts_i = pd.Index(firsts), pd.Index(lasts)
    delta = wide.reindex(lasts_i).to_numpy(float) - wide.reindex(firsts_i).to_numpy(float)
    # technical noise from replicates: same patient and timepoint
    rep_a, rep_b = [], []
    for _, rows in m.groupby(["patient", "order"], sort=True):
        if len(rows) >= 2:
            rep_a.append(rows.index[0])
            rep_b.append(rows.index[1])
    noise = np.full(wide.shape[1], np.nan)
    source = np.full(wide.shape[1], "unknown", dtype=object)
    if len(rep_a) >= 3:
        rdiff = wide.reindex(pd.Index(rep_b)).to_numpy(float) - wide.reindex(pd.Index(rep_a)).to_numpy(float)
        noise = np.nanstd(rdiff, axis=0, ddof=1)
        source[:] = f"{len(rep_a)} replicate pairs"
    else:
        se = (hi - lo).reindex(columns=wide.columns) / (2 * _stats.Z95)
        se_pair = np.sqrt(se.reindex(firsts_i).to_numpy(float) ** 2 + se.reindex(lasts_i).to_numpy(float) ** 2)
        with np.errstate(all="ignore"):
            from_ci = np.nanmedian(se_pair, axis=0) if np.isfinite(se_pair).any() else noise
        has = np.isfinite(from_ci)
        noise = np.where(has, from_ci, noise)
        source[has] = "feature confidence intervals"
    rows_out: list[dict[str, Any]] = []
    first_tp = ", ".join(sorted(set(meta.loc[firsts_i, "timepoint"])))
    last_tp = ", ".join(sorted(set(meta.loc[lasts_i, "timepoint"])))
    for j, feat in enumerate(wide.columns):
        d = delta[:, j]
        d = d[np.isfinite(d)]
        row: dict[str, Any] = {"feature": feat, "from": first_tp, "to": last_tp, "n_pairs": len(d)}
        row.update(noise_sd=noise[j], noise_source=source[j], status="ok")
        if len(d) < min_pairs:
            row["status"] = f"refused: {len(d)} measured pairs (< {min_pairs})"
            rows_out.append(row)
            continue
        row.update(mean_change=d.mean(), median_change=float(np.median(d)), sd_change=d.std(ddof=1))
        row["n_beyond_noise"] = int((np.abs(d) > _stats.Z95 * noise[j]).sum()) if np.isfinite(noise[j]) else np.nan
        if np.all(d == 0):
            row.update(p=1.0, p_ttest=1.0)
        else:
            row["p"] = float(stats.wilcoxon(d).pvalue)
            row["p_ttest"] = float(stats.ttest_1samp(d, 0.0).pvalue)
        rows_out.append(row)
    changes = pd.DataFrame(rows_out).reindex(columns=list(LONGITUDINAL_COLUMNS))
    changes["q"] = _stats.adjust_pvalues(changes["p"].to_numpy(float), method=correction)
    changes = changes.sort_values(["p", "feature"], kind="stable", na_position="last").reset_index(drop=True)
    pat_of = meta["patient"]
    per_patient = pd.DataFrame(
        {
            "patient": np.repeat(pat_of.reindex(firsts_i).to_numpy(), wide.shape[1]),
            "feature": np.tile(wide.columns.to_numpy(), len(firsts_i)),
            "from_sample": np.repeat(firsts_i.to_numpy(), wide.shape[1]),
            "to_sample": np.repeat(lasts_i.to_numpy(), wide.shape[1]),
            "change": delta.ravel(),
            "noise_sd": np.tile(noise, len(firsts_i)),
        }
    )
    per_patient["beyond_noise"] = np.abs(per_patient["change"]) > _stats.Z95 * per_patient["noise_sd"]
    labels = table[table["feature"] == subtype].set_index("sample")["label"]
    transitions = pd.DataFrame(
        {
            "patient": pat_of.reindex(firsts_i).to_numpy(),
            "from": labels.reindex(firsts_i).fillna("").to_numpy(),
            "to": labels.reindex(lasts_i).fillna("").to_numpy(),
        }
    )
    transitions["n"] = transitions.groupby(["from", "to"])["patient"].transform("size")
    keep = meta[meta["patient"].isin(paired)]
    timeline = table[table["sample"].isin(keep.index)].merge(
        keep.rename_axis("sample").reset_index(), on="sample", how="left"
    )[["patient", "sample", "timepoint", "order", "feature", "value", "label"]]
    info = {
        "n_patients_paired": len(paired),
        "n_samples": len(meta),
        "timepoints": list(dict.fromkeys(meta.sort_values(["order", "timepoint"])["timepoint"].astype(str))),
        "replicate_pairs": len(rep_a),
        "subtype_changed": int((transitions["from"] != transitions["to"]).sum()),
        "correction": correction,
    }
    return LongitudinalResult(changes, per_patient, transitions, timeline, info)


def simulate_longitudinal(
    *,
    n_patients: int,
    n_features: int = 5,
    shift: dict[str, float] | None = None,
    noise: float = 0.3,
    replicates: int = 0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Paired pre/on-treatment samples: patient-level features plus a planted mean ``shift`` and measurement noise.

    ``replicates`` patients get a second pre-treatment sample (for the technical-noise estimate). Features carry
    ``ci_low``/``ci_high`` of ±1.96 ``noise``. A subtype label (IE/F/D) is drawn per sample: unchanged with
    probability 0.7.

    Examples
    --------
    >>> feats, clin = simulate_longitudinal(n_patients=4, seed=0)
    >>> sorted(clin["timepoint"].unique()), clin["patient_id"].nunique()
    (['on-treatment', 'pre-treatment'], 4)
    """
    from tmescope.io import normalize_features

    shift = dict(shift or {})
    rng = np.random.default_rng(seed)
    names = [f"sim.f{i}" for i in range(n_features)]
    base = rng.standard_normal((n_patients, n_features))
    beta = np.array([shift.get(n, 0.0) for n in names])
    rows, clin = [], []
    sub_pre = rng.choice(["IE", "F", "D"], n_patients)
    for i in range(n_patients):
        visits = [("pre-treatment", 0.0, "a"), ("on-treatment", 1.0, "a")]
        if i < replicates:
            visits.append(("pre-treatment", 0.0, "b"))
        for tp, w, rep in visits:
            s = f"P{i:03d}_{tp[:2]}{rep}"
            v = base[i] + w * beta + rng.normal(0, noise, n_features)
            lab = sub_pre[i] if (w == 0 or rng.random() < 0.7) else rng.choice(["IE", "F", "D"])
            clin.append({"sample_id": s, "patient_id": f"P{i:03d}", "timepoint": tp})
            for n, x in zip(names, v, strict=True):
                rows.append(
                    {"sample": s, "feature": n, "value": x, "ci_low": x - 1.96 * noise, "ci_high": x + 1.96 * noise}
                )
            rows.append({"sample": s, "feature": "subtype.label", "value": np.nan, "label": lab})
    return normalize_features(pd.DataFrame(rows)), pd.DataFrame(clin)
