"""Model fidelity: how closely the TME of each experimental model matches each patient tumour or tumour type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from tmescope._errors import InputError
from tmescope._logging import format_items
from tmescope.cohort._data import check_features, feature_matrix

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping, Sequence
    from pathlib import Path

#: Features that measure each TME compartment (those present are averaged, in patient-cohort z units).
COMPARTMENTS: dict[str, tuple[str, ...]] = {
    "immune": (
        "estimate.immune_score",
        "abundance.t_cells",
        "abundance.cd8_t_cells",
        "abundance.cytotoxic_lymphocytes",
        "abundance.b_lineage",
        "abundance.nk_cells",
        "abundance.monocytic_lineage",
        "abundance.myeloid_dendritic_cells",
        "tme_signature.effector_cells",
        "tme_signature.t_cells",
        "tme_signature.b_cells",
        "tme_signature.nk_cells",
        "tme_signature.macrophages",
        "tme_signature.mhcii",
    ),
    "caf": (
        "estimate.stromal_score",
        "abundance.fibroblasts",
        "tme_signature.caf",
        "tme_signature.matrix",
        "tme_signature.matrix_remodeling",
    ),
    "endothelial": ("abundance.endothelial_cells", "tme_signature.endothelium", "tme_signature.angiogenesis"),
}
#: Plain words for a missing compartment.
DEFICIT_TEXT = {"immune": "no immune compartment", "caf": "no CAF signal", "endothelial": "no vasculature signal"}
#: A model's compartment below this percentile of the patients' is a deficit.
DEFICIT_PERCENTILE = 5.0


class FidelityResult(NamedTuple):
    """What :func:`model_fidelity` returns."""

    #: Models x patients (or patient groups): fidelity in [0, 1] — the share of other patients that lie farther from
    #: the patient than the model does (0.5: as close as a typical other tumour; 0: farther than every tumour).
    fidelity: pd.DataFrame
    #: Models x patients (or groups): Euclidean distance in the shared feature space (patient z units, per feature).
    distance: pd.DataFrame
    #: Models x compartments: compartment score (z), its percentile among the patients, and the deficits.
    compartments: pd.DataFrame
    #: Long table: ``target``, ``rank``, ``model``, ``fidelity``, ``distance``, ``deficits``.
    ranking: pd.DataFrame
    info: dict[str, Any]


def _zscore(models: pd.DataFrame, patients: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    centre = patients.median(axis=0)
    scale = (patients - centre).abs().median(axis=0) * 1.4826
    sd = patients.std(axis=0, ddof=1)
    scale = scale.where(scale > 0, sd).replace(0, np.nan)
    return (models - centre) / scale, (patients - centre) / scale


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root-mean-square difference over the features measured in both rows (a: m x p, b: n x p)."""
    diff = a[:, None, :] - b[None, :, :]
    ok = np.isfinite(diff)
    sq = np.where(ok, diff, 0.0) ** 2
    n = ok.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(sq.sum(axis=2) / n)


