"""The cohort page of the HTML report: forest plots, Kaplan–Meier and ROC curves, ranked tables.

It draws what :func:`tmescope.cohort.analyze_cohort` returned and computes nothing itself.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from tmescope._provenance import atomic_dir
from tmescope.pl import _cohort as cfig
from tmescope.report import _html as h
from tmescope.report._write import _SKIP, _check_outdir, _write_assets, render_page

if TYPE_CHECKING:
    import numpy as np

    from tmescope.cohort._fidelity import FidelityResult
    from tmescope.cohort._predict import PredictionResult
    from tmescope.cohort._run import CohortResult

logger = logging.getLogger(__name__)

OUTCOME_NAMES = {
    "os": "Overall survival",
    "pfs": "Progression-free survival",
    "response": "Response (R vs NR)",
    "recist": "RECIST best response",
}
_HOWTO = {
    "os": "Each row is a feature; the square is its hazard ratio per standard deviation (or for a group vs the "
    "rest) from a Cox model, the line its 95% interval. <b>Left of 1</b>: higher values go with longer survival; "
    "<b>right of 1</b>: shorter survival. Orange rows pass the false-discovery-rate cut (q &lt; 0.05).",
    "response": "Odds ratio of response per standard deviation of each feature (logistic regression). <b>Right of "
    "1</b>: higher in responders. The table adds the AUC with its bootstrap 95% interval and the Mann–Whitney p.",
    "recist": "Spearman correlation of each feature with the ordered best response (PD &lt; SD &lt; PR &lt; CR). "
    "<b>Positive</b>: higher in better responses.",
}
_HOWTO["pfs"] = _HOWTO["os"].replace("survival", "progression-free survival")


def _top_table(rows: pd.DataFrame, outcome: str, n: int = 15) -> str:
    ok = rows[rows["status"] == "ok"].head(n)
    frame = pd.DataFrame(
        {
            "rank": ok["rank"].to_numpy(),
            "feature": ok["feature"].to_numpy(),
            ok["effect_type"].iloc[0] if len(ok) else "effect": ok["effect"].to_numpy(float),
            "95% CI": [f"{h.fmt(lo)}–{h.fmt(hi)}" for lo, hi in zip(ok["ci_low"], ok["ci_high"], strict=True)],
            "p": ok["p"].to_numpy(float),
            "q": ok["q"].to_numpy(float),
            "n": ok["n"].to_numpy(float).astype(int),
        }
    )
    if outcome in ("os", "pfs"):
        frame["events"] = ok["n_events"].to_numpy(float).astype(int)
        frame["PH check p"] = ok["ph_p"].to_numpy(float)
    if outcome == "response":
        frame["responders"] = ok["n_events"].to_numpy(float).astype(int)
        frame["AUC (95% CI)"] = [
            f"{h.fmt(a)} ({h.fmt(lo)}–{h.fmt(hi)})"
            for a, lo, hi in zip(ok["auc"], ok["auc_ci_low"], ok["auc_ci_high"], strict=True)
        ]
        frame["Mann–Whitney p"] = ok["p_mannwhitney"].to_numpy(float)
    frame["flag"] = ok["flag"].to_numpy()
    numeric = [c for c in frame.columns if c not in ("feature", "95% CI", "AUC (95% CI)", "flag")]
    return h.table(frame, numeric=numeric, wrap=True)


def _outcome_section(result: CohortResult, outcome: str, tmp: Path, *, static: bool) -> str:
    rows = result.association[result.association["outcome"] == outcome]
    name = OUTCOME_NAMES[outcome]
    n_ok = int((rows["status"] == "ok").sum())
    n_sig = int((rows["q"] < cfig.Q_SIGNIFICANT).sum())
    refused = rows[rows["status"] != "ok"]
    lead = (
        f"<p>{n_ok} feature(s) tested, {n_sig} with q &lt; {cfig.Q_SIGNIFICANT} "
        f"({h.e(str(result.info.get('correction', 'fdr_bh')))} correction)."
        + (
            f" {len(refused)} not tested (too few samples): {h.e(', '.join(refused['feature'][:8]))}."
            if len(refused)
            else ""
        )
        + "</p>"
    )
    try:
        fig = cfig.forest(rows)
        content = h.figure(fig, f"fig-forest-{outcome}", filename=f"forest_{outcome}")
        if static:
            files = cfig.forest_static(rows, tmp / "figures" / f"forest_{outcome}")
            content += h.downloads((p.suffix[1:].upper(), f"figures/{p.name}") for p in files)
    except _SKIP as err:
        content = h.omitted("Forest plot", str(err))
    content = lead + content + _top_table(rows, outcome)
    return h.section(f"outcome-{outcome}", name, content, howto=_HOWTO[outcome])


def _km_section(result: CohortResult, tmp: Path, *, static: bool) -> str:
    parts = []
    for i, (key, sc) in enumerate(result.curves.items()):
        try:
            parts.append(h.figure(cfig.km_curves(sc.curves, sc.test), f"fig-km-{i}", filename=f"km_{i}"))
            if static:
                files = cfig.km_static(sc.curves, sc.test, tmp / "figures" / f"km_{i}")
                parts.append(h.downloads((p.suffix[1:].upper(), f"figures/{p.name}") for p in files))
        except _SKIP as err:
            parts.append(h.omitted(f"Kaplan–Meier {key}", str(err)))
    for key, why in result.skipped.items():
        if " by " in key:
            parts.append(h.omitted(f"Kaplan–Meier curves of {key}", why))
    if not parts:
        parts.append(h.omitted("Kaplan–Meier curves", "No survival outcome could be analysed."))
    howto = (
        "The share of patients still free of the event over time, per group (TME subtype, or low/mid/high thirds "
        "of a feature). Shaded bands are 95% intervals; the log-rank p in each title tests whether the curves differ."
    )
    return h.section("km", "Kaplan–Meier curves", "\n".join(parts), howto=howto)


def _roc_section(result: CohortResult) -> str:
    if not result.roc:
        return h.section("roc", "ROC curves", h.omitted("ROC curves", "No response outcome was analysed."))
    howto = (
        "How well each feature alone separates responders from non-responders, over every threshold. The diagonal "
        "is chance (AUC 0.5). These are single-feature, in-sample curves: they describe, they do not predict."
    )
    return h.section("roc", "ROC curves", h.figure(cfig.roc_curves(result.roc), "fig-roc", filename="roc"), howto=howto)


def _groups_section(result: CohortResult) -> str:
    g = result.groups
    if g is None:
        return ""
    name = str(g.attrs.get("groups", "groups"))
    sizes = ", ".join(f"{k}: {v}" for k, v in g.attrs.get("sizes", {}).items())
    try:
        content = h.figure(cfig.volcano(g), "fig-volcano", filename="volcano")
    except _SKIP as err:
        content = h.omitted("Volcano plot", str(err))
    ok = g[g["status"] == "ok"].head(15)
    frame = pd.DataFrame(
        {
            "feature": ok["feature"].to_numpy(),
            "comparison": ok["comparison"].to_numpy(),
            "Hedges' g": ok["hedges_g"].to_numpy(float),
            "95% CI": [f"{h.fmt(lo)}–{h.fmt(hi)}" for lo, hi in zip(ok["g_ci_low"], ok["g_ci_high"], strict=True)],
            "Cliff's delta": ok["cliffs_delta"].to_numpy(float),
            "p": ok["p"].to_numpy(float),
            "q": ok["q"].to_numpy(float),
        }
    )
    content = f"<p>Groups of <b>{h.e(name)}</b> ({h.e(sizes)}).</p>" + content
    content += h.table(frame, numeric=["Hedges' g", "Cliff's delta", "p", "q"], wrap=True)
    howto = (
        "Every feature compared between the groups. Right of 0: higher in the group than in its reference; higher "
        "points: stronger evidence (Mann–Whitney). Filled points pass the false-discovery-rate cut."
    )
    return h.section("groups", f"Group comparison: {name}", content, howto=howto)


def _prediction_section(result: CohortResult) -> str:
    pr = result.prediction
    if pr is None:
        why = result.skipped.get("prediction")
        return h.section("prediction", "Predictive model", h.omitted("Predictive model", why)) if why else ""
    roc = pd.DataFrame(dict(zip(("fpr", "tpr"), _roc_points(pr), strict=True)))
    roc.attrs["auc"] = pr.auc
    fig = cfig.roc_curves({"model.out_of_fold": roc}, title="Out-of-fold ROC of the cross-validated model")
    used = pr.features[pr.features["selected"] > 0].head(20).reset_index()
    used.columns = ["feature", "folds selected", "mean coefficient (per SD)"]
    lead = (
        f"<p>Out-of-fold AUC <b>{pr.auc:.2f}</b> (bootstrap 95% CI {pr.auc_ci[0]:.2f}–{pr.auc_ci[1]:.2f}); per outer "
        f"fold: {', '.join(f'{a:.2f}' for a in pr.fold_auc)}. {pr.info['n']} samples ({pr.info['n_responders']} "
        f"responders), {pr.info['n_features']} features, {pr.info['n_outer']}×{pr.info['n_inner']} nested "
        f"cross-validation, {h.e(pr.info['penalty'])} penalty, seed {pr.info['seed']}.</p>"
    )
    howto = (
        "A regularised logistic model of response, tuned and scored by nested cross-validation: each sample is "
        "scored by a model that never saw it, so the AUC estimates performance on new patients of the same kind. "
        "Performance on the training samples themselves is not reported: it would overstate what the model can do."
    )
    content = lead + h.figure(fig, "fig-prediction", filename="prediction_roc")
    content += h.table(used, numeric=["folds selected", "mean coefficient (per SD)"], wrap=True)
    return h.section("prediction", "Predictive model (nested cross-validation)", content, howto=howto)


def _roc_points(pr: PredictionResult) -> tuple[np.ndarray, np.ndarray]:
    from tmescope.cohort._stats import roc_points

    preds = pr.predictions
    return roc_points(preds["probability"].to_numpy(float), preds["response"].to_numpy(bool))


def _longitudinal_section(result: CohortResult) -> str:
    lr = result.longitudinal
    if lr is None:
        why = result.skipped.get("longitudinal")
        return h.section("longitudinal", "Longitudinal", h.omitted("Longitudinal analysis", why)) if why else ""
    info = lr.info
    ch = lr.changes
    ok = ch[ch["status"] == "ok"]
    lead = (
        f"<p>{info['n_patients_paired']} patient(s) sampled at two or more timepoints ({h.e(', '.join(info['timepoints']))}); "
        f"{info['replicate_pairs']} replicate pair(s) for the technical noise; the TME subtype changed in "
        f"{info['subtype_changed']} patient(s).</p>"
    )
    figs = []
    for i, feat in enumerate(ok["feature"].head(3)):
        try:
            figs.append(
                h.figure(cfig.timeline(lr.timeline, feature=str(feat)), f"fig-timeline-{i}", filename=f"timeline_{i}")
            )
        except _SKIP as err:
            figs.append(h.omitted(f"Timeline of {feat}", str(err)))
    top = ok.head(15)
    frame = pd.DataFrame(
        {
            "feature": top["feature"].to_numpy(),
            "pairs": top["n_pairs"].to_numpy(float).astype(int),
            "mean change": top["mean_change"].to_numpy(float),
            "technical noise SD": top["noise_sd"].to_numpy(float),
            "beyond noise": top["n_beyond_noise"].to_numpy(float),
            "Wilcoxon p": top["p"].to_numpy(float),
            "q": top["q"].to_numpy(float),
        }
    )
    trans = lr.transitions.groupby(["from", "to"]).size().rename("patients").reset_index()
    howto = (
        "For patients biopsied more than once: how each feature changed from the first to the last biopsy. "
        "<b>Technical noise</b> is the spread expected between two measurements of the same tumour (from replicate "
        "samples, or from the features' confidence intervals); <b>beyond noise</b> counts patients whose change is "
        "larger than 1.96 noise SDs. Each line in the timelines is one patient; marker colours are TME subtypes."
    )
    content = (
        lead
        + "".join(figs)
        + h.table(frame, numeric=[c for c in frame.columns if c != "feature"], wrap=True)
        + "<h3>Subtype transitions (first → last timepoint)</h3>"
        + h.table(trans, numeric=["patients"])
    )
    return h.section("longitudinal", "Longitudinal change", content, howto=howto)


def _drivers_section(result: CohortResult) -> str:
    if not result.drivers:
        return ""
    parts = []
    for feat, table in result.drivers.items():
        top = table[~table["excluded"]].head(20)
        frame = pd.DataFrame(
            {
                "gene": top["gene"].to_numpy(),
                "partial rho": top["rho"].to_numpy(float),
                "rho (unadjusted)": top["rho_unadjusted"].to_numpy(float),
                "p": top["p"].to_numpy(float),
                "q": top["q"].to_numpy(float),
            }
        )
        excl = table.attrs.get("excluded", [])
        n_sig = int((table["q"] < 0.05).sum())
        parts.append(
            f"<h3>{h.e(feat)}</h3><p>{n_sig} gene(s) with q &lt; 0.05 over {int(table['n'].iloc[0])} samples"
            + (f"; the feature's own {len(excl)} gene(s) are left out" if excl else "")
            + ".</p>"
            + h.table(frame, numeric=["partial rho", "rho (unadjusted)", "p", "q"], wrap=True)
        )
    howto = (
        "Genes whose expression rises or falls with the feature across tumours after removing what tumour purity "
        "explains (partial Spearman correlation, as TIMER adjusts for purity). Association, not causation."
    )
    return h.section("drivers", "TME drivers (purity-adjusted)", "".join(parts), howto=howto)


def _methods(result: CohortResult) -> str:
    info = result.info
    covs = ", ".join(info.get("covariates", [])) or "none"
    skipped = "".join(
        f"<li><b>{h.e(k)}</b>: {h.e(v)}</li>"
        for k, v in result.skipped.items()
        if " by " not in k and k not in ("prediction", "longitudinal")
    )
    return (
        "<ul>"
        "<li>Numeric features are z-scored within the cohort (effects per SD); each level of a categorical feature "
        "is compared with the rest.</li>"
        "<li>Survival: Cox proportional hazards (Efron ties), Wald 95% CI and p; log-rank of tertiles; "
        "proportional-hazards check (Grambsch–Therneau, rank time) on the 20 strongest features, flagged "
        "<code>ph_violated</code> at p &lt; 0.05.</li>"
        "<li>Response: logistic regression (odds ratio per SD, Wald), AUC with a class-stratified bootstrap "
        f"({int(info.get('n_boot', 0))} replicates, seed {h.e(info.get('seed', ''))}), Mann–Whitney p.</li>"
        "<li>RECIST: Spearman rho with PD &lt; SD &lt; PR &lt; CR, Kruskal–Wallis p.</li>"
        f"<li>Covariates: {h.e(covs)}. Multiple testing: {h.e(info.get('correction', ''))} over the features of "
        "each outcome.</li>"
        "<li>Refusals: fewer than 10 events (or 5 per model term), or fewer than 5 samples in a response group.</li>"
        "</ul>"
        + (f"<p>Not analysed:</p><ul>{skipped}</ul>" if skipped else "")
        + '<p class="downloads">Full tables: <a href="../association.tsv">association.tsv</a> · '
        '<a href="../km_curves.tsv">km_curves.tsv</a> · <a href="../roc.tsv">roc.tsv</a></p>'
    )


def write_cohort_report(
    result: CohortResult, outdir: str | Path, *, title: str = "Cohort analysis", static: bool = True
) -> Path:
    """Write the cohort report: one page with a section per outcome, Kaplan–Meier and ROC curves, methods.

    Parameters
    ----------
    result
        From :func:`tmescope.cohort.analyze_cohort`.
    outdir
        Report folder (written under a temporary name and renamed when complete).
    title
        Page title.
    static
        Also write PNG/SVG of the forest plots and Kaplan–Meier curves in ``figures/``.

    Returns
    -------
    Path of ``outdir/index.html`` (with ``assets/`` and, with ``static=True``, ``figures/``).
    """
    outdir = Path(outdir)
    _check_outdir(outdir)
    outcomes = [o for o in ("os", "pfs", "response", "recist") if o in set(result.association["outcome"])]
    with atomic_dir(outdir) as tmp:
        _write_assets(tmp)
        if static:
            (tmp / "figures").mkdir()
        info = result.info
        toc = [(f"outcome-{o}", OUTCOME_NAMES[o]) for o in outcomes] + [
            ("km", "Kaplan–Meier"),
            ("roc", "ROC"),
        ]
        toc += [("groups", "Groups")] if result.groups is not None else []
        toc += [("prediction", "Prediction")] if result.prediction is not None or "prediction" in result.skipped else []
        toc += [("longitudinal", "Longitudinal")] if result.longitudinal is not None else []
        toc += [("drivers", "Drivers")] if result.drivers else []
        toc += [("methods", "Methods")]
        covs = ", ".join(info.get("covariates", []))
        body = [
            f"<h1>{h.e(title)}</h1>",
            f'<p class="lead">{info.get("n_samples", "?")} sample(s). '
            + (
                f"{info.get('n_features_tested', '?')} feature(s) tested against "
                f"{h.e(', '.join(OUTCOME_NAMES[o] for o in outcomes))}"
                + (f", adjusted for {h.e(covs)}" if covs else "")
                + "."
                if outcomes
                else "No clinical outcome could be analysed (reasons under Methods)."
            )
            + "</p>",
            '<nav class="toc">' + "".join(f'<a href="#{a}">{h.e(t)}</a>' for a, t in toc) + "</nav>",
        ]
        body += [_outcome_section(result, o, tmp, static=static) for o in outcomes]
        body.append(_km_section(result, tmp, static=static))
        body.append(_roc_section(result))
        extra = (
            _groups_section(result),
            _prediction_section(result),
            _longitudinal_section(result),
            _drivers_section(result),
        )
        body += [x for x in extra if x]
        body.append(h.section("methods", "Methods", _methods(result)))
        html = render_page(
            title=title, body=body, nav='<a href="index.html">Cohort analysis</a><a href="#methods">Methods</a>'
        )
        (tmp / "index.html").write_text(html, encoding="utf-8")
    logger.info("cohort report written to %s", outdir)
    return outdir / "index.html"


__all__ = ["write_cohort_report", "write_fidelity_report"]


def write_fidelity_report(result: FidelityResult, outdir: str | Path, *, title: str = "Model fidelity") -> Path:
    """Write the model-fidelity page: fidelity matrix, compartment deficits and the ranking of models per target.

    Parameters
    ----------
    result
        From :func:`tmescope.cohort.model_fidelity`.
    outdir
        Report folder (written under a temporary name and renamed when complete).
    title
        Page title.

    Returns
    -------
    Path of ``outdir/index.html``.
    """
    outdir = Path(outdir)
    _check_outdir(outdir)
    with atomic_dir(outdir) as tmp:
        _write_assets(tmp)
        info = result.info
        comp = result.compartments.reset_index()
        deficits = result.compartments["deficits"]
        try:
            matrix = h.figure(
                cfig.fidelity_matrix(result.fidelity, deficits=deficits), "fig-fidelity", filename="fidelity"
            )
        except _SKIP as err:
            matrix = h.omitted("Fidelity matrix", str(err))
        best = result.ranking[result.ranking["rank"] <= 3]
        body = [
            f"<h1>{h.e(title)}</h1>",
            f'<p class="lead">{info["n_models"]} model(s) against {info["n_patients"]} patient tumour(s) in '
            f"{info['n_features']} shared features (scaled by the {h.e(info['scaling'])}).</p>",
            h.section(
                "matrix",
                "Fidelity matrix",
                matrix,
                howto="For each model (row) and patient or tumour group (column): the share of the other tumours "
                "that are farther from that patient than the model is. 0.5 means the model is as close as a typical "
                "other tumour; near 0, it is farther than any real tumour. Deficits are listed after the model name.",
            ),
            h.section(
                "compartments",
                "Compartments",
                h.table(comp, numeric=[c for c in comp.columns if c not in ("model", "deficits")], wrap=True),
                howto="Mean score of each TME compartment in patient z units and its percentile among the patients; a "
                "compartment below the 5th percentile is reported as missing.",
            ),
            h.section(
                "ranking",
                "Best models per target",
                h.table(best, numeric=["rank", "fidelity", "distance"], wrap=True),
            ),
        ]
        html = render_page(title=title, body=body, nav='<a href="index.html">Model fidelity</a>')
        (tmp / "index.html").write_text(html, encoding="utf-8")
    return outdir / "index.html"
