"""ICB validation of tmescope.cohort: per-cohort and pooled associations of TME features with response and survival.

Usage: ``.venv/bin/python scripts/cohort_icb_validation.py [PROFILES]`` after ``scripts/cohort_icb_profile.py``
(default ``/tmp/tmescope_icb``). Also reads IOBR's full-cohort IMvigor210 signature scores (348 patients) from
``../shared/reference/icb_mariathasan2018_imvigor210``. Writes ``docs/cohort_icb/*.tsv`` and ``docs/img/cohort_*.png``;
docs/cohort.md quotes them.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from tmescope._errors import InputError
from tmescope.cohort import associate, meta_analysis, survival_curves
from tmescope.io import features_from_frame, read_features
from tmescope.pl import _cohort as cfig

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "reference"
OUT = ROOT / "docs" / "cohort_icb"
IMG = ROOT / "docs" / "img"
#: Features compared with the published direction: name -> (expected sign of log OR for response, source).
KEY = {
    "subtype.label=IE": (+1, "Bagaev 2021: IE/IE-F respond best"),
    "subtype.label=IE/F": (+1, "Bagaev 2021"),
    "subtype.label=D": (-1, "Bagaev 2021: D respond worst"),
    "immunotherapy.cyt_rooney2015": (+1, "Rooney 2015 / Liu 2019"),
    "immunotherapy.gep_18gene_ayers2017": (+1, "Ayers 2017"),
    "immunotherapy.ifng_6gene_ayers2017": (+1, "Ayers 2017"),
    "immunotherapy.cd8_t_effector_mariathasan2018": (+1, "Mariathasan 2018"),
    "immunotherapy.pan_f_tbrs_mariathasan2018": (-1, "Mariathasan 2018 (IMvigor210)"),
    "composition.cd8_t": (+1, "Tumeh 2014 (CD8 infiltrate)"),
    "estimate.immune_score": (+1, "Yoshihara 2013"),
}
OUTCOMES = ("response", "os", "pfs")
#: Shown per cohort but not pooled: these IMvigor210 lymph-node/ureter patients are also among IOBR's 348.
POOL_EXCLUDE = {"mariathasan2018_ln_ureter"}


def _imvigor_iobr() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = REF / "icb_mariathasan2018_imvigor210"
    scores = pd.read_csv(folder / "iobr_imvigor210_signature_scores_348.tsv", sep="\t", index_col=0)
    clin = pd.read_csv(folder / "iobr_imvigor210_clinical_348.tsv", sep="\t")
    cols = {
        "Pan_F_TBRs": "pan_f_tbrs_mariathasan2018",
        "CD_8_T_effector": "cd8_t_effector_mariathasan2018",
        "Cytolytic_Activity_Rooney_et_al": "cyt_rooney2015",
        "T_cell_inflamed_GEP_Ayers_et_al": "gep_18gene_ayers2017",
        "IFNG_signature_Ayers_et_al": "ifng_6gene_ayers2017",
    }
    have = {k: v for k, v in cols.items() if k in scores.columns}
    feats = features_from_frame(
        scores[list(have)].rename(columns=have), prefix="immunotherapy", unit="IOBR score", method="IOBR"
    )
    out = pd.DataFrame(
        {
            "sample_id": clin["ID"].astype(str),
            "patient_id": clin["ID"].astype(str),
            "os_time": clin["OS_days"] / 30.4375,
            "os_event": clin["OS_status"],
            "response": clin["BOR_binary"],
            "recist": clin["BOR"],
        }
    )
    return feats, out


def _md(frame: pd.DataFrame, *, digits: int = 3) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return "–" if not np.isfinite(v) else f"{v:.{digits}g}"
        return str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    sep = "|" + "---|" * frame.shape[1]
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def _per_cohort_md(per: pd.DataFrame, outcome: str) -> str:
    feats = [
        "immunotherapy.cyt_rooney2015",
        "immunotherapy.gep_18gene_ayers2017",
        "immunotherapy.cd8_t_effector_mariathasan2018",
        "immunotherapy.pan_f_tbrs_mariathasan2018",
        "subtype.label=IE",
        "subtype.label=D",
    ]
    sub = per[per["feature"].isin(feats)].copy()
    sub["cell"] = [
        f"{e:.2f} ({p:.2g})" if np.isfinite(e) else "–" for e, p in zip(sub["effect"], sub["p"], strict=True)
    ]
    wide = (
        sub.pivot_table(index="cohort", columns="feature", values="cell", aggfunc="first")
        .reindex(columns=feats)
        .fillna("")
    )
    wide.columns = [c.split(".", 1)[1] for c in wide.columns]
    n = per.groupby("cohort")["n"].max().astype(int)
    wide.insert(0, "n", n.reindex(wide.index))
    return f"**{outcome}** ({per['effect_type'].iloc[0]} (p))\n\n" + _md(wide.reset_index())


def cohorts(profiles: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Feature table and clinical table of every profiled cohort (plus IMvigor210 IOBR scores)."""
    out = {}
    for d in sorted(p for p in profiles.iterdir() if (p / "features.parquet").exists()):
        clin = pd.read_csv(d / "clinical.tsv", sep="\t", dtype={"sample_id": str, "patient_id": str})
        out[d.name] = (read_features(d), clin)
    out["mariathasan2018_iobr348"] = _imvigor_iobr()
    return out


