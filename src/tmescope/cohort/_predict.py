"""Cross-validated prediction of response from TME features, with honest out-of-fold performance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from tmescope._errors import InputError
from tmescope._settings import settings
from tmescope.cohort import _stats
from tmescope.cohort._data import align_clinical, check_features, feature_matrix, outcome_columns

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Inverse regularisation strengths searched in the inner loop.
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


class PredictionResult(NamedTuple):
    """What :func:`predict_response` returns. Every number is out-of-fold: no sample is scored by a model that saw it."""

    #: Out-of-fold AUC, its class-stratified bootstrap 95% CI, and the AUC of each outer fold.
    auc: float
    auc_ci: tuple[float, float]
    fold_auc: list[float]
    #: One row per sample: ``sample``, ``response`` (1 = R), ``probability`` (out-of-fold), ``fold``.
    predictions: pd.DataFrame
    #: Per feature: ``selected`` (folds where its coefficient is non-zero), ``mean_coef`` (standardised units).
    features: pd.DataFrame
    #: Settings and the C chosen in each outer fold.
    info: dict[str, Any]


def predict_response(
    features: pd.DataFrame,
    *,
    clinical: pd.DataFrame,
    include: Sequence[str] | None = None,
    n_outer: int = 5,
    n_inner: int = 5,
    penalty: str = "l1",
    n_boot: int = 1000,
    min_group: int = 10,
    seed: int | None = None,
) -> PredictionResult:
    """Nested cross-validation of a regularised logistic classifier of response (R vs NR) from TME features.

    Outer loop: stratified ``n_outer``-fold split; each outer training set chooses the regularisation strength by
    an inner stratified ``n_inner``-fold search (AUC), then fits median imputation, scaling and the classifier on
    the whole outer training set and scores the held-out fold. The AUC is computed on the pooled out-of-fold
    probabilities, with a bootstrap 95% CI. In-sample (resubstitution) performance is never reported: it
    says nothing about prediction. Folds are seeded, so the result is reproducible.

    Parameters
    ----------
    features, clinical
        Tidy feature table and clinical table with ``response``.
    include
        Only features whose name starts with one of these.
    n_outer, n_inner
        Folds of the outer (performance) and inner (tuning) loops; at least 2 each.
    penalty
        ``"l1"`` (sparse: reports which features are used) or ``"l2"``.
    n_boot
        Bootstrap replicates of the AUC interval.
    min_group
        Fewest responders and non-responders (refused below).
    seed
        Seed of the folds and the bootstrap (default ``tmescope.settings.seed``).

    Returns
    -------
    :class:`PredictionResult`.

    Examples
    --------
    >>> from tmescope.cohort import simulate_cohort
    >>> feats, clin = simulate_cohort(n_samples=150, n_features=8, effects={"sim.f0": 1.5}, seed=0)
    >>> res = predict_response(feats, clinical=clin, n_inner=3, n_boot=200, seed=0)
    >>> bool(res.auc > 0.7), res.features.index[0]
    (True, 'sim.f0')
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if n_outer < 2 or n_inner < 2:
        msg = (
            f"Cross-validation needs at least 2 outer and 2 inner folds (got {n_outer} and {n_inner}); performance "
            "measured on the samples the model was fitted to is not a prediction and is not reported."
        )
        raise InputError(msg)
    if penalty not in ("l1", "l2"):
        msg = f"penalty must be 'l1' or 'l2'; got {penalty!r}."
        raise InputError(msg)
    table = check_features(features)
    if include is not None:
        table = table[table["feature"].str.startswith(tuple(include))]
        if table.empty:
            msg = f"No feature starts with any of {list(include)}; check `include`."
            raise InputError(msg)
    matrix = feature_matrix(table)
    clin = align_clinical(matrix.index, clinical)
    outcome_columns(clin, "response")
    resp = clin["response"].astype("string").str.upper()
    keep = resp.isin(["R", "NR"]).fillna(value=False).to_numpy(bool)
    x = matrix.to_numpy(float)[keep]
    y = (resp[keep] == "R").to_numpy(int)
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    need = max(min_group, n_outer * 2)
    if min(n1, n0) < need:
        msg = (
            f"Nested cross-validation needs at least {need} responders and {need} non-responders; got R: {n1}, "
            f"NR: {n0}. With fewer, the out-of-fold AUC is too unstable to report; pool cohorts or use "
            "tmescope.cohort.associate for single features."
        )
        raise InputError(msg)
    seed = settings.seed if seed is None else int(seed)
    ss = np.random.SeedSequence(seed)
    outer_seed, inner_seed, boot_seed, model_seed = (int(s.generate_state(1)[0]) for s in ss.spawn(4))
    outer = StratifiedKFold(n_splits=n_outer, shuffle=True, random_state=outer_seed)
    prob = np.full(len(y), np.nan)
    fold = np.full(len(y), -1)
    coefs, chosen, fold_auc = [], [], []
    solver = "liblinear"
    for k, (tr, te) in enumerate(outer.split(x, y)):
        model = make_pipeline(
            SimpleImputer(strategy="median"),
            StandardScaler(),
            LogisticRegression(
                l1_ratio=1.0 if penalty == "l1" else 0.0, solver=solver, max_iter=5000, random_state=model_seed
            ),
        )
        inner = StratifiedKFold(n_splits=n_inner, shuffle=True, random_state=inner_seed + k)
        search = GridSearchCV(model, {"logisticregression__C": list(C_GRID)}, scoring="roc_auc", cv=inner, n_jobs=1)
        search.fit(x[tr], y[tr])
        best = search.best_estimator_
        prob[te] = best.predict_proba(x[te])[:, 1]
        fold[te] = k
        coefs.append(best[-1].coef_[0])
        chosen.append(float(search.best_params_["logisticregression__C"]))
        fold_auc.append(float(roc_auc_score(y[te], prob[te])))
    auc = _stats.auc(prob, y.astype(bool))
    ci = _stats.bootstrap_auc(prob, y.astype(bool), n_boot=n_boot, rng=np.random.default_rng(boot_seed))
    coef = np.vstack(coefs)
    feats = pd.DataFrame({"selected": (coef != 0).sum(axis=0), "mean_coef": coef.mean(axis=0)}, index=matrix.columns)
    feats.index.name = "feature"
    feats = feats.assign(abs_coef=feats["mean_coef"].abs()).sort_values(["selected", "abs_coef"], ascending=False)
    feats = feats.drop(columns="abs_coef")
    preds = pd.DataFrame({"sample": matrix.index[keep].astype(str), "response": y, "probability": prob, "fold": fold})
    info = {
        "n": len(y),
        "n_responders": n1,
        "n_features": matrix.shape[1],
        "n_outer": n_outer,
        "n_inner": n_inner,
        "penalty": penalty,
        "C_grid": list(C_GRID),
        "C_chosen": chosen,
        "seed": seed,
        "model": "median imputation + standardisation + logistic regression (liblinear), C tuned by inner CV (AUC)",
    }
    return PredictionResult(auc, ci, fold_auc, preds, feats, info)
