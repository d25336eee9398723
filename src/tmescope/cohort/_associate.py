"""Association of every TME feature with a clinical outcome.

Survival (Cox, log-rank, Kaplan–Meier), binary response (AUC, logistic regression, Mann–Whitney) and RECIST best
response (Spearman, Kruskal–Wallis).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from tmescope._errors import InputError, TmescopeWarning
from tmescope._logging import format_items, warn
from tmescope._settings import settings
from tmescope.cohort import _stats
from tmescope.cohort._data import (
    RECIST_ORDER,
    SURVIVAL,
    align_clinical,
    check_features,
    covariate_matrix,
    feature_matrix,
    outcome_columns,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Columns of the association table, in order.
ASSOCIATION_COLUMNS = (
    "rank",
    "feature",
    "outcome",
    "test",
    "effect_type",
    "effect",
    "ci_low",
    "ci_high",
    "p",
    "q",
    "n",
    "n_events",
    "auc",
    "auc_ci_low",
    "auc_ci_high",
    "p_mannwhitney",
    "p_logrank",
    "p_kruskal",
    "ph_p",
    "log_effect",
    "log_se",
    "covariates",
    "flag",
    "status",
)
#: Proportional-hazards check threshold (Grambsch–Therneau test on rank-transformed time).
PH_ALPHA = 0.05


def _is_indicator(x: np.ndarray) -> bool:
    v = x[np.isfinite(x)]
    return bool(len(v)) and bool(np.all((v == 0) | (v == 1)))


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = np.std(x, ddof=1)
    return (x - x.mean()) / sd if sd > 0 else x - x.mean()


def _empty_row(feature: str, outcome: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ASSOCIATION_COLUMNS, np.nan)
    row.update(feature=feature, outcome=outcome, test="", effect_type="", covariates="", flag="", status="ok")
    return row


def _check_counts(outcome: str, *, n: int, n_events: int, n_cov: int, min_events: int) -> None:
    need = max(min_events, 5 * (1 + n_cov))
    if n_events < need:
        rule = f"at least {min_events}" if need == min_events else f"at least 5 per model term ({need})"
        msg = (
            f"Only {n_events} {outcome.upper()} event(s) among {n} sample(s) with follow-up; a Cox model needs "
            f"{rule}. Use fewer covariates, another outcome (e.g. response), or pool cohorts."
        )
        raise InputError(msg)


def _check_groups(what: str, counts: dict[str, int], *, min_group: int) -> None:
    small = {k: v for k, v in counts.items() if v < min_group}
    if small or len(counts) < 2:
        got = ", ".join(f"{k}: {v}" for k, v in counts.items()) or "none"
        msg = (
            f"{what} needs at least {min_group} samples in each group; got {got}. Too few samples for a "
            "meaningful test: pool cohorts or choose another outcome (lower min_group only with care)."
        )
        raise InputError(msg)


def _survival_rows(
    matrix: pd.DataFrame,
    clin: pd.DataFrame,
    design: pd.DataFrame,
    *,
    outcome: str,
    min_events: int,
    min_group: int,
    standardize: bool,
) -> list[dict[str, Any]]:
    tcol, ecol = outcome_columns(clin, outcome)
    time = pd.to_numeric(clin[tcol], errors="coerce").to_numpy(float)
    event = pd.to_numeric(clin[ecol], errors="coerce").to_numpy(float)
    base = np.isfinite(time) & np.isfinite(event) & design.notna().all(axis=1).to_numpy()
    _check_counts(
        outcome, n=int(base.sum()), n_events=int(event[base].sum()), n_cov=design.shape[1], min_events=min_events
    )
    cov = design.to_numpy(float)
    covs = ", ".join(design.columns)
    rows = []
    for feat in matrix.columns:
        row = _empty_row(feat, outcome)
        row.update(test="Cox PH (Efron), Wald", covariates=covs)
        x = matrix[feat].to_numpy(float)
        m = base & np.isfinite(x)
        n, nev = int(m.sum()), int(event[m].sum())
        row.update(n=n, n_events=nev)
        indicator = _is_indicator(x)
        if nev < min_events:
            row["status"] = f"refused: {nev} events (< {min_events})"
            rows.append(row)
            continue
        if indicator:
            sizes = (int((x[m] == 1).sum()), int((x[m] == 0).sum()))
            if min(sizes) < min_group:
                row["status"] = f"refused: group of {min(sizes)} samples (< {min_group})"
                rows.append(row)
                continue
        xv = x[m] if indicator or not standardize else _zscore(x[m])
        fit = _stats.cox_fit(np.column_stack([xv, cov[m]]), time[m], event[m])
        b, se = float(fit.beta[0]), float(fit.se[0])
        row["effect_type"] = "HR (group vs rest)" if indicator else ("HR per SD" if standardize else "HR per unit")
        if fit.converged and np.isfinite(se) and se > 0:
            row.update(
                effect=np.exp(b),
                ci_low=np.exp(b - _stats.Z95 * se),
                ci_high=np.exp(b + _stats.Z95 * se),
                p=float(2 * stats.norm.sf(abs(b / se))),
                log_effect=b,
                log_se=se,
            )
        else:
            # monotone likelihood (e.g. no event in one group): the hazard ratio is 0 or infinite, not estimable
            row["flag"] = "not_converged"
            row["status"] = "refused: the Cox fit did not converge (monotone likelihood, e.g. no event in a group)"
        groups = x[m] if indicator else _tertiles(x[m])
        if groups is not None:
            row["p_logrank"] = _stats.logrank(time[m], event[m], groups).p
        rows.append(row)
    return rows


def _tertiles(x: np.ndarray) -> np.ndarray | None:
    cuts = np.quantile(x, [1 / 3, 2 / 3])
    if cuts[0] == cuts[1]:
        return None
    return np.digitize(x, cuts, right=True)


def _ph_check(
    rows: list[dict[str, Any]],
    matrix: pd.DataFrame,
    clin: pd.DataFrame,
    design: pd.DataFrame,
    *,
    outcome: str,
    top: int,
) -> None:
    """Grambsch–Therneau test (lifelines, rank-transformed time) for the ``top`` features by p."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    tcol, ecol = outcome_columns(clin, outcome)
    ok = [r for r in rows if r["status"] == "ok" and np.isfinite(r["p"])]
    for row in sorted(ok, key=lambda r: r["p"])[:top]:
        feat = row["feature"]
        df = pd.concat(
            [
                matrix[[feat]].rename(columns={feat: "x"}),
                design.set_axis([f"c{i}" for i in range(design.shape[1])], axis=1),
            ],
            axis=1,
        )
        df["T"] = pd.to_numeric(clin[tcol], errors="coerce")
        df["E"] = pd.to_numeric(clin[ecol], errors="coerce")
        df = df.dropna()
        if not _is_indicator(df["x"].to_numpy()):
            df["x"] = _zscore(df["x"].to_numpy(float))
        try:
            cph = CoxPHFitter().fit(df, "T", "E")
            res = proportional_hazard_test(cph, df, time_transform="rank")
            ph = float(res.summary.loc["x", "p"])
        except Exception:  # lifelines raises many kinds on degenerate fits; the check is then skipped
            continue
        row["ph_p"] = ph
        if ph < PH_ALPHA:
            row["flag"] = ";".join(f for f in (row["flag"], "ph_violated") if f)


