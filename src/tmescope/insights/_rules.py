"""The insights knowledge base: loading and validating rules files (JSON, checked against the shipped schema)."""

from __future__ import annotations

import importlib.resources
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tmescope._errors import InputError, InputTypeError

if TYPE_CHECKING:
    import os

#: Strategy classes a rule can point to, with their plain-language names.
STRATEGIES: dict[str, str] = {
    "immune_checkpoint_blockade": "immune checkpoint blockade",
    "tgfb_blockade_combination": "TGF-β blockade combinations",
    "caf_fap_targeting": "CAF/FAP targeting",
    "csf1r_myeloid_reprogramming": "CSF1R / myeloid reprogramming",
    "antiangiogenic_normalisation": "anti-angiogenic vessel normalisation",
    "metabolic_targeting": "metabolic targeting",
}
#: Direction of a rule: the TME state supports the strategy or argues against it.
DIRECTIONS: dict[str, str] = {"supports": "supports", "argues_against": "argues against"}
#: Levels of evidence, strongest first. ``rationale``: the citation defines the measured state only.
EVIDENCE_LEVELS: dict[str, str] = {
    "clinical_trial": "clinical-trial samples",
    "retrospective_cohort": "retrospective cohort",
    "preclinical": "preclinical",
    "rationale": "rationale only (no outcome evidence)",
}
#: Clause operators.
OPERATORS = (">=", "<=", "==", "!=", "in")
_DEFAULTS = {"percentile_margin": 5.0, "label_confidence_min": 0.5, "min_cohort": 10}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_FEATURE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
_DOI = re.compile(r"^10\.[0-9]{4,9}/\S+$")
_TOP_KEYS = {"name", "version", "description", "defaults", "rules"}
_RULE_KEYS = {"id", "title", "strategy", "direction", "evidence_level", "condition", "rationale", "evidence_note"}
_RULE_REQUIRED = ("id", "title", "strategy", "direction", "evidence_level", "condition", "citations")
_CLAUSE_KEYS = {"feature", "op", "value", "percentile", "margin"}


@dataclass(frozen=True)
class RuleSet:
    """A validated knowledge base: its rules (plain dictionaries, as in the file) and evaluation defaults."""

    #: Name and version of each source file, ``"name version"`` joined with ``" + "``.
    name: str
    version: str
    rules: tuple[dict[str, Any], ...]
    defaults: dict[str, float] = field(default_factory=lambda: dict(_DEFAULTS))
    #: Where each rule came from (``"builtin"`` or the file path), by rule id.
    sources: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rules)

    def to_frame(self) -> pd.DataFrame:
        """One row per rule: id, title, strategy, direction, evidence level, condition text, citations, source."""
        rows = [
            {
                "rule": r["id"],
                "title": r["title"],
                "strategy": r["strategy"],
                "direction": r["direction"],
                "evidence_level": r["evidence_level"],
                "condition": describe_condition(r["condition"]),
                "citations": "; ".join(f"{c['reference']} doi:{c['doi']}" for c in r["citations"]),
                "source": self.sources.get(r["id"], ""),
            }
            for r in self.rules
        ]
        return pd.DataFrame(rows)


def _clause_text(c: dict[str, Any]) -> str:
    if "percentile" in c:
        return f"{c['feature']} percentile {c['op']} {c['percentile']:g}"
    value = c["value"]
    shown = "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)
    return f"{c['feature']} {c['op']} {shown}"


def describe_condition(cond: dict[str, Any]) -> str:
    """Readable text of a condition.

    Examples
    --------
    >>> describe_condition({"all": [{"feature": "subtype.label", "op": "==", "value": "D"},
    ...                             {"feature": "composition.cd8_t", "op": "<=", "percentile": 50}]})
    '(subtype.label == D AND composition.cd8_t percentile <= 50)'
    """
    (kind, terms), *_ = cond.items()
    parts = [describe_condition(t) if ("all" in t or "any" in t) else _clause_text(t) for t in terms]
    return "(" + f" {'AND' if kind == 'all' else 'OR'} ".join(parts) + ")"