def main(profiles: Path) -> None:
    """Run every association, pool, and write the tables and figures."""
    OUT.mkdir(parents=True, exist_ok=True)
    data = cohorts(profiles)
    results: dict[str, dict[str, pd.DataFrame]] = {o: {} for o in OUTCOMES}
    status = []
    for name, (feats, clin) in data.items():
        n_r = int((clin["response"] == "R").sum())
        n_nr = int((clin["response"] == "NR").sum())
        for outcome in OUTCOMES:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = associate(feats, clinical=clin, outcome=outcome, n_boot=500, seed=0, ph_check=10)
            except InputError as err:
                status.append((name, outcome, "refused", str(err).split(";")[0]))
                continue
            results[outcome][name] = res
            status.append(
                (
                    name,
                    outcome,
                    "ok",
                    f"n={res['n'].max():.0f}; R/NR {n_r}/{n_nr}"
                    if outcome == "response"
                    else f"n={res['n'].max():.0f}, events={res['n_events'].max():.0f}",
                )
            )
    pd.DataFrame(status, columns=["cohort", "outcome", "status", "detail"]).to_csv(
        OUT / "status.tsv", sep="\t", index=False
    )
    rows = []
    pooled_all = []
    tables_md: list[str] = []
    for outcome, tabs in results.items():
        if not tabs:
            continue
        per = pd.concat([t.assign(cohort=c) for c, t in tabs.items()], ignore_index=True)
        keep = [
            "cohort",
            "feature",
            "effect_type",
            "effect",
            "ci_low",
            "ci_high",
            "p",
            "q",
            "n",
            "n_events",
            "auc",
            "flag",
        ]
        per[per["feature"].isin(KEY)][keep].to_csv(
            OUT / f"per_cohort_{outcome}.tsv", sep="\t", index=False, float_format="%.4g"
        )
        tables_md.append(_per_cohort_md(per, outcome))
        pooled = meta_analysis({c: t for c, t in tabs.items() if c not in POOL_EXCLUDE})
        pooled_all.append(pooled)
        for feat, (sign, src) in KEY.items():
            sub = per[per["feature"] == feat]
            pr = pooled[pooled["feature"] == feat]
            if sub.empty:
                continue
            ok = sub[np.isfinite(sub["log_effect"]) & ~sub["cohort"].isin(POOL_EXCLUDE)]
            exp_sign = sign if outcome == "response" else -sign
            agree = int((np.sign(ok["log_effect"]) == exp_sign).sum())
            nom = int(((np.sign(ok["log_effect"]) == exp_sign) & (ok["p"] < 0.05)).sum())
            rows.append(
                {
                    "outcome": outcome,
                    "feature": feat,
                    "expected": ("higher in responders" if sign > 0 else "higher in non-responders")
                    if outcome == "response"
                    else ("HR < 1" if exp_sign < 0 else "HR > 1"),
                    "source": src,
                    "cohorts": len(ok),
                    "same_direction": agree,
                    "p<0.05_same_direction": nom,
                    "pooled_effect": float(pr["effect"].iloc[0]) if len(pr) else np.nan,
                    "pooled_ci": f"{pr['ci_low'].iloc[0]:.2f}–{pr['ci_high'].iloc[0]:.2f}" if len(pr) else "",
                    "pooled_p": float(pr["p"].iloc[0]) if len(pr) else np.nan,
                    "i2": float(pr["i2"].iloc[0]) if len(pr) else np.nan,
                    "agrees": bool(len(pr) and np.sign(np.log(pr["effect"].iloc[0])) == exp_sign),
                }
            )
    summary = pd.DataFrame(rows)
    summary.to_csv(OUT / "published_direction.tsv", sep="\t", index=False, float_format="%.4g")
    pooled = pd.concat(pooled_all, ignore_index=True)
    pooled.to_csv(OUT / "pooled.tsv", sep="\t", index=False, float_format="%.4g")
    # figures: pooled response forest, Liu 2019 OS forest and KM by GEP tertile
    resp = pooled[pooled["outcome"] == "response"].assign(status="ok", n_events=np.nan, flag="")
    cfig.forest_static(
        resp,
        IMG / "cohort_pooled_response_forest",
        top=25,
        title=f"Response, pooled over {len(set(results['response']) - POOL_EXCLUDE)} ICB cohorts (random effects): "
        "top 25 features (orange: q < 0.05)",
        formats=("png",),
    )
    if "liu2019" in results["os"]:
        cfig.forest_static(results["os"]["liu2019"], IMG / "cohort_liu2019_os_forest", top=25, formats=("png",))
        feats, clin = data["liu2019"]
        sc = survival_curves(feats, clinical=clin, by="immunotherapy.gep_18gene_ayers2017", outcome="os")
        cfig.km_static(*sc, IMG / "cohort_liu2019_km_gep", formats=("png",))
        sc = survival_curves(feats, clinical=clin, by="subtype.label", outcome="os")
        cfig.km_static(*sc, IMG / "cohort_liu2019_km_subtype", formats=("png",))
    md = [_md(summary.drop(columns=["source"]), digits=3), *tables_md]
    (OUT / "summary.md").write_text("\n\n".join(md) + "\n", encoding="utf-8")
    print(summary.to_string())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/tmescope_icb"))