def model_fidelity(
    models: pd.DataFrame,
    patients: pd.DataFrame,
    *,
    groups: pd.Series | Mapping[str, str] | None = None,
    include: Sequence[str] | None = None,
    min_features: int = 10,
) -> FidelityResult:
    """Score how closely each experimental model's TME matches each patient tumour (or tumour group).

    Both feature tables are read in the shared numeric feature space (features measured in both), scaled by the
    patients' median and MAD. Distance: root-mean-square difference over the features. Fidelity of a model for a
    patient: the share of the other patients that lie farther from that patient than the model does; for a group
    of patients (e.g. a tumour type or TME subtype), the mean over its patients. Compartment deficits: a model whose
    immune, CAF or endothelial compartment score lies below the patients' 5th percentile is flagged ("no immune
    compartment", "no CAF signal", "no vasculature signal") — the usual gaps of cell lines, organoids and
    xenografts.

    Parameters
    ----------
    models, patients
        Tidy feature tables (e.g. ``tmescope profile`` of the models and of the patient cohort).
    groups
        Patient -> group label (e.g. subtype or tumour type): fidelity is then per group.
    include
        Only features whose name starts with one of these.
    min_features
        Fewest shared features (refused below).

    Returns
    -------
    :class:`FidelityResult`.

    Examples
    --------
    >>> from tmescope.cohort import simulate_models
    >>> models, patients = simulate_models(n_patients=40, seed=0)
    >>> res = model_fidelity(models, patients)
    >>> res.compartments.loc["organoid", "deficits"]
    'no immune compartment; no vasculature signal'
    """
    mt, pt = check_features(models), check_features(patients)
    if include is not None:
        mt = mt[mt["feature"].str.startswith(tuple(include))]
        pt = pt[pt["feature"].str.startswith(tuple(include))]
    mnum, pnum = mt[mt["label"] == ""], pt[pt["label"] == ""]
    mm = feature_matrix(mnum, min_measured=0.0)
    pm = feature_matrix(pnum, min_measured=0.5)
    shared = pm.columns.intersection(mm.columns)
    if len(shared) < min_features:
        only_m = sorted(set(mm.columns) - set(pm.columns))
        extra = f"; features only in the models: {format_items(only_m)}" if only_m else ""
        msg = (
            f"Models and patients share only {len(shared)} feature(s) (at least {min_features} needed). Profile both "
            f"with the same command and reference{extra}."
        )
        raise InputError(msg)
    overlap = sorted(set(mm.index) & set(pm.index))
    if overlap:
        msg = f"Sample IDs {format_items(overlap)} are in both tables; give models and patients distinct IDs."
        raise InputError(msg)
    zm, zp = _zscore(mm[shared], pm[shared])
    keep = zp.columns[zp.notna().any(axis=0)]
    zm, zp = zm[keep], zp[keep]
    d_mp = _distances(zm.to_numpy(float), zp.to_numpy(float))
    d_pp = _distances(zp.to_numpy(float), zp.to_numpy(float))
    np.fill_diagonal(d_pp, np.nan)
    # fidelity[i, j]: fraction of other patients k with d(patient j, k) > d(model i, patient j)
    with np.errstate(invalid="ignore"):
        farther = (d_pp[None, :, :] > d_mp[:, :, None]).sum(axis=2)
    n_other = np.isfinite(d_pp).sum(axis=1)
    fid = farther / np.maximum(n_other, 1)[None, :]
    fidelity = pd.DataFrame(fid, index=zm.index, columns=zp.index)
    distance = pd.DataFrame(d_mp, index=zm.index, columns=zp.index)
    if groups is not None:
        g = pd.Series(groups).astype(str).reindex(zp.index)
        if g.isna().all():
            msg = "None of the patients has a group in `groups`; index it by the patient sample IDs."
            raise InputError(msg)
        fidelity = fidelity.T.groupby(g).mean().T
        distance = distance.T.groupby(g).mean().T
    comp_rows = []
    for name, feats in COMPARTMENTS.items():
        cols = [c for c in feats if c in zp.columns]
        if not cols:
            continue
        pscore = zp[cols].mean(axis=1)
        mscore = zm[cols].mean(axis=1)
        pct = mscore.apply(lambda v, ps=pscore: float((ps < v).mean() * 100))
        comp_rows.append(
            pd.DataFrame({"compartment": name, "score": mscore, "percentile": pct, "n_features": len(cols)})
        )
    comp_long = pd.concat(comp_rows) if comp_rows else pd.DataFrame(columns=["compartment", "score", "percentile"])
    compartments = comp_long.pivot_table(index=comp_long.index, columns="compartment", values=["score", "percentile"])
    compartments.columns = [f"{c}_{v}" for v, c in compartments.columns]
    compartments = compartments.reindex(zm.index)
    deficits = []
    for model in zm.index:
        miss = [
            DEFICIT_TEXT[c]
            for c in COMPARTMENTS
            if f"{c}_percentile" in compartments.columns
            and compartments.loc[model, f"{c}_percentile"] < DEFICIT_PERCENTILE
        ]
        deficits.append("; ".join(miss))
    compartments["deficits"] = deficits
    compartments.index.name = "model"
    rank_rows = []
    for target in fidelity.columns:
        # ties in fidelity (e.g. several models farther than every tumour) are broken by distance
        both = pd.DataFrame({"f": fidelity[target], "d": distance[target]})
        order = both.sort_values(["f", "d"], ascending=[False, True], kind="stable")["f"]
        for r, (model, f) in enumerate(order.items(), start=1):
            rank_rows.append(
                {
                    "target": target,
                    "rank": r,
                    "model": model,
                    "fidelity": f,
                    "distance": distance.loc[model, target],
                    "deficits": compartments.loc[model, "deficits"],
                }
            )
    info = {
        "n_models": zm.shape[0],
        "n_patients": zp.shape[0],
        "n_features": zp.shape[1],
        "grouped": groups is not None,
        "scaling": "patients' median and MAD (x1.4826)",
    }
    return FidelityResult(fidelity, distance, compartments, pd.DataFrame(rank_rows), info)