def _check_clause(c: Any, where: str, errors: list[str]) -> None:
    if not isinstance(c, dict):
        errors.append(f"{where}: a clause must be an object {{feature, op, value | percentile}}; got {c!r}.")
        return
    extra = set(c) - _CLAUSE_KEYS
    if extra:
        errors.append(f"{where}: unknown clause key(s) {sorted(extra)}; allowed {sorted(_CLAUSE_KEYS)}.")
    feat = c.get("feature")
    if not isinstance(feat, str) or not _FEATURE.match(feat):
        errors.append(f"{where}: 'feature' must be a dotted lower-case feature name such as 'composition.cd8_t'.")
    op = c.get("op")
    if op not in OPERATORS:
        errors.append(f"{where}: 'op' must be one of {list(OPERATORS)}; got {op!r}.")
    has_v, has_p = "value" in c, "percentile" in c
    if has_v == has_p:
        errors.append(f"{where}: give exactly one of 'value' or 'percentile'.")
        return
    if has_p:
        p = c["percentile"]
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 100:
            errors.append(f"{where}: 'percentile' must be a number from 0 to 100; got {p!r}.")
        if op not in (">=", "<="):
            errors.append(f"{where}: a percentile threshold needs op '>=' or '<='; got {op!r}.")
    else:
        v = c["value"]
        if op == "in":
            if not isinstance(v, list) or not v or not all(isinstance(x, str | int | float) for x in v):
                errors.append(f"{where}: op 'in' needs a non-empty list of values; got {v!r}.")
        elif isinstance(v, bool) or not isinstance(v, str | int | float):
            errors.append(f"{where}: 'value' must be a number or a label; got {v!r}.")
        elif isinstance(v, str) and op in (">=", "<="):
            errors.append(f"{where}: op {op!r} compares numbers; got the label {v!r}.")
    m = c.get("margin", 0)
    if isinstance(m, bool) or not isinstance(m, int | float) or m < 0:
        errors.append(f"{where}: 'margin' must be a non-negative number; got {m!r}.")


def _check_condition(cond: Any, where: str, errors: list[str], depth: int = 0) -> None:
    if depth > 4:
        errors.append(f"{where}: conditions may nest at most 4 levels deep.")
        return
    if not isinstance(cond, dict) or len(cond) != 1 or next(iter(cond)) not in ("all", "any"):
        errors.append(f"{where}: a condition must be an object with one key, 'all' or 'any'; got {cond!r}.")
        return
    (kind, terms), *_ = cond.items()
    if not isinstance(terms, list) or not terms:
        errors.append(f"{where}.{kind}: must be a non-empty list of clauses or conditions.")
        return
    for i, t in enumerate(terms):
        sub = f"{where}.{kind}[{i}]"
        if isinstance(t, dict) and ("all" in t or "any" in t):
            _check_condition(t, sub, errors, depth + 1)
        else:
            _check_clause(t, sub, errors)


def _check_rule(rule: Any, where: str, errors: list[str]) -> None:
    if not isinstance(rule, dict):
        errors.append(f"{where}: a rule must be an object; got {type(rule).__name__}.")
        return
    missing = [k for k in _RULE_REQUIRED if k not in rule]
    if missing:
        errors.append(f"{where}: missing required key(s) {missing}.")
    extra = set(rule) - _RULE_KEYS - {"citations"}
    if extra:
        errors.append(f"{where}: unknown key(s) {sorted(extra)}.")
    rid = rule.get("id")
    if not isinstance(rid, str) or not _ID.match(rid) or rid == "strategy":
        errors.append(f"{where}: 'id' must match [a-z][a-z0-9_]* (and not be 'strategy'); got {rid!r}.")
    for key, allowed in (("strategy", STRATEGIES), ("direction", DIRECTIONS), ("evidence_level", EVIDENCE_LEVELS)):
        if key in rule and rule[key] not in allowed:
            errors.append(f"{where}: '{key}' must be one of {list(allowed)}; got {rule[key]!r}.")
    for key in ("title", "rationale", "evidence_note"):
        if key in rule and (not isinstance(rule[key], str) or (key == "title" and not rule[key].strip())):
            errors.append(f"{where}: '{key}' must be a non-empty string.")
    cites = rule.get("citations")
    if "citations" in rule and (not isinstance(cites, list) or not cites):
        errors.append(f"{where}: every rule needs at least one citation ({{reference, doi}}).")
    elif isinstance(cites, list):
        for i, c in enumerate(cites):
            ok = isinstance(c, dict) and set(c) == {"reference", "doi"}
            if not ok or not isinstance(c.get("doi"), str) or not _DOI.match(c["doi"]):
                errors.append(f"{where}.citations[{i}]: needs 'reference' and a DOI such as '10.1038/nature25501'.")
            elif not isinstance(c["reference"], str) or not c["reference"].strip():
                errors.append(f"{where}.citations[{i}]: 'reference' must be a non-empty string.")
    if "condition" in rule:
        _check_condition(rule["condition"], f"{where}.condition", errors)


