"""Evaluate the knowledge base on a tidy feature table: which rules fire, why, and how close to their thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from tmescope._errors import InputError, InputTypeError
from tmescope._provenance import current
from tmescope.insights._rules import RuleSet, load_rules

if TYPE_CHECKING:
    import os

    from anndata import AnnData

#: ``uns`` entry written by :func:`add_insights` (evaluations, clause details, rules, disclaimer).
UNS_INSIGHTS = "insights"
#: Feature family of every row this module writes.
PREFIX = "insight"
#: Rule states, and the value each takes in the feature table.
FIRES, BORDERLINE, NOT_FIRING, NOT_EVALUABLE = "fires", "borderline", "does not fire", "not evaluable"
STATE_VALUE = {FIRES: 1.0, BORDERLINE: 0.5, NOT_FIRING: 0.0, NOT_EVALUABLE: np.nan}
#: Plain-language statement shown with every output of this module.
DISCLAIMER = (
    "These are research hypotheses generated from published associations between tumour-microenvironment states "
    "and therapy classes. They are not treatment recommendations and must not be used to choose a treatment."
)
# Three-valued clause outcomes (+ missing): true, false, borderline (within uncertainty), missing.
_T, _F, _B, _M = "yes", "no", "borderline", "missing"


class InsightResult(NamedTuple):
    """What :func:`evaluate_insights` returns."""

    #: One row per (sample, rule): state, the evidence that decided it, strategy, direction, citations.
    evaluations: pd.DataFrame
    #: One row per (sample, rule, clause): feature, value, interval, percentile and its source, threshold, outcome.
    clauses: pd.DataFrame
    #: Tidy ``insight.*`` feature rows (:data:`tmescope.io.FEATURE_COLUMNS`).
    features: pd.DataFrame


class _Feature(NamedTuple):
    """One feature's columns, aligned to the samples (plain arrays: read once per sample and clause)."""

    value: np.ndarray
    label: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    percentile: np.ndarray
    pct_source: str
    pct_low: np.ndarray
    pct_high: np.ndarray


def _clauses(cond: dict[str, Any]) -> list[dict[str, Any]]:
    (_, terms), *_ = cond.items()
    out: list[dict[str, Any]] = []
    for t in terms:
        out.extend(_clauses(t) if ("all" in t or "any" in t) else [t])
    return out


def _cohort_percentile(values: pd.Series, *, min_cohort: int) -> pd.Series:
    """Leave-one-out mid-rank percentile of each value among the other samples (as the reference cohort does)."""
    v = values.to_numpy(dtype=float)
    ok = np.isfinite(v)
    out = np.full(v.size, np.nan)
    if ok.sum() < min_cohort:
        return pd.Series(out, index=values.index)
    ref = np.sort(v[ok])
    below = np.searchsorted(ref, v[ok], side="left").astype(float)
    upto = np.searchsorted(ref, v[ok], side="right").astype(float) - 1.0  # leave the sample itself out
    out[ok] = 100.0 * (below + 0.5 * (upto - below)) / (ref.size - 1)
    return pd.Series(out, index=values.index)


def _interp_percentile(values: pd.Series, pct: pd.Series, bounds: pd.Series) -> pd.Series:
    """Percentile of interval bounds, interpolated on the cohort's own (value, percentile) pairs."""
    ok = np.isfinite(values.to_numpy(dtype=float)) & np.isfinite(pct.to_numpy(dtype=float))
    pairs = pd.DataFrame({"v": values[ok].to_numpy(dtype=float), "p": pct[ok].to_numpy(dtype=float)})
    pairs = pairs.groupby("v", sort=True)["p"].mean()
    out = np.full(len(bounds), np.nan)
    b = bounds.to_numpy(dtype=float)
    fin = np.isfinite(b)
    if len(pairs) >= 2:
        out[fin] = np.interp(b[fin], pairs.index.to_numpy(), pairs.to_numpy())
    return pd.Series(out, index=bounds.index)


