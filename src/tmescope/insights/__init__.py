"""From a TME portrait to therapeutic research hypotheses: a cited knowledge base of rules over the feature table.

Each rule links a tumour-microenvironment state (a condition over features of the tidy feature table, e.g. the
TME subtype, a signature's cohort percentile or a cell fraction) to a strategy class (immune checkpoint
blockade, TGF-β blockade combinations, CAF/FAP targeting, CSF1R/myeloid reprogramming, anti-angiogenic
normalisation, metabolic targeting), with a direction, a level of evidence and its citations. The knowledge base
ships as JSON (``tmescope/data/insights/rules.json``) validated by a schema; users can add their own rules files.

The outputs are research hypotheses, not treatment recommendations.

Examples
--------
>>> from tmescope import insights
>>> kb = insights.load_rules()
>>> sorted(set(kb.to_frame()["strategy"]))[:2]
['antiangiogenic_normalisation', 'caf_fap_targeting']
"""

from __future__ import annotations

from tmescope.insights._evaluate import (
    BORDERLINE,
    DISCLAIMER,
    FIRES,
    NOT_EVALUABLE,
    NOT_FIRING,
    UNS_INSIGHTS,
    InsightResult,
    add_insights,
    evaluate_insights,
    strategy_summary,
)
from tmescope.insights._rules import (
    DIRECTIONS,
    EVIDENCE_LEVELS,
    OPERATORS,
    STRATEGIES,
    RuleSet,
    builtin_rules_path,
    describe_condition,
    load_rules,
    validate_rules,
)
from tmescope.insights._run import run_insights
from tmescope.insights._stratify import mantel_haenszel, odds_ratio, response_binary, stratify_response

__all__ = [
    "BORDERLINE",
    "DIRECTIONS",
    "DISCLAIMER",
    "EVIDENCE_LEVELS",
    "FIRES",
    "NOT_EVALUABLE",
    "NOT_FIRING",
    "OPERATORS",
    "STRATEGIES",
    "UNS_INSIGHTS",
    "InsightResult",
    "RuleSet",
    "add_insights",
    "builtin_rules_path",
    "describe_condition",
    "evaluate_insights",
    "load_rules",
    "mantel_haenszel",
    "odds_ratio",
    "response_binary",
    "run_insights",
    "strategy_summary",
    "stratify_response",
    "validate_rules",
]