def _response_rows(
    matrix: pd.DataFrame,
    clin: pd.DataFrame,
    design: pd.DataFrame,
    *,
    min_group: int,
    standardize: bool,
    n_boot: int,
    seed: int,
) -> list[dict[str, Any]]:
    outcome_columns(clin, "response")
    resp = clin["response"].astype("string").str.upper()
    y = (resp == "R").fillna(value=False).to_numpy(bool)
    base = resp.isin(["R", "NR"]).fillna(value=False).to_numpy(bool) & design.notna().all(axis=1).to_numpy()
    _check_groups(
        "Response analysis",
        {"R": int((y & base).sum()), "NR": int((~y & base).sum())},
        min_group=min_group,
    )
    cov = design.to_numpy(float)
    covs = ", ".join(design.columns)
    children = np.random.SeedSequence(seed).spawn(matrix.shape[1])
    rows = []
    for feat, child in zip(matrix.columns, children, strict=True):
        row = _empty_row(feat, "response")
        row.update(test="logistic regression, Wald", covariates=covs)
        x = matrix[feat].to_numpy(float)
        m = base & np.isfinite(x)
        n1, n0 = int(y[m].sum()), int((~y[m]).sum())
        row.update(n=n1 + n0, n_events=n1)
        if min(n1, n0) < min_group:
            row["status"] = f"refused: {min(n1, n0)} samples in a response group (< {min_group})"
            rows.append(row)
            continue
        indicator = _is_indicator(x)
        if indicator and min(int((x[m] == 1).sum()), int((x[m] == 0).sum())) < min_group:
            row["status"] = f"refused: feature group of fewer than {min_group} samples"
            rows.append(row)
            continue
        xv = x[m] if indicator or not standardize else _zscore(x[m])
        yy = y[m]
        row["auc"] = _stats.auc(x[m], yy)
        row["auc_ci_low"], row["auc_ci_high"] = _stats.bootstrap_auc(
            x[m], yy, n_boot=n_boot, rng=np.random.default_rng(child)
        )
        row["p_mannwhitney"] = float(stats.mannwhitneyu(x[m][yy], x[m][~yy], alternative="two-sided").pvalue)
        fit = _stats.logistic_fit(np.column_stack([xv, cov[m]]), yy)
        b, se = float(fit.beta[1]), float(fit.se[1])
        row["effect_type"] = "OR (group vs rest)" if indicator else ("OR per SD" if standardize else "OR per unit")
        if fit.separated or not np.isfinite(se) or se <= 0:
            row["flag"] = "separation"
        else:
            row.update(
                effect=np.exp(b),
                ci_low=np.exp(b - _stats.Z95 * se),
                ci_high=np.exp(b + _stats.Z95 * se),
                p=float(2 * stats.norm.sf(abs(b / se))),
                log_effect=b,
                log_se=se,
            )
        rows.append(row)
    return rows