def _feature_view(
    table: pd.DataFrame, name: str, samples: pd.Index, *, reference: Any, min_cohort: int
) -> _Feature | None:
    rows = table.loc[table["feature"] == name].drop_duplicates("sample", keep="last").set_index("sample")
    if rows.empty:
        return None
    rows = rows.reindex(samples)
    value, pct = rows["value"].astype(float), rows["percentile"].astype(float)
    ci_low, ci_high = rows["ci_low"].astype(float), rows["ci_high"].astype(float)
    if pct.notna().any():
        source = "reference"
    else:
        pct = _cohort_percentile(value, min_cohort=min_cohort)
        source = "cohort" if pct.notna().any() else ""
    nan = pd.Series(np.nan, index=samples)
    pct_low, pct_high = nan, nan
    if ci_low.notna().any() and pct.notna().any():
        if source == "reference" and reference is not None and name in getattr(reference, "features", {}):
            lo = pd.DataFrame({"sample": samples, "feature": name, "value": ci_low.to_numpy()})
            hi = pd.DataFrame({"sample": samples, "feature": name, "value": ci_high.to_numpy()})
            pct_low = pd.Series(reference.percentiles(lo).to_numpy(), index=samples)
            pct_high = pd.Series(reference.percentiles(hi).to_numpy(), index=samples)
        else:
            pct_low, pct_high = _interp_percentile(value, pct, ci_low), _interp_percentile(value, pct, ci_high)
    label = rows["label"].fillna("").astype(str)
    arrays = (np.asarray(x, dtype=float) for x in (value, ci_low, ci_high, pct))
    v_arr, lo_arr, hi_arr, p_arr = arrays
    return _Feature(
        v_arr,
        label.to_numpy(dtype=object),
        lo_arr,
        hi_arr,
        p_arr,
        source,
        np.asarray(pct_low, dtype=float),
        np.asarray(pct_high, dtype=float),
    )


def _compare(x: float, op: str, thr: float) -> bool:
    return x >= thr if op == ">=" else x <= thr if op == "<=" else x == thr if op == "==" else x != thr


def _fmt(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x:.3g}"


def _eval_clause(
    c: dict[str, Any], f: _Feature | None, i: int, confidence: _Feature | None, defaults: dict[str, float]
) -> dict[str, Any]:
    """Outcome of one clause for sample position ``i``, with what decided it."""
    op, name = c["op"], c["feature"]
    rec: dict[str, Any] = {
        "feature": name,
        "op": op,
        "threshold": c.get("percentile", c.get("value")),
        "kind": "percentile" if "percentile" in c else "label" if _is_label(c) else "value",
        "value": np.nan,
        "label": "",
        "ci_low": np.nan,
        "ci_high": np.nan,
        "percentile": np.nan,
        "percentile_source": "",
        "result": _M,
    }
    if isinstance(rec["threshold"], list):
        rec["threshold"] = ", ".join(map(str, rec["threshold"]))
    if f is None:
        rec["text"] = f"{name}: not in the feature table"
        return rec
    v, lo, hi, p = (float(x[i]) for x in (f.value, f.ci_low, f.ci_high, f.percentile))
    rec.update(value=v, label=str(f.label[i]), ci_low=lo, ci_high=hi, percentile=p, percentile_source=f.pct_source)
    interval = f" [{_fmt(lo)}–{_fmt(hi)}]" if np.isfinite(lo) and np.isfinite(hi) else ""
    if rec["kind"] == "label":
        lab = rec["label"]
        if not lab:
            rec["text"] = f"{name}: no label for this sample"
            return rec
        wanted = [str(x) for x in c["value"]] if op == "in" else [str(c["value"])]
        hit = (lab in wanted) if op in ("in", "==") else (lab not in wanted)
        rec["result"] = _T if hit else _F
        conf = float(confidence.value[i]) if confidence is not None else np.nan
        # A low-confidence label that meets the clause might be wrong; one that does not meet it stays "no",
        # since the table does not say which label would replace it.
        if hit and np.isfinite(conf) and conf < defaults["label_confidence_min"]:
            rec["result"] = _B
        shown = "{" + ", ".join(wanted) + "}" if op == "in" else wanted[0]
        conf_txt = f" (confidence {conf:.0%})" if np.isfinite(conf) else ""
        rec["text"] = f"{name} = {lab}{conf_txt}; needs {op} {shown}"
        return rec
    if rec["kind"] == "value":
        if not np.isfinite(v):
            rec["text"] = f"{name}: no value for this sample"
            return rec
        if op == "in":
            wanted_values = [float(x) for x in c["value"]]
            rec["result"] = _T if v in wanted_values else _F
            rec["text"] = f"{name} = {_fmt(v)}; needs in {{{', '.join(f'{x:g}' for x in wanted_values)}}}"
            return rec
        thr = float(c["value"])
        hit = _compare(v, op, thr)
        rec["result"] = _T if hit else _F
        margin = float(c.get("margin", 0.0))
        if op in (">=", "<="):
            if margin > 0 and abs(v - thr) < margin:
                rec["result"] = _B
            if np.isfinite(lo) and np.isfinite(hi) and _compare(lo, op, thr) != _compare(hi, op, thr):
                rec["result"] = _B
        rec["text"] = f"{name} = {_fmt(v)}{interval}; needs {op} {thr:g}"
        return rec
    thr = float(c["percentile"])
    if not np.isfinite(p):
        why = "no percentile (cohort too small and no reference)" if np.isfinite(v) else "no value for this sample"
        rec["text"] = f"{name}: {why}"
        return rec
    hit = _compare(p, op, thr)
    rec["result"] = _T if hit else _F
    margin = float(c.get("margin", defaults["percentile_margin"]))
    plo, phi = float(f.pct_low[i]), float(f.pct_high[i])
    if abs(p - thr) < margin or (
        np.isfinite(plo) and np.isfinite(phi) and _compare(plo, op, thr) != _compare(phi, op, thr)
    ):
        rec["result"] = _B
    src = "reference" if f.pct_source == "reference" else "this cohort"
    pint = f" [{plo:.0f}–{phi:.0f}]" if np.isfinite(plo) and np.isfinite(phi) else ""
    rec["text"] = f"{name} = {_fmt(v)}{interval}, percentile {p:.0f}{pint} in {src}; needs {op} {thr:g}"
    return rec


