"""Type-I error and power of the cohort association tests on simulated cohorts (table in docs/cohort.md).

Usage: ``.venv/bin/python scripts/cohort_simulation.py``. For each cohort size and planted effect (log hazard ratio =
log odds ratio per SD), 500 simulated cohorts (``tmescope.cohort.simulate_cohort``, 30% censoring) are tested with the
Cox and logistic kernels that ``associate`` uses; the share with p < 0.05 is the type-I error (effect 1) or the power.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from tmescope.cohort import _stats, simulate_cohort

REPS = 500
SIZES = (50, 100, 200)
EFFECTS = (1.0, 1.25, 1.5, 2.0)


def main() -> None:
    """Run the grid and print a markdown table."""
    rows = []
    for n in SIZES:
        for eff in EFFECTS:
            hits = {"cox": 0, "logistic": 0, "mannwhitney": 0}
            cover = 0
            for rep in range(REPS):
                feats, clin = simulate_cohort(
                    n_samples=n, n_features=1, effects={"sim.f0": float(np.log(eff))}, seed=10_000 * n + rep
                )
                x = feats[feats["feature"] == "sim.f0"].set_index("sample")["value"].reindex(clin["sample_id"])
                z = ((x - x.mean()) / x.std(ddof=1)).to_numpy()
                fit = _stats.cox_fit(z, clin["os_time"].to_numpy(), clin["os_event"].to_numpy())
                p = 2 * stats.norm.sf(abs(fit.beta[0] / fit.se[0]))
                hits["cox"] += p < 0.05
                lo, hi = fit.beta[0] - _stats.Z95 * fit.se[0], fit.beta[0] + _stats.Z95 * fit.se[0]
                # the planted effect is per SD of the population feature (SD 1); z is per sample SD (close to 1)
                cover += lo <= np.log(eff) <= hi
                y = (clin["response"] == "R").to_numpy()
                lf = _stats.logistic_fit(z, y)
                hits["logistic"] += 2 * stats.norm.sf(abs(lf.beta[1] / lf.se[1])) < 0.05
                hits["mannwhitney"] += stats.mannwhitneyu(z[y], z[~y]).pvalue < 0.05
            rows.append(
                {
                    "n": n,
                    "HR = OR per SD": eff,
                    "Cox p<0.05": hits["cox"] / REPS,
                    "Cox 95% CI coverage": cover / REPS,
                    "logistic p<0.05": hits["logistic"] / REPS,
                    "Mann-Whitney p<0.05": hits["mannwhitney"] / REPS,
                }
            )
    table = pd.DataFrame(rows)
    head = "| " + " | ".join(table.columns) + " |"
    print(head)
    print("|" + "---|" * table.shape[1])
    for r in table.itertuples(index=False):
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r) + " |")


if __name__ == "__main__":
    main()
