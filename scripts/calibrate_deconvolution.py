"""Calibrate the constants of ``tmescope.bulk.deconvolve``'s intervals and poor-fit flag.

1. ``MODEL_ERROR`` (multiplier of the bootstrap's model-error term): simulated mixtures of TIL10's own profiles
   (``tmescope.bulk._calibration.simulate_mixtures``: reference off by a log-normal factor of spread 0.25, 0.5 or
   0.75 per gene and cell type, 20% measurement noise, up to 80% uncharacterised cells expressing 30% of the
   signature genes); the smallest multiplier on the grid whose 95% intervals hold the true fraction of the
   reference's cell types for at least 95% of (sample, cell type) pairs, averaged over the three error levels.
2. ``POOR_FIT`` thresholds per (method, reference): the 2.5% quantile of the fit (Pearson r of observed vs
   reconstructed signature genes) over 226 tumours of seven published cohorts (melanoma: Riaz 2017, Hugo 2016,
   Van Allen 2015; ccRCC: Miao 2018; PDAC: Padron 2022; GBM: Zhao 2019; NSCLC: Ravi 2023), read from
   ``../shared/reference/icb_*``. Neither the ground-truth benchmark sets nor the demo cohort (Liu 2019) are used.

Run: ``.venv/bin/python scripts/calibrate_deconvolution.py`` (about 3 minutes, most of it nu-SVR); copy the
printed values into ``src/tmescope/bulk/_deconv.py``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from tmescope.bulk import deconvolve, get_reference
from tmescope.bulk._calibration import interval_coverage, simulate_mixtures
from tmescope.bulk._deconv import deconvolve_kernel
from tmescope.io import read_expression

REF = Path(__file__).resolve().parents[2] / "shared" / "reference"
COHORTS = [
    "icb_riaz2017_melanoma_nivolumab",
    "icb_hugo2016_melanoma_pd1",
    "icb_vanallen2015_melanoma_ctla4",
    "icb_miao2018_ccrcc",
    "icb_padron2022_pdac",
    "icb_zhao2019_gbm_pd1",
    "icb_ravi2023_nsclc_io_combo",
]
GRID = (0.25, 0.5, 0.75, 1.0, 1.5)
TAUS = (0.25, 0.5, 0.75)


def model_error() -> float:
    ref = get_reference("til10")
    sig = ref.signature
    use = sig.index.difference(list(ref.rnaseq_exclude), sort=False)
    R = sig.loc[use].to_numpy(float)
    content = ref.mrna_content[sig.columns].to_numpy(float)
    rng = np.random.default_rng(123)
    sims = [
        simulate_mixtures(R, content=content, other_content=ref.other_mrna_content, n=60, rng=rng, ref_error=t)
        for t in TAUS
    ]
    k = R.shape[1]
    for c in GRID:
        cov = []
        for sim in sims:
            res = deconvolve_kernel(
                sim.Y,
                R,
                content=content,
                other_content=ref.other_mrna_content,
                level_weighting=ref.weighting == "level",
                n_boot=100,
                model_error=c,
                seed=0,
            )
            cov.append(interval_coverage(res.ci_low[:, :k], res.ci_high[:, :k], sim.cells[:, :k]))
        print(f"model_error {c}: coverage of the cell types at ref_error {TAUS} = {np.round(cov, 3).tolist()}")
        if np.mean(cov) >= 0.95:
            return c
    return GRID[-1]


def poor_fit() -> dict[tuple[str, str], float]:
    data = []
    for name in COHORTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data.append(read_expression(REF / name / "expression_log2tpm.tsv.gz", scale="log2(x+0.001)"))
    out = {}
    for method in ("epic", "nnls", "svr"):
        for reference in ("til10", "safetme"):
            fits = []
            for a in data:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    work = a.copy()
                    deconvolve(work, method=method, reference=reference, n_boot=0)
                fits.append(work.obs["deconvolution_fit"].to_numpy())
            f = np.concatenate(fits)
            out[method, reference] = round(float(np.quantile(f, 0.025)), 2)
            print(
                f"{method}/{reference}: n = {f.size}, fit 2.5% / 50% = {np.quantile(f, 0.025):.3f} / {np.median(f):.3f}"
            )
    return out


if __name__ == "__main__":
    print("MODEL_ERROR =", model_error())
    print("POOR_FIT_BY_CONFIG =", poor_fit())