def _recist_rows(matrix: pd.DataFrame, clin: pd.DataFrame, *, min_group: int) -> list[dict[str, Any]]:
    outcome_columns(clin, "recist")
    rec = clin["recist"].astype("string").str.upper().map(RECIST_ORDER)
    yall = pd.to_numeric(rec, errors="coerce").to_numpy(float)
    base = np.isfinite(yall)
    counts = {k: int((yall[base] == v).sum()) for k, v in RECIST_ORDER.items() if (yall[base] == v).any()}
    if len(counts) < 2:
        _check_groups("RECIST analysis", counts, min_group=min_group)
    rows = []
    for feat in matrix.columns:
        row = _empty_row(feat, "recist")
        row.update(test="Spearman (PD<SD<PR<CR); Kruskal–Wallis", effect_type="Spearman rho")
        x = matrix[feat].to_numpy(float)
        m = base & np.isfinite(x)
        row["n"] = int(m.sum())
        levels = [yall[m] == v for v in RECIST_ORDER.values()]
        sizes = [int(lv.sum()) for lv in levels if lv.any()]
        if len(sizes) < 2 or int(m.sum()) < 2 * min_group:
            row["status"] = f"refused: fewer than 2 RECIST groups or {2 * min_group} samples"
            rows.append(row)
            continue
        rho, p = stats.spearmanr(x[m], yall[m])
        n = int(m.sum())
        z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
        half = _stats.Z95 * np.sqrt(1.06 / max(n - 3, 1))  # Fieller et al. 1957 variance of Fisher-z of Spearman rho
        row.update(effect=rho, ci_low=np.tanh(z - half), ci_high=np.tanh(z + half), p=float(p))
        groups = [x[m][lv] for lv in levels if lv.sum() >= 1]
        row["p_kruskal"] = float(stats.kruskal(*groups).pvalue)
        rows.append(row)
    return rows


