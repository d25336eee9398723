"""How the immune-checkpoint-blockade rules of the insights knowledge base stratify observed ICB response.

Usage: ``.venv/bin/python scripts/insights_icb_validation.py [WORKDIR]`` (default ``/tmp/tmescope_insights_icb``).

For each ICB cohort in ``../shared/reference/icb_*``: profile it with :func:`tmescope.profile.profile`
(cohort-relative, ``reference=None``, when it has at least 20 samples, so percentiles are within the cohort;
smaller cohorts against the shipped default reference), evaluate the knowledge base, keep pre-treatment samples
with a recorded response (R/NR as curated in the cohort's clinical table) and compute, for every ICB rule,
response rates and odds ratios (Woolf 95% CI, Fisher p) of patients where the rule fires vs. does not fire, and
for the ICB call (supported vs. argued against). Pooled: Mantel-Haenszel odds ratio stratified by cohort
(Robins-Breslow-Greenland CI) and the crude pooled rates. Writes ``WORKDIR/<cohort>/features.parquet`` (the profile, cached), ``insights.tsv``,
``WORKDIR/per_cohort.tsv``, ``WORKDIR/pooled.tsv`` and prints the markdown tables for docs/insights.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tmescope._errors import InputError
from tmescope.insights import evaluate_insights, load_rules, mantel_haenszel, response_binary, stratify_response
from tmescope.io import read_clinical, read_expression, read_features, write_features
from tmescope.profile import profile

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "reference"
#: (name, label, folder, expression file, clinical file)
COHORTS = (
    ("liu2019", "Liu 2019 melanoma, anti-PD-1", "icb_liu2019_melanoma_pd1", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("hugo2016", "Hugo 2016 melanoma, anti-PD-1", "icb_hugo2016_melanoma_pd1", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("riaz2017", "Riaz 2017 melanoma, nivolumab", "icb_riaz2017_melanoma_nivolumab", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("vanallen2015", "Van Allen 2015 melanoma, anti-CTLA-4", "icb_vanallen2015_melanoma_ctla4", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("nathanson2017", "Nathanson 2017 melanoma, anti-CTLA-4", "icb_nathanson2017_melanoma_ctla4", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("jerbyarnon2018", "Jerby-Arnon 2018 melanoma, anti-PD-1 (panel)", "icb_jerbyarnon2018_melanoma_pd1_panel", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("miao2018", "Miao 2018 ccRCC, ICB", "icb_miao2018_ccrcc", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("mariathasan2018_bladder", "Mariathasan 2018 IMvigor210 bladder (1,768 genes)", "icb_mariathasan2018_imvigor210", "expression_log2tpm_bladder_1768genes.tsv.gz", "clinical_bladder_1768genes.tsv"),
    ("mariathasan2018_ln_ureter", "Mariathasan 2018 IMvigor210 lymph node/ureter", "icb_mariathasan2018_imvigor210", "expression_log2tpm_lymphnode_ureter_sites.tsv.gz", "clinical_lymphnode_ureter_sites.tsv"),
    ("padron2022", "Padrón 2022 PDAC, chemo-immunotherapy", "icb_padron2022_pdac", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("limagne2022", "Limagne 2022 NSCLC, anti-PD-1", "icb_limagne2022_nsclc_pd1", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("ravi2023", "Ravi 2023 NSCLC, IO combinations", "icb_ravi2023_nsclc_io_combo", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("zhao2019", "Zhao 2019 GBM, anti-PD-1", "icb_zhao2019_gbm_pd1", "expression_log2tpm.tsv.gz", "clinical.tsv"),
)  # fmt: skip
STRATEGY = "immune_checkpoint_blockade"


def _evaluate(name: str, folder: str, expr: str, clin: str, work: Path) -> tuple[pd.DataFrame, pd.Series, str]:
    out = work / name
    if not (out / "features.parquet").exists():
        adata = read_expression(REF / folder / expr, allow_missing=True)
        bad = np.isnan(np.asarray(adata.X)).any(axis=0)
        if bad.any():
            adata = adata[:, ~bad].copy()  # a few genes with missing cells: left out
        clinical = read_clinical(REF / folder / clin, bad_survival="missing")
        ref, how = (None, "within cohort") if adata.n_obs >= 20 else ("default", "default reference (melanoma, n=121)")
        res = profile(adata, clinical=clinical, reference=ref, seed=0, n_boot=30, insights=False)
        obs = res.adata.obs
        tp = obs["timepoint"].astype(str).str.lower() if "timepoint" in obs else pd.Series("", index=obs.index)
        pre = ~tp.str.contains(r"\bon-|\bpost-|on-treatment|post-treatment", regex=True)
        resp = obs["response"].astype(str).where(pre, "") if "response" in obs else pd.Series("", index=obs.index)
        out.mkdir(parents=True, exist_ok=True)
        write_features(res.features, out)
        resp.rename("response").to_csv(out / "response.tsv", sep="\t")
        (out / "how.txt").write_text(how)
    features = read_features(out)
    resp = pd.read_csv(out / "response.tsv", sep="\t", index_col=0, keep_default_na=False)["response"]
    ev = evaluate_insights(features, rules=load_rules()).evaluations
    ev.to_csv(out / "insights.tsv", sep="\t", index=False)
    return ev, resp, (out / "how.txt").read_text().strip()


def _fmt_or(o: float, lo: float, hi: float) -> str:
    if not np.isfinite(o):
        return "–"
    return f"{o:.2f} ({lo:.2f}–{hi:.2f})"


def _rate(r: int, n: int) -> str:
    return f"{r}/{n} ({100 * r / n:.0f}%)" if n else "0/0"


def main(work: Path) -> None:
    """Run every cohort (cached per cohort in ``work``) and write the tables."""
    work.mkdir(parents=True, exist_ok=True)
    per: list[pd.DataFrame] = []
    status = []
    for name, label, folder, expr, clin in COHORTS:
        t0 = time.perf_counter()
        try:
            ev, resp, how = _evaluate(name, folder, expr, clin, work)
        except InputError as err:
            status.append((name, label, f"skipped: {str(err)[:160]}"))
            print(name, "skipped", str(err)[:160], flush=True)
            continue
        n_known = int(response_binary(resp).notna().sum())
        for sens in (False, True):
            table = stratify_response(ev, resp, strategy=STRATEGY, count_borderline=sens)
            table.insert(0, "cohort", label)
            table.insert(1, "percentiles", how)
            table.insert(2, "n_patients", n_known)
            table.insert(3, "borderline", "counted as firing" if sens else "left out")
            per.append(table)
        status.append((name, label, f"{n_known} patients with response; percentiles {how}"))
        print(name, f"{time.perf_counter() - t0:.0f} s", n_known, flush=True)
    allt = pd.concat(per, ignore_index=True)
    allt.to_csv(work / "per_cohort.tsv", sep="\t", index=False, float_format="%.4g")
    pooled = []
    for (rule, kind, sens), g in allt.groupby(["rule", "kind", "borderline"], sort=False):
        tabs = [
            (int(r.responders_1), int(r.n_1 - r.responders_1), int(r.responders_2), int(r.n_2 - r.responders_2))
            for r in g.itertuples()
        ]
        mh, lo, hi = mantel_haenszel(tabs)
        a, n1 = int(g["responders_1"].sum()), int(g["n_1"].sum())
        c, n2 = int(g["responders_2"].sum()), int(g["n_2"].sum())
        pooled.append(
            {
                "rule": rule,
                "kind": kind,
                "borderline": sens,
                "direction": g["direction"].iloc[0],
                "group_1": g["group_1"].iloc[0],
                "group_2": g["group_2"].iloc[0],
                "responders_1": a,
                "n_1": n1,
                "responders_2": c,
                "n_2": n2,
                "mh_odds_ratio": mh,
                "ci_low": lo,
                "ci_high": hi,
                "n_cohorts": len(g),
            }
        )
    pooled_t = pd.DataFrame(pooled)
    pooled_t.to_csv(work / "pooled.tsv", sep="\t", index=False, float_format="%.4g")
    pd.DataFrame(status, columns=["cohort", "label", "status"]).to_csv(work / "status.tsv", sep="\t", index=False)

    print("\n### Pooled (Mantel-Haenszel over cohorts)\n")
    print("| rule | direction | borderline | group 1: responders | group 2: responders | MH odds ratio (95% CI) |")
    print("|---|---|---|---|---|---|")
    for r in pooled_t.sort_values(["kind", "rule", "borderline"], ascending=[False, True, False]).itertuples():
        print(
            f"| {r.rule} | {r.direction} | {r.borderline} | {r.group_1}: {_rate(r.responders_1, r.n_1)} | "
            f"{r.group_2}: {_rate(r.responders_2, r.n_2)} | {_fmt_or(r.mh_odds_ratio, r.ci_low, r.ci_high)} |"
        )
    print("\n### ICB call per cohort (supported vs argued against)\n")
    print(
        "| cohort | patients | percentiles | supported: responders | argued against: responders | OR (95% CI) | Fisher p |"
    )
    print("|---|---|---|---|---|---|---|")
    firm = allt.loc[allt["borderline"] == "left out"]
    for r in firm.loc[firm["kind"] == "strategy"].itertuples():
        print(
            f"| {r.cohort} | {r.n_patients} | {r.percentiles} | {_rate(r.responders_1, r.n_1)} | "
            f"{_rate(r.responders_2, r.n_2)} | {_fmt_or(r.odds_ratio, r.ci_low, r.ci_high)} | {r.p_fisher:.2g} |"
        )
    print("\n### Per rule and cohort (fires vs does not fire)\n")
    print("| cohort | rule | direction | fires: responders | not: responders | OR (95% CI) | borderline |")
    print("|---|---|---|---|---|---|---|")
    for r in firm.loc[firm["kind"] == "rule"].itertuples():
        print(
            f"| {r.cohort} | {r.rule} | {r.direction} | {_rate(r.responders_1, r.n_1)} | "
            f"{_rate(r.responders_2, r.n_2)} | {_fmt_or(r.odds_ratio, r.ci_low, r.ci_high)} | {r.n_left_out} |"
        )
    print("\n", pd.DataFrame(status).to_string())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/tmescope_insights_icb"))