def validate_rules(data: Any, *, source: str = "rules") -> list[str]:
    """Check a parsed rules document against the schema (``tmescope/data/insights/schema.json``).

    Parameters
    ----------
    data
        The parsed JSON document.
    source
        Name of the file, used in the messages.

    Returns
    -------
    The list of problems (empty when the document is valid).

    Examples
    --------
    >>> validate_rules({"name": "x", "version": "1", "rules": [{"id": "r"}]})[0]
    "rules.rules[0] (r): missing required key(s) ['title', 'strategy', 'direction', 'evidence_level', 'condition', 'citations']."
    """
    errors: list[str] = []
    if not isinstance(data, dict):
        return [f"{source}: the document must be a JSON object with 'name', 'version' and 'rules'."]
    extra = set(data) - _TOP_KEYS
    if extra:
        errors.append(f"{source}: unknown top-level key(s) {sorted(extra)}; allowed {sorted(_TOP_KEYS)}.")
    for key in ("name", "version"):
        if not isinstance(data.get(key), str) or not data[key]:
            errors.append(f"{source}: '{key}' must be a non-empty string.")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or set(defaults) - set(_DEFAULTS):
        errors.append(f"{source}: 'defaults' may only set {sorted(_DEFAULTS)}.")
    else:
        for key, lo, hi in (("percentile_margin", 0, 50), ("label_confidence_min", 0, 1), ("min_cohort", 2, 10**9)):
            v = defaults.get(key, _DEFAULTS[key])
            if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
                errors.append(f"{source}: defaults.{key} must be a number from {lo} to {hi}; got {v!r}.")
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        errors.append(f"{source}: 'rules' must be a non-empty list.")
        return errors
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        rid = rule.get("id") if isinstance(rule, dict) else None
        _check_rule(rule, f"{source}.rules[{i}]" + (f" ({rid})" if rid else ""), errors)
        if isinstance(rid, str):
            if rid in seen:
                errors.append(f"{source}.rules[{i}]: duplicate rule id {rid!r}.")
            seen.add(rid)
    return errors


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"Rules file {path} does not exist; give the path of a JSON rules file (see docs/insights.md)."
        raise InputError(msg) from None
    except json.JSONDecodeError as err:
        msg = f"Rules file {path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})."
        raise InputError(msg) from None


def builtin_rules_path() -> Path:
    """Path of the shipped knowledge base (``rules.json``)."""
    return Path(str(importlib.resources.files("tmescope").joinpath("data", "insights", "rules.json")))


def load_rules(
    paths: str | os.PathLike[str] | list[str | os.PathLike[str]] | None = None,
    *,
    builtin: bool = True,
) -> RuleSet:
    """Load and validate the shipped knowledge base and/or user rules files.

    Parameters
    ----------
    paths
        Extra JSON rules file(s) in the format of ``tmescope/data/insights/schema.json``; their rules are added
        to the built-in ones (rule ids must stay unique).
    builtin
        Include the shipped knowledge base.

    Returns
    -------
    :class:`RuleSet`. Evaluation defaults come from the first file loaded.

    Raises
    ------
    InputError
        When a file is missing, is not JSON or breaks the schema (every problem is listed).

    Examples
    --------
    >>> kb = load_rules()
    >>> len(kb) >= 10, kb.version
    (True, '2026.11.1')
    """
    files: list[tuple[str, Path]] = [("builtin", builtin_rules_path())] if builtin else []
    extra: list[Any] = [] if paths is None else [paths] if isinstance(paths, str | Path) else list(paths)  # type: ignore[arg-type]
    for p in extra:
        if not isinstance(p, str | Path):
            msg = f"Rules files must be given as paths; got {type(p).__name__}."
            raise InputTypeError(msg)
        files.append((str(p), Path(p)))
    if not files:
        msg = "No rules to load: builtin=False and no rules file given. Pass a rules file or keep builtin=True."
        raise InputError(msg)
    rules: list[dict[str, Any]] = []
    sources: dict[str, str] = {}
    names, versions = [], []
    defaults: dict[str, float] | None = None
    for label, path in files:
        data = _read(path)
        errors = validate_rules(data, source=path.name)
        if errors:
            shown = "\n  ".join(errors[:20]) + (f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else "")
            msg = f"Rules file {path} does not follow the insights schema:\n  {shown}"
            raise InputError(msg)
        for rule in data["rules"]:
            if rule["id"] in sources:
                msg = (
                    f"Rule id {rule['id']!r} of {path} is already defined in {sources[rule['id']]}; "
                    "give your rule another id."
                )
                raise InputError(msg)
            sources[rule["id"]] = label
            rules.append(rule)
        names.append(f"{data['name']}")
        versions.append(f"{data['version']}")
        if defaults is None:
            defaults = {**_DEFAULTS, **data.get("defaults", {})}
    return RuleSet(
        name=" + ".join(names),
        version=" + ".join(versions),
        rules=tuple(rules),
        defaults=defaults or dict(_DEFAULTS),
        sources=sources,
    )