def associate(
    features: pd.DataFrame,
    *,
    clinical: pd.DataFrame,
    outcome: str = "os",
    covariates: Sequence[str] = (),
    include: Sequence[str] | None = None,
    correction: str = "fdr_bh",
    min_events: int = 10,
    min_group: int = 5,
    standardize: bool = True,
    n_boot: int = 1000,
    ph_check: int = 20,
    seed: int | None = None,
) -> pd.DataFrame:
    """Test every feature of a tidy feature table for association with a clinical outcome.

    Numeric features are z-scored within the cohort (effects per SD); each level of a categorical feature
    (e.g. ``subtype.label=IE``) is tested as that group vs the rest.

    - ``os`` / ``pfs``: Cox proportional hazards (Efron ties) with the covariates, hazard ratio with 95% CI and
      Wald p; log-rank p of the feature's tertiles (or of the group vs rest); proportional-hazards check
      (Grambsch–Therneau, rank time, via lifelines) for the ``ph_check`` strongest features, flagged
      ``ph_violated`` when p < 0.05.
    - ``response`` (R vs NR): logistic regression with the covariates (odds ratio per SD, Wald p), AUC of the raw
      feature with a class-stratified bootstrap 95% CI, and the Mann–Whitney p.
    - ``recist``: Spearman correlation with the ordered best response (PD < SD < PR < CR) and Kruskal–Wallis p.

    Multiple testing: ``q`` corrects ``p`` over the features of this call. The analysis is refused (error) when
    the cohort has fewer than ``min_events`` events (or fewer than 5 per Cox model term), or a response group of
    fewer than ``min_group`` samples; single features with too little data are kept as rows whose ``status``
    says why they were not tested.

    Parameters
    ----------
    features
        Tidy feature table (:func:`tmescope.io.read_features`).
    clinical
        Clinical table (:func:`tmescope.io.read_clinical`), matched to the samples with
        :func:`tmescope.io.match_samples`.
    outcome
        ``"os"``, ``"pfs"``, ``"response"`` or ``"recist"``.
    covariates
        Clinical columns or features to adjust for (categorical ones are one-hot coded). Not for ``recist``.
    include
        Only features whose name starts with one of these (e.g. ``["immunotherapy.", "subtype.label"]``).
    correction
        ``"fdr_bh"`` (Benjamini–Hochberg), ``"bonferroni"`` or ``"holm"``.
    min_events, min_group
        Refusal thresholds (see above).
    standardize
        Effects per SD (True) or per unit of the feature.
    n_boot
        Bootstrap replicates of the AUC interval.
    ph_check
        How many of the strongest survival associations get the proportional-hazards check.
    seed
        Seed of the bootstrap (default ``tmescope.settings.seed``); one child stream per feature.

    Returns
    -------
    pandas.DataFrame
        One row per feature (:data:`ASSOCIATION_COLUMNS`), ranked by p. ``effect`` is HR, OR or rho;
        ``log_effect``/``log_se`` feed :func:`meta_analysis`. ``attrs`` hold ``outcome``, ``n_samples``,
        ``dropped`` (features not tested: too often missing or constant).

    Examples
    --------
    >>> from tmescope.cohort import simulate_cohort
    >>> feats, clin = simulate_cohort(n_samples=120, n_features=5, effects={"sim.f0": 0.8}, seed=1)
    >>> res = associate(feats, clinical=clin, outcome="os")
    >>> res.iloc[0]["feature"], bool(res.iloc[0]["q"] < 0.01)
    ('sim.f0', True)
    """
    table = check_features(features)
    if include is not None:
        table = table[table["feature"].str.startswith(tuple(include))]
        if table.empty:
            msg = f"No feature starts with any of {format_items(list(include))}; check `include`."
            raise InputError(msg)
    matrix = feature_matrix(table)
    clin = align_clinical(matrix.index, clinical)
    if outcome == "recist" and len(covariates):
        msg = "Covariates are not supported for the RECIST outcome (rank correlation); use outcome='response'."
        raise InputError(msg)
    design, _ = covariate_matrix(covariates, clin, matrix)
    design = design.reindex(matrix.index)
    matrix = matrix.drop(columns=[c for c in covariates if c in matrix.columns])
    seed = settings.seed if seed is None else int(seed)
    if outcome in SURVIVAL:
        rows = _survival_rows(
            matrix, clin, design, outcome=outcome, min_events=min_events, min_group=min_group, standardize=standardize
        )
        if ph_check > 0:
            _ph_check(rows, matrix, clin, design, outcome=outcome, top=ph_check)
    elif outcome == "response":
        rows = _response_rows(
            matrix, clin, design, min_group=min_group, standardize=standardize, n_boot=n_boot, seed=seed
        )
    elif outcome == "recist":
        rows = _recist_rows(matrix, clin, min_group=min_group)
    else:
        outcome_columns(clin, outcome)  # raises the unknown-outcome error
        rows = []
    out = pd.DataFrame(rows, columns=list(ASSOCIATION_COLUMNS))
    out["q"] = _stats.adjust_pvalues(out["p"].to_numpy(float), method=correction)
    out = out.sort_values(["p", "feature"], kind="stable", na_position="last").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out.attrs.update(
        outcome=outcome,
        n_samples=int(matrix.shape[0]),
        dropped=list(matrix.attrs.get("dropped", [])),
        correction=correction,
        covariates=list(covariates),
    )
    return out