def _is_label(c: dict[str, Any]) -> bool:
    v = c.get("value")
    return "value" in c and (isinstance(v, str) or (isinstance(v, list) and any(isinstance(x, str) for x in v)))


def _combine(kind: str, outcomes: list[str]) -> str:
    if kind == "all":
        for state in (_F, _M, _B):
            if state in outcomes:
                return state
        return _T
    for state in (_T, _B, _M):
        if state in outcomes:
            return state
    return _F


def _eval_condition(cond: dict[str, Any], results: dict[int, str], counter: list[int]) -> str:
    (kind, terms), *_ = cond.items()
    outcomes = []
    for t in terms:
        if "all" in t or "any" in t:
            outcomes.append(_eval_condition(t, results, counter))
        else:
            outcomes.append(results[counter[0]])
            counter[0] += 1
    return _combine(kind, outcomes)


_RULE_STATE = {_T: FIRES, _B: BORDERLINE, _F: NOT_FIRING, _M: NOT_EVALUABLE}


def _resolve(rules: RuleSet | str | os.PathLike[str] | list[Any] | None) -> RuleSet:
    if rules is None:
        return load_rules()
    if isinstance(rules, RuleSet):
        return rules
    return load_rules(rules)


def evaluate_insights(
    features: pd.DataFrame,
    *,
    rules: RuleSet | str | os.PathLike[str] | list[Any] | None = None,
    reference: Any = None,
) -> InsightResult:
    """Evaluate the knowledge base on every sample of a tidy feature table.

    Each rule is a condition over features (``all``/``any`` of clauses on a value, a label or a cohort
    percentile). A clause is *borderline* when the sample sits within the uncertainty of its threshold: a
    percentile within ``percentile_margin`` points of it (knowledge-base default 5), an estimate whose interval
    (``ci_low``–``ci_high``, e.g. bootstrap intervals of cell fractions) straddles it, or a label that meets the
    clause while its ``<family>.confidence`` is below ``label_confidence_min`` (default 0.5). ``all`` is false if any clause is
    false, else not evaluable if a feature is missing, else borderline if any clause is; ``any`` is true if a
    clause is true, else borderline, else not evaluable, else false.

    Percentiles are those stored in the table (against the reference cohort); for features without any stored
    percentile (cohort-relative profiles) the leave-one-out percentile within the table's samples is used when
    at least ``min_cohort`` samples (default 10) have a value. The outputs are research hypotheses, not
    treatment recommendations.

    Parameters
    ----------
    features
        Tidy feature table (:data:`tmescope.io.FEATURE_COLUMNS`), e.g. ``features.parquet`` of ``tmescope profile``.
        Existing ``insight.*`` rows are ignored.
    rules
        A :class:`RuleSet`, a rules file path or list of paths (added to the built-in knowledge base), or
        ``None`` for the built-in knowledge base.
    reference
        Optional :class:`tmescope.profile.ReferenceCohort` the percentiles were computed against; used to place
        interval bounds. Without it they are interpolated on the table's own values.

    Returns
    -------
    :class:`InsightResult` ``(evaluations, clauses, features)``; ``features`` holds ``insight.<rule id>`` (value 1
    fires, 0.5 borderline, 0 does not fire, NaN not evaluable; label = state; ``ci_low``/``ci_high`` = the
    states reachable within the uncertainty) and ``insight.strategy.<strategy>`` (value = supporting minus
    opposing rules that fire; label supported / argued against / mixed / borderline / no rule fired).

    Examples
    --------
    >>> t = pd.DataFrame({"sample": ["a", "b"], "feature": "subtype.label", "value": np.nan, "label": ["IE", "D"]})
    >>> res = evaluate_insights(t)
    >>> res.evaluations.query("rule == 'icb_depleted_subtype'")[["sample", "state"]].to_numpy().tolist()
    [['a', 'does not fire'], ['b', 'fires']]
    """
    from tmescope.io import normalize_features

    if not isinstance(features, pd.DataFrame):
        msg = f"`features` must be the tidy feature table (a DataFrame); got {type(features).__name__}."
        raise InputTypeError(msg)
    table = normalize_features(features)
    table = table.loc[~table["feature"].str.startswith(PREFIX + ".")]
    if table.empty:
        msg = "The feature table has no rows to evaluate; run `tmescope profile` first and pass its features table."
        raise InputError(msg)
    kb = _resolve(rules)
    defaults = kb.defaults
    samples = pd.Index(pd.unique(table["sample"]))
    needed = sorted({c["feature"] for r in kb.rules for c in _clauses(r["condition"])})
    views: dict[str, _Feature | None] = {}
    for name in needed:
        views[name] = _feature_view(table, name, samples, reference=reference, min_cohort=int(defaults["min_cohort"]))
        if name.endswith(".label"):
            conf = name.rsplit(".", 1)[0] + ".confidence"
            views[conf] = _feature_view(table, conf, samples, reference=None, min_cohort=10**9)
    ev_rows: list[dict[str, Any]] = []
    cl_rows: list[dict[str, Any]] = []
    for rule in kb.rules:
        clauses = _clauses(rule["condition"])
        cites = "; ".join(f"{c['reference']} (doi:{c['doi']})" for c in rule["citations"])
        for i, s in enumerate(samples):
            recs = []
            for c in clauses:
                conf = (
                    views.get(c["feature"].rsplit(".", 1)[0] + ".confidence")
                    if c["feature"].endswith(".label")
                    else None
                )
                recs.append(_eval_clause(c, views[c["feature"]], i, conf, defaults))
            outcome = _eval_condition(rule["condition"], dict(enumerate(r["result"] for r in recs)), [0])
            for r in recs:
                cl_rows.append({"sample": s, "rule": rule["id"], **{k: v for k, v in r.items() if k != "text"}})
            ev_rows.append(
                {
                    "sample": s,
                    "rule": rule["id"],
                    "title": rule["title"],
                    "strategy": rule["strategy"],
                    "direction": rule["direction"],
                    "evidence_level": rule["evidence_level"],
                    "state": _RULE_STATE[outcome],
                    "evidence": "; ".join(f"{r['text']} → {r['result']}" for r in recs),
                    "missing": ", ".join(r["feature"] for r in recs if r["result"] == _M and "not in the" in r["text"]),
                    "citations": cites,
                    "evidence_note": rule.get("evidence_note", ""),
                }
            )
    evaluations = pd.DataFrame(ev_rows)
    clause_table = pd.DataFrame(cl_rows)
    rows = _feature_rows(evaluations, kb)
    return InsightResult(evaluations, clause_table, normalize_features(rows))


