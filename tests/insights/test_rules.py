"""The knowledge base is valid, every rule is cited with a DOI we ship elsewhere, and the schema refuses bad rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tmescope._errors import InputError
from tmescope.insights import (
    DIRECTIONS,
    EVIDENCE_LEVELS,
    OPERATORS,
    STRATEGIES,
    builtin_rules_path,
    load_rules,
    validate_rules,
)

DATA = builtin_rules_path().parent
#: DOIs the knowledge base may cite: those of the signature library (checked citations) and the primer's facts.
_LIBRARY = json.loads((DATA.parent / "signatures" / "signatures.json").read_text(encoding="utf-8"))


def _library_dois() -> set[str]:
    found: set[str] = set()

    def walk(x: object) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "doi" and isinstance(v, str):
                    found.add(v)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(_LIBRARY)
    return found


def _clauses(cond: dict) -> list[dict]:
    (_, terms), *_ = cond.items()
    return [c for t in terms for c in (_clauses(t) if ("all" in t or "any" in t) else [t])]


def test_builtin_knowledge_base_is_valid():
    data = json.loads(builtin_rules_path().read_text(encoding="utf-8"))
    assert validate_rules(data) == []
    kb = load_rules()
    assert len(kb) == len(data["rules"]) >= 12
    assert set(kb.to_frame()["strategy"]) == set(STRATEGIES)  # every strategy class has at least one rule
    assert {"supports", "argues_against"} <= set(kb.to_frame()["direction"])


def test_every_rule_cites_at_least_one_known_doi():
    kb = load_rules()
    known = _library_dois()
    assert "10.1371/journal.pbio.3002406" in known  # Nazemi 2024, PLoS Biol 22:e3002406
    for rule in kb.rules:
        assert len(rule["citations"]) >= 1, rule["id"]
        for c in rule["citations"]:
            assert c["doi"] in known, f"{rule['id']} cites {c['doi']}, not among the library's checked citations"
            assert c["reference"].strip()


def test_schema_file_matches_the_validator():
    schema = json.loads((DATA / "schema.json").read_text(encoding="utf-8"))
    rule = schema["$defs"]["rule"]["properties"]
    assert rule["strategy"]["enum"] == list(STRATEGIES)
    assert rule["direction"]["enum"] == list(DIRECTIONS)
    assert rule["evidence_level"]["enum"] == list(EVIDENCE_LEVELS)
    assert schema["$defs"]["clause"]["properties"]["op"]["enum"] == list(OPERATORS)
    assert "citations" in schema["$defs"]["rule"]["required"]
    assert schema["$defs"]["rule"]["properties"]["citations"]["minItems"] == 1


def test_rule_features_exist_in_the_profile():
    from tmescope.profile import default_reference

    ref_features = set(default_reference().features.columns)
    for rule in load_rules().rules:
        for c in _clauses(rule["condition"]):
            if c["feature"].endswith(".label"):
                assert c["feature"] in {"subtype.label", "immune_phenotype.label"}
            else:
                assert c["feature"] in ref_features, f"{rule['id']}: {c['feature']} is not a profile feature"


def _doc(**rule_changes) -> dict:
    rule = {
        "id": "my_rule",
        "title": "t",
        "strategy": "metabolic_targeting",
        "direction": "supports",
        "evidence_level": "preclinical",
        "condition": {"all": [{"feature": "composition.cd8_t", "op": ">=", "percentile": 75}]},
        "citations": [{"reference": "Nazemi et al. 2024", "doi": "10.1371/journal.pbio.3002406"}],
    }
    rule.update(rule_changes)
    return {"name": "mine", "version": "1", "rules": [rule]}


def test_a_rule_without_citation_is_refused(tmp_path: Path):
    assert validate_rules(_doc()) == []
    errors = validate_rules(_doc(citations=[]))
    assert len(errors) == 1
    assert "at least one citation" in errors[0]
    doc = _doc()
    del doc["rules"][0]["citations"]
    assert "missing required key(s) ['citations']" in validate_rules(doc)[0]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_doc(citations=[{"reference": "x", "doi": "not-a-doi"}])), encoding="utf-8")
    with pytest.raises(
        InputError, match=r"r\.json does not follow the insights schema:\n.*needs 'reference' and a DOI"
    ):
        load_rules(path)


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ({"feature": "composition.cd8_t", "op": "eval", "value": 1}, "'op' must be one of"),
        ({"feature": "composition.cd8_t", "op": ">=", "value": 1, "percentile": 5}, "exactly one of"),
        ({"feature": "composition.cd8_t", "op": "==", "percentile": 5}, "needs op '>=' or '<='"),
        ({"feature": "CD8", "op": ">=", "value": 1}, "dotted lower-case"),
        ({"feature": "subtype.label", "op": "in", "value": "IE"}, "non-empty list"),
        ({"feature": "subtype.label", "op": ">=", "value": "IE"}, "compares numbers"),
        ({"feature": "composition.cd8_t", "op": ">=", "percentile": 150}, "from 0 to 100"),
        ({"feature": "composition.cd8_t", "op": ">=", "value": 1, "code": "x"}, "unknown clause key"),
    ],
)
def test_bad_clauses_are_named(clause: dict, message: str):
    errors = validate_rules(_doc(condition={"all": [clause]}))
    assert any(message in e for e in errors), errors
    assert all("rules[0] (my_rule).condition.all[0]" in e for e in errors)


def test_bad_rule_fields():
    assert "'strategy' must be one of" in validate_rules(_doc(strategy="chemo"))[0]
    assert "'direction' must be one of" in validate_rules(_doc(direction="maybe"))[0]
    assert "'id' must match" in validate_rules(_doc(id="Bad-Id"))[0]
    assert "'id' must match" in validate_rules(_doc(id="strategy"))[0]
    assert "one key, 'all' or 'any'" in validate_rules(_doc(condition={"none": []}))[0]
    assert "must be a JSON object" in validate_rules([1])[0]


def test_user_rules_are_added_and_ids_stay_unique(tmp_path: Path):
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps(_doc()), encoding="utf-8")
    kb = load_rules(mine)
    assert kb.rules[-1]["id"] == "my_rule"
    assert kb.sources["my_rule"] == str(mine)
    assert len(load_rules(mine, builtin=False)) == 1
    clash = tmp_path / "clash.json"
    clash.write_text(json.dumps(_doc(id="icb_depleted_subtype")), encoding="utf-8")
    with pytest.raises(InputError, match=r"'icb_depleted_subtype' of .*clash\.json is already defined in builtin"):
        load_rules(clash)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="is not valid JSON"):
        load_rules(broken)
    with pytest.raises(InputError, match="does not exist"):
        load_rules(tmp_path / "absent.json")
    with pytest.raises(InputError, match="No rules to load"):
        load_rules(builtin=False)
