"""Every cohort association in one call, and ``tmescope cohort``: from a profile folder to tables and a report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from tmescope._errors import InputError, TmescopeWarning
from tmescope._logging import warn
from tmescope._provenance import Provenance, atomic_path, collect, safe_name
from tmescope._settings import settings
from tmescope.cohort._associate import ASSOCIATION_COLUMNS, SurvivalCurves, associate, roc_curve, survival_curves
from tmescope.cohort._data import OUTCOMES, SURVIVAL, align_clinical, check_features
from tmescope.cohort._groups import compare_groups
from tmescope.cohort._longitudinal import LongitudinalResult, longitudinal_change
from tmescope.cohort._predict import PredictionResult, predict_response

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

#: Outcomes tried when none is asked for.
DEFAULT_OUTCOMES = ("os", "pfs", "response", "recist")
#: Features whose ROC curves are shown (when present), besides the strongest ones.
ROC_FEATURES = ("immunotherapy.cyt_rooney2015", "immunotherapy.gep_18gene_ayers2017")


class CohortResult(NamedTuple):
    """What :func:`analyze_cohort` returns."""

    #: Association tables of every outcome analysed, stacked (:data:`ASSOCIATION_COLUMNS`).
    association: pd.DataFrame
    #: ``"<outcome> by <group>"`` -> Kaplan–Meier curves and log-rank test.
    curves: dict[str, SurvivalCurves]
    #: Feature -> ROC curve for response.
    roc: dict[str, pd.DataFrame]
    #: Outcome or figure -> why it was not analysed.
    skipped: dict[str, str]
    #: Sample counts and settings.
    info: dict[str, Any]
    #: Group comparison (:func:`compare_groups`), when asked for.
    groups: pd.DataFrame | None = None
    #: Nested cross-validated response model (:func:`predict_response`), when asked for.
    prediction: PredictionResult | None = None
    #: Paired change between timepoints (:func:`longitudinal_change`), when patients were sampled repeatedly.
    longitudinal: LongitudinalResult | None = None
    #: Feature -> purity-adjusted driver-gene table (:func:`tme_drivers`), when asked for.
    drivers: dict[str, pd.DataFrame] | None = None


def analyze_cohort(
    features: pd.DataFrame,
    *,
    clinical: pd.DataFrame,
    outcomes: Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    by: Sequence[str] = ("subtype.label", "immunotherapy.gep_18gene_ayers2017"),
    correction: str = "fdr_bh",
    n_boot: int = 1000,
    compare: str | None = None,
    predict: bool = False,
    longitudinal: bool | None = None,
    timepoints: Sequence[str] | None = None,
    seed: int | None = None,
) -> CohortResult:
    """Associate every feature with each outcome and draw up the curves the report shows.

    Outcomes asked for explicitly must be analysable (else the refusal is raised); with ``outcomes=None`` every
    outcome of :data:`DEFAULT_OUTCOMES` that the clinical table supports is analysed and the others are listed in
    ``skipped`` with the reason.

    Parameters
    ----------
    features, clinical
        Tidy feature table and clinical table.
    outcomes
        Outcomes (``os``, ``pfs``, ``response``, ``recist``); ``None`` for all that can be analysed.
    covariates
        Adjustment (see :func:`associate`; not used for ``recist``).
    by
        Groupings of the Kaplan–Meier curves: categorical features, numeric features (tertiles) or clinical columns.
    correction, n_boot, seed
        As in :func:`associate`.
    compare
        Also compare the groups of this clinical column or categorical feature on every feature
        (:func:`compare_groups`).
    predict
        Also fit the nested cross-validated response model (:func:`predict_response`); a refusal (too few
        responders) is listed in ``skipped``.
    longitudinal
        Paired change between timepoints (:func:`longitudinal_change`): ``True`` requires it (refusal raised),
        ``None`` runs it when some patient has several samples (a refusal is listed in ``skipped``), ``False``
        skips it.
    timepoints
        Timepoint labels in time order, for the longitudinal analysis.

    Returns
    -------
    :class:`CohortResult`.

    Examples
    --------
    >>> from tmescope.cohort import simulate_cohort
    >>> feats, clin = simulate_cohort(n_samples=80, n_features=3, effects={"sim.f0": 0.8}, seed=0)
    >>> res = analyze_cohort(feats, clinical=clin, by=["sim.f0"], n_boot=100)
    >>> sorted(res.association["outcome"].unique()), list(res.curves)
    (['os', 'pfs', 'recist', 'response'], ['os by sim.f0', 'pfs by sim.f0'])
    """
    table = check_features(features)
    seed = settings.seed if seed is None else int(seed)
    explicit = outcomes is not None
    wanted = list(outcomes) if outcomes is not None else list(DEFAULT_OUTCOMES)
    unknown = [o for o in wanted if o not in OUTCOMES]
    if unknown:
        msg = f"Unknown outcome(s) {unknown}; choose among {', '.join(OUTCOMES)}."
        raise InputError(msg)
    tables, skipped = [], {}
    for outcome in wanted:
        try:
            res = associate(
                table,
                clinical=clinical,
                outcome=outcome,
                covariates=() if outcome == "recist" else covariates,
                correction=correction,
                n_boot=n_boot,
                seed=seed,
            )
        except InputError as err:
            if explicit:
                raise
            skipped[outcome] = str(err)
            continue
        tables.append(res)
    association = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(ASSOCIATION_COLUMNS))
    curves: dict[str, SurvivalCurves] = {}
    done = {str(t.attrs["outcome"]) for t in tables}
    for outcome in [o for o in SURVIVAL if o in done]:
        for group in by:
            key = f"{outcome} by {group}"
            try:
                curves[key] = survival_curves(table, clinical=clinical, by=group, outcome=outcome)
            except InputError as err:
                skipped[key] = str(err)
    roc: dict[str, pd.DataFrame] = {}
    if "response" in done:
        resp = association[(association["outcome"] == "response") & (association["status"] == "ok")]
        names = [f for f in ROC_FEATURES if f in set(resp["feature"])]
        names += [f for f in resp.sort_values("p")["feature"] if f not in names][: max(0, 5 - len(names))]
        for f in names:
            roc[f] = roc_curve(table, clinical=clinical, feature=f)
    samples = pd.Index(sorted(table["sample"].unique()))
    clin = align_clinical(samples, clinical)
    info = {
        "n_samples": len(samples),
        "n_with_clinical": int(clin.notna().any(axis=1).sum()),
        "outcomes": sorted(done),
        "covariates": list(covariates),
        "correction": correction,
        "n_boot": n_boot,
        "seed": seed,
        "n_features_tested": int(association["feature"].nunique()),
    }
    groups = (
        compare_groups(table, groups=compare, clinical=clinical, correction=correction) if compare is not None else None
    )
    prediction = None
    if predict:
        try:
            prediction = predict_response(table, clinical=clinical, n_boot=n_boot, seed=seed)
        except InputError as err:
            skipped["prediction"] = str(err)
    long_res = None
    if longitudinal is not False:
        clin_all = align_clinical(samples, clinical)
        repeated = "patient_id" in clin_all.columns and clin_all["patient_id"].dropna().astype(str).duplicated().any()
        if longitudinal or repeated:
            try:
                long_res = longitudinal_change(table, clinical=clinical, order=timepoints)
            except InputError as err:
                if longitudinal:
                    raise
                skipped["longitudinal"] = str(err)
    if not tables and groups is None and long_res is None:
        reasons = "; ".join(f"{k}: {v}" for k, v in skipped.items())
        msg = f"No outcome could be analysed ({reasons})."
        raise InputError(msg)
    return CohortResult(association, curves, roc, skipped, info, groups, prediction, long_res)


def _clinical_from_profile(profile_dir: Path) -> pd.DataFrame:
    import anndata as ad

    path = profile_dir / "profile.h5ad"
    if not path.exists():
        msg = (
            f"No clinical table given and no {path} to read the clinical columns from; pass --clinical "
            "(clinical=...) or profile the cohort with a clinical table."
        )
        raise InputError(msg)
    obs = ad.read_h5ad(path, backed="r").obs.copy()
    cols = [
        c
        for c in (
            "os_time",
            "os_event",
            "pfs_time",
            "pfs_event",
            "response",
            "recist",
            "timepoint",
            "treatment",
            "patient_id",
        )
        if c in obs.columns
    ]
    if not any(c in obs.columns for c in ("os_time", "pfs_time", "response", "recist")):
        msg = f"{path} holds no clinical outcome columns; pass the clinical table with --clinical (clinical=...)."
        raise InputError(msg)
    clin = obs[cols].copy()
    for c in clin.columns:
        if clin[c].dtype == object or isinstance(clin[c].dtype, pd.CategoricalDtype):
            clin[c] = clin[c].astype("string").replace("", pd.NA)
    clin.insert(0, "sample_id", obs.index.astype(str))
    if "patient_id" not in clin.columns:
        clin["patient_id"] = clin["sample_id"]
    return clin.reset_index(drop=True)


def _drivers(src: Path, feats: pd.DataFrame, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    import anndata as ad

    from tmescope.cohort._drivers import tme_drivers

    path = (src if src.is_dir() else src.parent) / "profile.h5ad"
    if not path.exists():
        msg = f"The driver scan needs the expression in {path} (written by `tmescope profile`); it is not there."
        raise InputError(msg)
    adata = ad.read_h5ad(path)
    return {name: tme_drivers(adata, features=feats, feature=name) for name in names}


def write_cohort(
    result: CohortResult, outdir: str | os.PathLike[str], *, title: str = "Cohort analysis", report: bool = True
) -> list[Path]:
    """Write ``association.parquet``/``.tsv``, ``km_curves.tsv``, ``km_tests.json``, ``roc.tsv`` and ``report/``."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    assoc = result.association
    with atomic_path(out / "association.parquet") as tmp:
        assoc.to_parquet(tmp, index=False)
    with atomic_path(out / "association.tsv") as tmp:
        assoc.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    written += [out / "association.parquet", out / "association.tsv"]
    km = (
        pd.concat([sc.curves.assign(curve=k) for k, sc in result.curves.items()], ignore_index=True)
        if result.curves
        else pd.DataFrame(columns=["curve", "group", "time", "survival", "ci_low", "ci_high", "at_risk", "events"])
    )
    with atomic_path(out / "km_curves.tsv") as tmp:
        km.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    tests = {k: sc.test for k, sc in result.curves.items()}
    with atomic_path(out / "km_tests.json") as tmp:
        tmp.write_text(
            json.dumps({"tests": tests, "skipped": result.skipped, "info": result.info}, indent=2, default=str) + "\n",
            encoding="utf-8",
        )
    roc = (
        pd.concat([r.assign(feature=f, auc=r.attrs["auc"]) for f, r in result.roc.items()], ignore_index=True)
        if result.roc
        else pd.DataFrame(columns=["fpr", "tpr", "feature", "auc"])
    )
    with atomic_path(out / "roc.tsv") as tmp:
        roc.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    written += [out / "km_curves.tsv", out / "km_tests.json", out / "roc.tsv"]
    if result.groups is not None:
        with atomic_path(out / "groups.tsv") as tmp:
            result.groups.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
        written.append(out / "groups.tsv")
    if result.prediction is not None:
        pr = result.prediction
        with atomic_path(out / "prediction.tsv") as tmp:
            pr.predictions.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
        with atomic_path(out / "prediction.json") as tmp:
            summary = {
                "auc_out_of_fold": pr.auc,
                "auc_ci": list(pr.auc_ci),
                "fold_auc": pr.fold_auc,
                "features": pr.features.reset_index().to_dict(orient="records"),
                "info": pr.info,
            }
            tmp.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
        written += [out / "prediction.tsv", out / "prediction.json"]
    if result.longitudinal is not None:
        lr = result.longitudinal
        for name, frame in (
            ("longitudinal_changes.tsv", lr.changes),
            ("longitudinal_per_patient.tsv", lr.per_patient),
            ("subtype_transitions.tsv", lr.transitions),
        ):
            with atomic_path(out / name) as tmp:
                frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
            written.append(out / name)
    for feat, table in (result.drivers or {}).items():
        path = out / f"drivers_{safe_name(feat)}.tsv"
        with atomic_path(path) as tmp:
            table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
        written.append(path)
    if report:
        from tmescope.report._cohort import write_cohort_report

        written.append(write_cohort_report(result, out / "report", title=title))
    return written


