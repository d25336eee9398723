"""Write the survival golden files of tests/data/cohort/ (lifelines results on a small fixed example).

Usage: ``.venv/bin/python scripts/cohort_golden.py``. The example data are generated here from a fixed seed and
stored beside the results, so the test does not depend on this script's random stream.
"""

from __future__ import annotations

import json
from pathlib import Path

import lifelines
import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "cohort"


def main() -> None:
    """Generate the example and lifelines' answers."""
    rng = np.random.default_rng(2024)
    n = 40
    x = np.round(rng.normal(size=n), 2)
    age = rng.integers(40, 80, n).astype(float)
    group = rng.choice(["A", "B", "C"], n)
    # integer months give tied event times, which exercise Efron's correction
    time = np.ceil(rng.exponential(12 * np.exp(-0.6 * x)))
    event = (rng.random(n) < 0.75).astype(int)
    data = pd.DataFrame({"x": x, "age": age, "group": group, "time": time, "event": event})
    cph = CoxPHFitter().fit(data[["x", "age", "time", "event"]], "time", "event")
    lr2 = logrank_test(
        time[group == "A"],
        time[group != "A"],
        event_observed_A=event[group == "A"],
        event_observed_B=event[group != "A"],
    )
    lr3 = multivariate_logrank_test(time, group, event)
    kmf = KaplanMeierFitter().fit(time, event)
    km = pd.concat([kmf.survival_function_, kmf.confidence_interval_], axis=1)
    golden = {
        "lifelines_version": lifelines.__version__,
        "data": data.to_dict(orient="list"),
        "cox": {
            "covariates": ["x", "age"],
            "coef": cph.params_.tolist(),
            "se": cph.standard_errors_.tolist(),
            "p": cph.summary["p"].tolist(),
            "log_likelihood": float(cph.log_likelihood_),
        },
        "logrank_A_vs_rest": {"statistic": float(lr2.test_statistic), "p": float(lr2.p_value)},
        "logrank_3_groups": {"statistic": float(lr3.test_statistic), "p": float(lr3.p_value)},
        "km": {
            "time": km.index.tolist(),
            "survival": km.iloc[:, 0].tolist(),
            "ci_low": km.iloc[:, 1].tolist(),
            "ci_high": km.iloc[:, 2].tolist(),
        },
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "survival_lifelines.json").write_text(json.dumps(golden, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
