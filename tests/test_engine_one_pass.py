"""Issue 19 item 1: every therapy's rules in one engine pass give the assessments that one
session per ruleset gave, on every case of fixtures/cases (all therapies, and a --therapy choice)."""

from __future__ import annotations

import orjson
import pytest

from cds import cases, knowledge
from cds.evaluate import assess_facts, assess_facts_per_ruleset, patient_records, read_input


def _assessments(every: bool) -> list[tuple[str, str, str]]:
    """(case, one pass, per ruleset) as JSON, for every case; `every`: all therapies, else the
    case's own therapy with the one after it (a --therapy choice of two)."""
    loaded = knowledge.default()
    routes = cases.route_codes(loaded.terminology.routes.snomed)
    names = list(loaded.rulesets)
    found = []
    for name, case in cases.load().items():
        [record] = patient_records(read_input(cases.build(case, routes)))
        facts = loaded.facts(record, case.as_of)
        if every:
            chosen = names
        else:
            index = names.index(case.ruleset) if case.ruleset in names else 0
            chosen = [names[(index + 1) % len(names)], names[index]]
        pair = [orjson.dumps(run(facts, case.as_of, chosen).to_json(), option=orjson.OPT_SORT_KEYS).decode()
                for run in (assess_facts, assess_facts_per_ruleset)]
        found.append((name, *pair))
    return found


@pytest.mark.parametrize("every", [True, False], ids=["every-therapy", "therapy-choice"])
def test_one_engine_pass_gives_the_assessments_of_one_session_per_ruleset(every: bool) -> None:
    compared = _assessments(every)
    assert compared, "no test cases"
    differing = [name for name, one_pass, per_ruleset in compared if one_pass != per_ruleset]
    assert not differing, f"{len(differing)} of {len(compared)} cases differ, first: {differing[:5]}"


def test_a_therapy_choice_compiles_its_rules_once() -> None:
    loaded = knowledge.default()
    first, *rest = loaded.rulesets
    chosen = loaded.engine([first])
    assert list(chosen.parts) == [first]
    assert loaded.engine([first]) is chosen
    # The order a choice is given in does not make another engine.
    if rest:
        assert loaded.engine([rest[0], first]) is loaded.engine([first, rest[0]])
    assert list(loaded.engine().parts) == list(loaded.rulesets)
