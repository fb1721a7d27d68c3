"""The durable-rules constraints of DESIGN.md, proven: sessions, memory, errors (threads: on every
case, in tests/test_fixtures.py, beside their sequential evaluations)."""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path

import pytest

from cds import cases, knowledge
from cds.engine import CriterionOutcome, EngineError, host
from cds.engine.compile import compile_ruleset
from cds.evaluate import read_input
from cds.facts import PatientFacts, build_facts
from cds.fhir.record import build_records

from .case_support import all_cases, routes


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _fixture_paths(folder: Path, therapy: str) -> list[Path]:
    """The test cases of a therapy's case file built into bundles (fixtures/cases)."""
    chosen = [case for case in all_cases().values() if case.ruleset == therapy]
    paths = cases.write(chosen, folder, routes())
    if not paths:
        pytest.skip("no test cases")
    return paths


def test_sequential_evaluations_leave_no_facts_behind_and_memory_stays_flat(tmp_path: Path) -> None:
    loaded = knowledge.default()
    # The cases of the ruleset whose engine runs: the facts it reads, in their variety.
    paths = _fixture_paths(tmp_path, "S9326")
    facts = [
        build_facts(r, dt.date(2026, 11, 22), list(loaded.rulesets.values()), loaded.classifier, loaded.valuesets)
        for p in paths for r in build_records(read_input(p))
    ]
    engine = loaded.engine(["S9326"])

    def run(f: PatientFacts) -> dict[str, CriterionOutcome]:
        return engine.run(f.engine_facts(["S9326"]), {}, {"as_of": "2026-11-22"}, lambda *_: "eligible")["S9326"].criteria

    first = [run(f) for f in facts]
    rss_after_warmup = 0
    for n in range(2000):
        index = n % len(facts)
        # The same facts give the same results however many evaluations came before.
        assert run(facts[index]) == first[index]
        assert all(host.leftover_facts(name) == [] for name in engine.names)
        if n == 499:
            rss_after_warmup = _rss_kib()
    growth = _rss_kib() - rss_after_warmup
    # 1,500 more evaluations: keeping any state per evaluation would show as megabytes.
    assert growth < 4 * 1024, f"RSS grew by {growth} KiB over 1,500 evaluations"


def test_an_exception_inside_a_rule_action_is_surfaced() -> None:
    loaded = knowledge.default()
    engine = loaded.engine(["S9363"])
    broken = {"t": "patient", "ref": "Patient/x", "age_years": 40}

    def explode(*_: object) -> str:
        raise RuntimeError("status callback failed")

    with pytest.raises(RuntimeError, match="status callback failed"):
        engine.run([broken], {}, {"as_of": "2026-11-22"}, explode)
    # The failed evaluation left nothing behind for the next one.
    outcome = engine.run([broken], {}, {"as_of": "2026-11-22"}, lambda *_: "eligible")["S9363"]
    assert outcome.criteria["S9363.age"].result == "met"


def test_an_exception_inside_an_action_is_raised_not_swallowed() -> None:
    def explode(c: object) -> None:
        raise ValueError("inside the action")

    host.register("test_raising_action", {"r": {"all": [{"m": {"t": "x"}}], "run": explode}})
    for _ in range(2):
        with pytest.raises(EngineError, match="inside the action"):
            with host.session("test_raising_action") as session:
                session.assert_fact({"t": "x"})
        assert host.leftover_facts("test_raising_action") == []


def test_a_second_load_of_the_same_rulesets_still_gets_its_matches(tmp_path: Path) -> None:
    # durable-rules registers a ruleset once per process, with the actions of the first load;
    # another load of the same files (a copy of the folder) must still see its rules fire.
    import shutil

    loaded = knowledge.default()
    copy = tmp_path / "rulesets"
    shutil.copytree(loaded.folder, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    again = knowledge.load(copy)
    path = _fixture_paths(tmp_path / "cases", "S9326")[0]
    [record] = build_records(read_input(path))
    day = dt.date(2026, 11, 22)
    for current in (again, loaded):
        facts = build_facts(record, day, list(current.rulesets.values()), current.classifier, current.valuesets)
        therapy = next(iter(current.rulesets))
        outcomes = current.engine([therapy]).run(facts.engine_facts([therapy]), {}, {"as_of": day.isoformat()},
                                                 lambda *_: "eligible")
        assert outcomes[therapy].matches, "no rule fired"


def test_a_finding_with_info_when_is_info_where_its_when_does_not_hold() -> None:
    """S9330.safety.dpyd: a warning before a first course, info on a continuing one (the page)."""
    import cds

    loaded = all_cases()
    severities = {}
    for name in ("S9330.safety.dpyd/first-course", "S9330.safety.dpyd/continuing-without-result-info"):
        case = loaded[name]
        result = cds.evaluate(cases.build(case, routes()), as_of=case.as_of, therapies=["S9330"])
        [finding] = [f for f in result.assessment("S9330").findings if f.id == "S9330.safety.dpyd"]
        severities[name] = finding.severity
    assert severities == {"S9330.safety.dpyd/first-course": "warning",
                          "S9330.safety.dpyd/continuing-without-result-info": "info"}


def test_a_therapy_choice_compiles_its_rules_once_into_one_engine() -> None:
    loaded = knowledge.default()
    first, second, *_ = loaded.rulesets
    chosen = loaded.engine([first])
    assert list(chosen.parts) == [first]
    assert loaded.engine([first]) is chosen
    # The order a choice is given in does not make another engine; every therapy is the default.
    assert loaded.engine([second, first]) is loaded.engine([first, second])
    assert list(loaded.engine().parts) == list(loaded.rulesets)


def test_therapies_in_shards_answer_as_one_ruleset(monkeypatch: pytest.MonkeyPatch) -> None:
    """durable-rules links at most 256 rules to one node (error 108): therapies are compiled in
    shards (cds/engine/run.py). One therapy per shard gives every assessment the default gives."""
    from cds.engine import run as engine_run
    from cds.evaluator import Evaluator
    from cds.fhir import read_document

    loaded = knowledge.default()
    evaluator = Evaluator(loaded)
    records = [r for c in all_cases().values() if c.ruleset in ("S9490", "S9330")
               for r in evaluator.records(read_document(cases.build(c, routes()), c.name))][:30]

    def assessed() -> list[dict[str, object]]:
        return [evaluator.assess(r, dt.date(2026, 11, 22)).result.model_dump() for r in records]

    default = assessed()
    monkeypatch.setattr(engine_run, "SHARD_SIZE", 1)
    key = tuple(loaded.rulesets)
    monkeypatch.setitem(loaded._engines, key, engine_run.Shards([(loaded.rulesets[t], loaded.parsed[t]) for t in key]))
    assert len(loaded.engine().engines) == len(key)
    assert assessed() == default


def test_no_pattern_node_of_the_shipped_rules_links_more_rules_than_durable_rules_allows() -> None:
    """durable-rules links one alpha node to at most 256 rules (BETA_LIST_LENGTH; more fails the
    registration with error 108): the context pattern that opens every rule holding a negation was
    one node shared by every therapy and failed once S9537 was added. Each pattern, as a whole,
    stands for one node here."""
    loaded = knowledge.default()
    uses: collections.Counter[str] = collections.Counter()
    for therapy, ruleset in loaded.rulesets.items():
        definition = compile_ruleset(ruleset, loaded.parsed[therapy], lambda key, n: lambda c: None)
        for rule in definition.values():
            for binding in rule["all"]:
                uses.update(json.dumps(p, sort_keys=True) for p in binding.values())
    worst, count = uses.most_common(1)[0]
    assert count <= 256, worst
