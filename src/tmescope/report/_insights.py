"""The "Therapy hypotheses" section of a sample page, read from ``adata.uns["insights"]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from tmescope.report import _html as h

if TYPE_CHECKING:
    from anndata import AnnData

#: ``uns`` key written by :func:`tmescope.insights.add_insights` (kept here so the report imports no analysis).
UNS_INSIGHTS = "insights"
_STATE_COLOR = {"fires": "#1b7837", "borderline": "#b35806", "does not fire": "#888888", "not evaluable": "#bbbbbb"}
_STRATEGY_NAMES = {
    "immune_checkpoint_blockade": "Immune checkpoint blockade",
    "tgfb_blockade_combination": "TGF-β blockade combinations",
    "caf_fap_targeting": "CAF/FAP targeting",
    "csf1r_myeloid_reprogramming": "CSF1R / myeloid reprogramming",
    "antiangiogenic_normalisation": "Anti-angiogenic vessel normalisation",
    "metabolic_targeting": "Metabolic targeting",
}
_LEVELS = {
    "clinical_trial": "clinical-trial samples",
    "retrospective_cohort": "retrospective cohort",
    "preclinical": "preclinical",
    "rationale": "rationale only",
}
_CALL_ORDER = {"mixed": 0, "supported": 1, "argued against": 2, "borderline": 3, "no rule fired": 4, "not evaluable": 5}
HOWTO = (
    "<b>Research hypotheses, not treatment recommendations.</b> Each line is a rule of a cited knowledge base that "
    "links a tumour-microenvironment state to a class of therapy, with the direction (the state <b>supports</b> the "
    "strategy or <b>argues against</b> it) and the level of evidence behind the link. A rule <b>fires</b> when this "
    "sample's features meet its condition; it is <b>borderline</b> when a value sits within the uncertainty of a "
    "threshold (percentile within a few points, an estimate's interval across it, or a low-confidence label)."
)


def _frame(value: Any) -> pd.DataFrame | None:
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, dict):
        try:
            return pd.DataFrame(value)
        except ValueError:
            return None
    return None


def insights_section(adata: AnnData, sample: str) -> str:
    """HTML section with the rules that fire (or are borderline) for ``sample``, their evidence and citations.

    Parameters
    ----------
    adata
        Profile AnnData; reads ``uns["insights"]`` (``evaluations``, ``disclaimer``, ``knowledge_base``, ``version``).
    sample
        Sample ID.

    Returns
    -------
    The section's HTML (a note saying why when the profile holds no insights).
    """
    info = adata.uns.get(UNS_INSIGHTS)
    title = "Therapy hypotheses (research use only)"
    ev = _frame(info.get("evaluations")) if isinstance(info, dict) else None
    if ev is None or ev.empty or "sample" not in ev.columns:
        why = (
            f"`adata.uns[{UNS_INSIGHTS!r}]` is absent; run `tmescope insights PROFILE_DIR -o OUT --report` or profile "
            "with insights on (the default)."
        )
        return h.section("insights", title, h.omitted("Therapy hypotheses", why), howto=HOWTO)
    rows = ev.loc[ev["sample"].astype(str) == str(sample)]
    disclaimer = str(info.get("disclaimer", "")) if isinstance(info, dict) else ""
    kb = f"{info.get('knowledge_base', '')} {info.get('version', '')}".strip() if isinstance(info, dict) else ""
    parts = [f'<p class="omitted disclaimer"><b>Not a treatment recommendation.</b> {h.e(disclaimer)}</p>']
    if rows.empty:
        parts.append(h.omitted("Therapy hypotheses", "The stored evaluations have no rows for this sample."))
        return h.section("insights", title, "\n".join(parts), howto=HOWTO)
    summary = []
    for strategy, g in rows.groupby("strategy", sort=False):
        fires = g["state"] == "fires"
        sup = int((fires & (g["direction"] == "supports")).sum())
        ag = int((fires & (g["direction"] == "argues_against")).sum())
        bl = int((g["state"] == "borderline").sum())
        ne = int((g["state"] == "not evaluable").sum())
        call = (
            "mixed"
            if sup and ag
            else "supported"
            if sup
            else "argued against"
            if ag
            else "borderline"
            if bl
            else "not evaluable"
            if ne == len(g)
            else "no rule fired"
        )
        summary.append(
            {
                "strategy": _STRATEGY_NAMES.get(str(strategy), str(strategy)),
                "hypothesis": call,
                "rules supporting": sup,
                "rules arguing against": ag,
                "borderline": bl,
                "rules": len(g),
            }
        )
    summ = pd.DataFrame(summary)
    summ = summ.iloc[summ["hypothesis"].map(_CALL_ORDER).argsort(kind="stable")]
    parts.append(
        h.table(
            summ,
            numeric=("rules supporting", "rules arguing against", "borderline", "rules"),
            table_id="insights-summary",
        )
    )
    shown = rows.loc[rows["state"].isin(["fires", "borderline"])]
    if shown.empty:
        parts.append('<p class="noflags">No rule fires for this sample, and none is borderline.</p>')
    else:
        shown = shown.assign(_o=shown["state"].map({"fires": 0, "borderline": 1})).sort_values(["_o", "strategy"])
        detail = pd.DataFrame(
            {
                "state": [h.badge(s, _STATE_COLOR.get(s, "#888")) for s in shown["state"].astype(str)],
                "rule": shown["title"].astype(str).to_numpy(),
                "strategy": [_STRATEGY_NAMES.get(s, s) for s in shown["strategy"].astype(str)],
                "direction": shown["direction"].astype(str).str.replace("_", " ").to_numpy(),
                "evidence level": [_LEVELS.get(s, s) for s in shown["evidence_level"].astype(str)],
                "what this sample shows": shown["evidence"].astype(str).to_numpy(),
                "citations": shown["citations"].astype(str).to_numpy(),
            }
        )
        parts.append(h.table(detail, raw_html=("state",), wrap=True, table_id="insights-rules"))
        notes = shown.loc[:, ["title", "evidence_note"]].drop_duplicates() if "evidence_note" in shown else None
        if notes is not None and not notes.empty:
            parts.append(
                "<details><summary>What the cited studies showed</summary><ul>"
                + "".join(f"<li><b>{h.e(t)}</b>: {h.e(n)}</li>" for t, n in notes.itertuples(index=False) if n)
                + "</ul></details>"
            )
    rest = rows.loc[~rows["state"].isin(["fires", "borderline"])]
    if not rest.empty:
        other = pd.DataFrame(
            {
                "rule": rest["title"].astype(str).to_numpy(),
                "state": rest["state"].astype(str).to_numpy(),
                "strategy": [_STRATEGY_NAMES.get(s, s) for s in rest["strategy"].astype(str)],
                "what this sample shows": rest["evidence"].astype(str).to_numpy(),
            }
        )
        parts.append(
            f"<details><summary>Rules that do not fire ({len(rest)})</summary>{h.table(other, wrap=True)}</details>"
        )
    if kb:
        parts.append(f'<p class="downloads">Knowledge base {h.e(kb)}.</p>')
    return h.section("insights", title, "\n".join(parts), howto=HOWTO)