def run_cohort(
    profile_dir: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    clinical: str | os.PathLike[str] | pd.DataFrame | None = None,
    outcomes: Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    by: Sequence[str] = ("subtype.label", "immunotherapy.gep_18gene_ayers2017"),
    correction: str = "fdr_bh",
    n_boot: int = 1000,
    compare: str | None = None,
    predict: bool = False,
    longitudinal: bool | None = None,
    timepoints: Sequence[str] | None = None,
    drivers: Sequence[str] = (),
    seed: int | None = None,
    title: str | None = None,
    report: bool = True,
) -> Path:
    """Read a profile folder (or any feature table) and a clinical table, analyse, and write every output.

    Parameters
    ----------
    profile_dir
        Folder with ``features.parquet`` (from ``tmescope profile`` or any analysis command), or the table itself.
    outdir
        Output folder: ``association.parquet``/``.tsv``, ``km_curves.tsv``, ``km_tests.json``, ``roc.tsv``,
        ``report/index.html`` and ``provenance.json``.
    clinical
        Clinical file or table; by default the clinical columns stored in ``profile_dir/profile.h5ad``.
    outcomes, covariates, by, correction, n_boot, compare, predict, longitudinal, timepoints, seed
        As in :func:`analyze_cohort`; ``compare`` adds ``groups.tsv``, ``predict`` adds ``prediction.tsv`` and
        ``prediction.json``, the longitudinal analysis adds ``longitudinal_changes.tsv``,
        ``longitudinal_per_patient.tsv`` and ``subtype_transitions.tsv``.
    drivers
        Features whose purity-adjusted driver genes are scanned (:func:`tme_drivers`, expression from
        ``profile_dir/profile.h5ad``); writes ``drivers_<feature>.tsv``.
    title
        Report title.
    report
        Write the HTML report.

    Returns
    -------
    The output folder.
    """
    from tmescope.io import read_clinical, read_features

    src = Path(profile_dir)
    out = Path(outdir)
    seed = settings.seed if seed is None else int(seed)
    prov = Provenance(
        "cohort",
        params={
            "outcomes": list(outcomes or []),
            "covariates": list(covariates),
            "by": list(by),
            "correction": correction,
            "n_boot": n_boot,
            "compare": compare or "",
            "predict": predict,
            "drivers": list(drivers),
        },
        seed=seed,
    )
    with collect(prov):
        feats = read_features(src)
        fpath = src / "features.parquet" if src.is_dir() else src
        prov.add_input(fpath, role="features")
        if clinical is None:
            clin = _clinical_from_profile(src if src.is_dir() else src.parent)
        elif isinstance(clinical, pd.DataFrame):
            clin = clinical
        else:
            clin = read_clinical(clinical)
            prov.add_input(clinical, role="clinical")
        result = analyze_cohort(
            feats,
            clinical=clin,
            outcomes=outcomes,
            covariates=covariates,
            by=by,
            correction=correction,
            n_boot=n_boot,
            compare=compare,
            predict=predict,
            longitudinal=longitudinal,
            timepoints=timepoints,
            seed=seed,
        )
        if drivers:
            result = result._replace(drivers=_drivers(src, feats, drivers))
        for what, why in result.skipped.items():
            warn(f"Cohort analysis: {what} not analysed: {why}", TmescopeWarning)
        write_cohort(result, out, title=title or f"Cohort analysis of {src.name}", report=report)
    prov.write(out)
    return out