def simulate_models(*, n_patients: int = 40, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated patients with every TME compartment, and three experimental models of known fidelity.

    ``xenograft_like_patient`` is a patient profile plus noise, ``organoid`` lacks immune cells and vessels,
    ``cell_line`` lacks every non-tumour compartment.

    Examples
    --------
    >>> models, patients = simulate_models(n_patients=10)
    >>> sorted(models["sample"].unique())
    ['cell_line', 'organoid', 'xenograft_like_patient']
    """
    from tmescope.io import normalize_features

    rng = np.random.default_rng(seed)
    feats = sorted({f for fs in COMPARTMENTS.values() for f in fs}) + [f"tumour.f{i}" for i in range(6)]
    comp_of = {f: c for c, fs in COMPARTMENTS.items() for f in fs}
    latent = {c: rng.normal(0, 1, n_patients) for c in COMPARTMENTS}
    x = np.column_stack(
        [
            latent[comp_of[f]] + rng.normal(0, 0.4, n_patients) if f in comp_of else rng.normal(0, 1, n_patients)
            for f in feats
        ]
    )
    patients = pd.DataFrame(x, index=[f"T{i:03d}" for i in range(n_patients)], columns=feats)
    absent = -4.0
    close = patients.iloc[0] + rng.normal(0, 0.2, len(feats))
    organoid = patients.iloc[1].copy()
    cell_line = patients.iloc[2].copy()
    for f in feats:
        c = comp_of.get(f)
        if c in ("immune", "endothelial"):
            organoid[f] = absent + rng.normal(0, 0.2)
        if c is not None:
            cell_line[f] = absent + rng.normal(0, 0.2)
    models = pd.DataFrame([close, organoid, cell_line], index=["xenograft_like_patient", "organoid", "cell_line"])

    def tidy(frame: pd.DataFrame) -> pd.DataFrame:
        long = frame.rename_axis(index="sample", columns="feature").stack().rename("value").reset_index()
        return normalize_features(long)

    return tidy(models), tidy(patients)


def run_fidelity(
    models: str | os.PathLike[str],
    patients: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    groupby: str | None = None,
    report: bool = True,
) -> Path:
    """Read two feature tables (files or profile folders), score fidelity and write the tables and provenance.

    Writes ``fidelity.tsv`` (models x targets), ``distance.tsv``, ``compartments.tsv``, ``ranking.tsv`` and
    ``provenance.json`` and, with ``report``, ``report/index.html`` (fidelity matrix, deficits, ranking).
    ``groupby``: a categorical feature of the patients (e.g. ``subtype.label``) to score against groups instead of
    single patients.
    """
    from pathlib import Path

    from tmescope._provenance import Provenance, atomic_path, collect
    from tmescope.io import read_features

    out = Path(outdir)
    prov = Provenance("fidelity", params={"groupby": groupby or ""})
    with collect(prov):
        mt, pt = read_features(models), read_features(patients)
        for path, role in ((Path(models), "models"), (Path(patients), "patients")):
            prov.add_input(path / "features.parquet" if path.is_dir() else path, role=role)
        groups = None
        if groupby is not None:
            rows = pt[pt["feature"] == groupby]
            if rows.empty:
                msg = f"The patients' table has no feature {groupby!r} to group by (e.g. 'subtype.label')."
                raise InputError(msg)
            groups = rows.set_index("sample")["label"].replace("", np.nan).dropna()
        res = model_fidelity(mt, pt, groups=groups)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame, index in (
            ("fidelity.tsv", res.fidelity, True),
            ("distance.tsv", res.distance, True),
            ("compartments.tsv", res.compartments, True),
            ("ranking.tsv", res.ranking, False),
        ):
            with atomic_path(out / name) as tmp:
                frame.to_csv(tmp, sep="\t", index=index, float_format="%.6g")
        if report:
            from tmescope.report._cohort import write_fidelity_report

            write_fidelity_report(res, out / "report")
    prov.write(out)
    return out