def _feature_rows(ev: pd.DataFrame, kb: RuleSet) -> pd.DataFrame:
    method = f"insights knowledge base {kb.name} {kb.version} (research hypotheses, not treatment recommendations)"
    state = ev["state"]
    low = state.map({FIRES: 1.0, BORDERLINE: 0.0, NOT_FIRING: 0.0})
    high = state.map({FIRES: 1.0, BORDERLINE: 1.0, NOT_FIRING: 0.0})
    rules = pd.DataFrame(
        {
            "sample": ev["sample"],
            "feature": PREFIX + "." + ev["rule"],
            "value": state.map(STATE_VALUE).astype(float),
            "label": state,
            "unit": "rule state (1 fires, 0.5 borderline, 0 does not fire)",
            "method": method,
            "ci_low": low.astype(float),
            "ci_high": high.astype(float),
            "flag": np.where(state == BORDERLINE, "borderline", np.where(state == NOT_EVALUABLE, "not_evaluable", "")),
        }
    )
    summ = strategy_summary(ev)
    strat = pd.DataFrame(
        {
            "sample": summ["sample"],
            "feature": PREFIX + ".strategy." + summ["strategy"],
            "value": summ["net"].astype(float),
            "label": summ["call"],
            "unit": "supporting minus opposing rules that fire",
            "method": method,
            "flag": np.where(summ["n_borderline"] > 0, "borderline", ""),
        }
    )
    return pd.concat([rules, strat], ignore_index=True)