class SurvivalCurves(NamedTuple):
    """What :func:`survival_curves` returns."""

    #: One row per (group, time): ``group``, ``time``, ``survival``, ``ci_low``, ``ci_high``, ``at_risk``, ``events``.
    curves: pd.DataFrame
    #: ``by``, ``outcome``, ``statistic``, ``df``, ``p`` (log-rank), ``n``, ``n_events``, ``groups`` (sizes).
    test: dict[str, Any]


def group_labels(matrix_source: pd.DataFrame, clin: pd.DataFrame, by: str) -> pd.Series:
    """Groups of each sample: a categorical feature's label, a numeric feature's tertile, or a clinical column."""
    feats = matrix_source
    if by in set(feats["feature"]):
        rows = feats[feats["feature"] == by].set_index("sample")
        if (rows["label"] != "").any():
            return rows["label"].replace("", pd.NA).reindex(clin.index)
        x = rows["value"].reindex(clin.index).to_numpy(float)
        ok = np.isfinite(x)
        t = _tertiles(x[ok])
        if t is None:
            msg = f"Feature {by!r} has too few distinct values for tertiles."
            raise InputError(msg)
        out = pd.Series(pd.NA, index=clin.index, dtype="object")
        out[ok] = np.array(["low", "mid", "high"])[t]
        return out
    if by in clin.columns:
        return clin[by].astype("string").replace("", pd.NA)
    msg = f"{by!r} is neither a feature of the table nor a clinical column (e.g. 'subtype.label')."
    raise InputError(msg)


