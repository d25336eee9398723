"""Profile each ICB reference cohort with ``tmescope.profile`` (for the cohort validation in docs/cohort.md).

Usage: ``.venv/bin/python scripts/cohort_icb_profile.py [OUTDIR]`` (default ``/tmp/tmescope_icb``). Reads
``../shared/reference/icb_*``; writes ``OUTDIR/<cohort>/features.parquet`` and ``clinical.tsv`` (the standard
columns). Cohorts whose gene panel is too small for the shipped reference are profiled cohort-relative
(``reference=None``) when they have at least 20 samples, else skipped with the reason in ``OUTDIR/status.tsv``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tmescope._errors import InputError
from tmescope.io import read_clinical, read_expression, write_features
from tmescope.profile import profile

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "reference"
#: (name, folder, expression file, clinical file)
COHORTS = (
    ("liu2019", "icb_liu2019_melanoma_pd1", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("hugo2016", "icb_hugo2016_melanoma_pd1", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("riaz2017", "icb_riaz2017_melanoma_nivolumab", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("vanallen2015", "icb_vanallen2015_melanoma_ctla4", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("nathanson2017", "icb_nathanson2017_melanoma_ctla4", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("jerbyarnon2018", "icb_jerbyarnon2018_melanoma_pd1_panel", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("miao2018", "icb_miao2018_ccrcc", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    (
        "mariathasan2018_ln_ureter",
        "icb_mariathasan2018_imvigor210",
        "expression_log2tpm_lymphnode_ureter_sites.tsv.gz",
        "clinical_lymphnode_ureter_sites.tsv",
    ),
    ("padron2022", "icb_padron2022_pdac", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("limagne2022", "icb_limagne2022_nsclc_pd1", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("ravi2023", "icb_ravi2023_nsclc_io_combo", "expression_log2tpm.tsv.gz", "clinical.tsv"),
    ("zhao2019", "icb_zhao2019_gbm_pd1", "expression_log2tpm.tsv.gz", "clinical.tsv"),
)


def main(outdir: Path) -> None:
    """Profile every cohort not yet profiled in ``outdir``."""
    status = []
    for name, folder, expr, clin in COHORTS:
        out = outdir / name
        if (out / "features.parquet").exists():
            status.append((name, "cached", ""))
            continue
        t0 = time.perf_counter()
        try:
            adata = read_expression(REF / folder / expr, allow_missing=True)
        except InputError as err:
            status.append((name, "skipped", str(err)[:200]))
            continue
        bad = np.isnan(np.asarray(adata.X)).any(axis=0)
        if bad.any():
            adata = adata[:, ~bad].copy()  # a few genes with missing cells (Nathanson 2017): left out
        clinical = read_clinical(REF / folder / clin, bad_survival="missing")
        try:
            res = profile(adata, clinical=clinical, reference="default", seed=0, n_boot=20)
            how = "default reference"
        except InputError as err:
            if adata.n_obs < 20:
                status.append((name, "skipped", str(err)[:200]))
                continue
            try:
                res = profile(adata, clinical=clinical, reference=None, seed=0, n_boot=20)
                how = "cohort-relative"
            except InputError as err2:
                status.append((name, "skipped", str(err2)[:200]))
                continue
        out.mkdir(parents=True, exist_ok=True)
        write_features(res.features, out)
        clinical.to_csv(out / "clinical.tsv", sep="\t", index=False)
        status.append((name, how, f"{adata.n_obs} samples, {time.perf_counter() - t0:.0f} s"))
        print(name, how, f"{time.perf_counter() - t0:.0f} s", flush=True)
    pd.DataFrame(status, columns=["cohort", "status", "detail"]).to_csv(outdir / "status.tsv", sep="\t", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/tmescope_icb"))