def strategy_summary(evaluations: pd.DataFrame) -> pd.DataFrame:
    """Per sample and strategy class: how many supporting and opposing rules fire, and the overall call.

    The call is ``supported`` (only supporting rules fire), ``argued against`` (only opposing rules fire),
    ``mixed`` (both), ``borderline`` (none fires but some are borderline), ``no rule fired`` or ``not evaluable``
    (every rule lacked a feature).

    Parameters
    ----------
    evaluations
        The ``evaluations`` table of :func:`evaluate_insights`.

    Returns
    -------
    DataFrame with sample, strategy, n_supports, n_argues_against, n_borderline, net, call.
    """
    ev = evaluations
    fires = ev["state"] == FIRES
    sup = fires & (ev["direction"] == "supports")
    ag = fires & (ev["direction"] == "argues_against")
    frame = pd.DataFrame(
        {
            "sample": ev["sample"],
            "strategy": ev["strategy"],
            "sup": sup.astype(int),
            "ag": ag.astype(int),
            "bl": (ev["state"] == BORDERLINE).astype(int),
            "ne": (ev["state"] == NOT_EVALUABLE).astype(int),
            "n": 1,
        }
    )
    g = frame.groupby(["sample", "strategy"], sort=False).sum().reset_index()
    call = np.select(
        [
            (g["sup"] > 0) & (g["ag"] > 0),
            g["sup"] > 0,
            g["ag"] > 0,
            g["bl"] > 0,
            g["ne"] == g["n"],
        ],
        ["mixed", "supported", "argued against", "borderline", "not evaluable"],
        default="no rule fired",
    )
    return pd.DataFrame(
        {
            "sample": g["sample"],
            "strategy": g["strategy"],
            "n_supports": g["sup"],
            "n_argues_against": g["ag"],
            "n_borderline": g["bl"],
            "net": g["sup"] - g["ag"],
            "call": call,
        }
    )


def add_insights(
    adata: AnnData,
    *,
    features: pd.DataFrame,
    rules: RuleSet | str | os.PathLike[str] | list[Any] | None = None,
    reference: Any = None,
) -> pd.DataFrame:
    """Evaluate the knowledge base on a profile, store the details in ``adata.uns`` and extend the feature table.

    Parameters
    ----------
    adata
        Profile AnnData (samples in ``obs``); only ``uns`` is written.
    features
        Its tidy feature table.
    rules, reference
        As in :func:`evaluate_insights`.

    Returns
    -------
    The feature table with the ``insight.*`` rows added (earlier ``insight.*`` rows replaced). Writes
    ``adata.uns["insights"]``: ``knowledge_base``, ``version``, ``disclaimer``, ``evaluations`` and ``clauses``
    (tables of :class:`InsightResult`) and ``rules`` (:meth:`RuleSet.to_frame`).
    """
    from tmescope.io import normalize_features

    kb = _resolve(rules)
    res = evaluate_insights(features, rules=kb, reference=reference)
    adata.uns[UNS_INSIGHTS] = {
        "knowledge_base": kb.name,
        "version": kb.version,
        "method": "rule evaluation over the feature table (tmescope.insights)",
        "disclaimer": DISCLAIMER,
        "evaluations": res.evaluations,
        "clauses": res.clauses.astype({"threshold": str}),
        "rules": kb.to_frame(),
    }
    prov = current()
    if prov is not None:
        prov.add_resource("insights_knowledge_base", {"name": kb.name, "version": kb.version, "n_rules": len(kb)})
    base = features.loc[~features["feature"].astype(str).str.startswith(PREFIX + ".")]
    return normalize_features(pd.concat([base, res.features], ignore_index=True))