def survival_curves(
    features: pd.DataFrame,
    *,
    clinical: pd.DataFrame,
    by: str = "subtype.label",
    outcome: str = "os",
    min_group: int = 5,
    min_events: int = 10,
) -> SurvivalCurves:
    """Kaplan–Meier curves by group (subtype, feature tertile or clinical column) and the log-rank test.

    Groups smaller than ``min_group`` are left out with a warning; fewer than two groups left, or fewer than
    ``min_events`` events, is refused.

    Parameters
    ----------
    features
        Tidy feature table.
    clinical
        Clinical table (:func:`tmescope.io.read_clinical`).
    by
        A categorical feature (``"subtype.label"``), a numeric feature (split into tertiles low/mid/high) or a
        clinical column.
    outcome
        ``"os"`` or ``"pfs"``.
    min_group, min_events
        Refusal thresholds.

    Returns
    -------
    :class:`SurvivalCurves` ``(curves, test)``.

    Examples
    --------
    >>> from tmescope.cohort import simulate_cohort
    >>> feats, clin = simulate_cohort(n_samples=90, n_features=2, effects={"sim.f0": 1.0}, seed=0)
    >>> sc = survival_curves(feats, clinical=clin, by="sim.f0")
    >>> sorted(sc.test["groups"]), sc.test["p"] < 0.001
    (['high', 'low', 'mid'], True)
    """
    if outcome not in SURVIVAL:
        msg = f"Kaplan–Meier curves need a survival outcome ('os' or 'pfs'); got {outcome!r}."
        raise InputError(msg)
    table = check_features(features)
    samples = pd.Index(sorted(table["sample"].unique()), name="sample")
    clin = align_clinical(samples, clinical)
    tcol, ecol = outcome_columns(clin, outcome)
    groups = group_labels(table, clin, by)
    time = pd.to_numeric(clin[tcol], errors="coerce")
    event = pd.to_numeric(clin[ecol], errors="coerce")
    ok = time.notna() & event.notna() & groups.notna()
    sizes = groups[ok].value_counts()
    small = sizes[sizes < min_group]
    if len(small):
        warn(
            f"Kaplan–Meier by {by}: group(s) {format_items([f'{k} (n={v})' for k, v in small.items()])} have fewer "
            f"than {min_group} samples and are left out.",
            TmescopeWarning,
        )
        ok &= ~groups.isin(small.index).fillna(value=False)
    sizes = groups[ok].value_counts()
    _check_groups(f"Kaplan–Meier by {by}", {str(k): int(v) for k, v in sizes.items()}, min_group=min_group)
    nev = int(event[ok].sum())
    if nev < min_events:
        msg = (
            f"Only {nev} {outcome.upper()} event(s) in the groups of {by}; at least {min_events} are needed for "
            "Kaplan–Meier curves and a log-rank test. Pool cohorts or use another outcome."
        )
        raise InputError(msg)
    t, e, g = time[ok].to_numpy(float), event[ok].to_numpy(float), groups[ok].astype(str).to_numpy()
    parts = []
    order = ["low", "mid", "high"] if set(g) <= {"low", "mid", "high"} else sorted(set(g))
    for level in order:
        sel = g == level
        tt, s, lo, hi, risk, dead = _stats.kaplan_meier(t[sel], e[sel])
        parts.append(
            pd.DataFrame(
                {
                    "group": level,
                    "time": tt,
                    "survival": s,
                    "ci_low": lo,
                    "ci_high": hi,
                    "at_risk": risk,
                    "events": dead,
                }
            )
        )
    lr = _stats.logrank(t, e, g)
    test = {
        "by": by,
        "outcome": outcome,
        "statistic": lr.statistic,
        "df": lr.df,
        "p": lr.p,
        "n": int(ok.sum()),
        "n_events": nev,
        "groups": {str(k): int(v) for k, v in sizes.reindex(order).items()},
    }
    return SurvivalCurves(pd.concat(parts, ignore_index=True), test)


def roc_curve(features: pd.DataFrame, *, clinical: pd.DataFrame, feature: str) -> pd.DataFrame:
    """ROC curve of one feature for response (R vs NR): columns ``fpr``, ``tpr``; ``attrs["auc"]``, ``attrs["n"]``.

    Examples
    --------
    >>> from tmescope.cohort import simulate_cohort
    >>> feats, clin = simulate_cohort(n_samples=60, n_features=2, effects={"sim.f0": 1.0}, seed=0)
    >>> roc = roc_curve(feats, clinical=clin, feature="sim.f0")
    >>> float(roc["tpr"].iloc[-1]), roc.attrs["auc"] > 0.6
    (1.0, True)
    """
    table = check_features(features)
    matrix = feature_matrix(table, min_measured=0.0)
    if feature not in matrix.columns:
        msg = f"Feature {feature!r} is not in the table (or is constant)."
        raise InputError(msg)
    clin = align_clinical(matrix.index, clinical)
    outcome_columns(clin, "response")
    resp = clin["response"].astype("string").str.upper()
    x = matrix[feature].to_numpy(float)
    m = resp.isin(["R", "NR"]).fillna(value=False).to_numpy(bool) & np.isfinite(x)
    y = (resp == "R").fillna(value=False).to_numpy(bool)[m]
    fpr, tpr = _stats.roc_points(x[m], y)
    out = pd.DataFrame({"fpr": fpr, "tpr": tpr})
    out.attrs.update(auc=_stats.auc(x[m], y), n=int(m.sum()), feature=feature)
    return out
