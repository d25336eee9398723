"""Cohort analytics over tidy feature tables.

Association of TME features with survival, response and RECIST, group comparisons, nested cross-validated
prediction of response, paired longitudinal change, model fidelity, purity-adjusted TME-driver scans, Kaplan–Meier curves, ROC curves, multiple-testing correction, random-effects pooling
across cohorts and simulated cohorts with planted associations.

Examples
--------
>>> from tmescope import cohort
>>> feats, clin = cohort.simulate_cohort(n_samples=100, n_features=4, effects={"sim.f1": -0.7}, seed=2)
>>> res = cohort.associate(feats, clinical=clin, outcome="os")
>>> res.loc[0, "feature"], bool(res.loc[0, "effect"] < 1)
('sim.f1', True)
"""

from __future__ import annotations

from tmescope.cohort._associate import (
    ASSOCIATION_COLUMNS,
    SurvivalCurves,
    associate,
    roc_curve,
    survival_curves,
)
from tmescope.cohort._data import OUTCOMES, feature_matrix
from tmescope.cohort._drivers import DRIVER_COLUMNS, partial_correlation, tme_drivers
from tmescope.cohort._fidelity import COMPARTMENTS, FidelityResult, model_fidelity, run_fidelity, simulate_models
from tmescope.cohort._groups import GROUP_COLUMNS, compare_groups
from tmescope.cohort._longitudinal import (
    LONGITUDINAL_COLUMNS,
    LongitudinalResult,
    longitudinal_change,
    simulate_longitudinal,
)
from tmescope.cohort._meta import meta_analysis
from tmescope.cohort._predict import PredictionResult, predict_response
from tmescope.cohort._run import CohortResult, analyze_cohort, run_cohort, write_cohort
from tmescope.cohort._simulate import simulate_cohort
from tmescope.cohort._stats import adjust_pvalues

__all__ = [
    "ASSOCIATION_COLUMNS",
    "COMPARTMENTS",
    "DRIVER_COLUMNS",
    "GROUP_COLUMNS",
    "LONGITUDINAL_COLUMNS",
    "OUTCOMES",
    "CohortResult",
    "FidelityResult",
    "LongitudinalResult",
    "PredictionResult",
    "SurvivalCurves",
    "adjust_pvalues",
    "analyze_cohort",
    "associate",
    "compare_groups",
    "feature_matrix",
    "longitudinal_change",
    "meta_analysis",
    "model_fidelity",
    "partial_correlation",
    "predict_response",
    "roc_curve",
    "run_cohort",
    "run_fidelity",
    "simulate_cohort",
    "simulate_longitudinal",
    "simulate_models",
    "survival_curves",
    "tme_drivers",
    "write_cohort",
]
