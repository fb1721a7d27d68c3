"""The synthetic corpus: deterministic, of the asked size, and each patient as its scenario says."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import cds
from cds import knowledge
from cds import synth
from cds.cli import main
from tests.test_fixtures import reachable

KNOWLEDGE = knowledge.default()


def test_same_seed_same_corpus_other_seed_other_corpus() -> None:
    first = [r for _, r in synth.generate(5, KNOWLEDGE, size=40, seed=11)]
    again = [r for _, r in synth.generate(5, KNOWLEDGE, size=40, seed=11)]
    other = [r for _, r in synth.generate(5, KNOWLEDGE, size=40, seed=12)]
    assert first == again and first != other


def test_each_patient_has_the_asked_size_and_realistic_shape() -> None:
    for _, resources in synth.generate(10, KNOWLEDGE, size=250, seed=1):
        kinds = Counter(r["resourceType"] for r in resources)
        assert len(resources) == 250
        assert kinds["Patient"] == 1 and kinds["Observation"] > 100 and kinds["Encounter"] > 5
        systems = {c["system"] for r in resources if r["resourceType"] == "Condition" for c in r["code"]["coding"]}
        assert systems <= {"http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct"}


def test_every_scenario_gets_the_status_it_expects() -> None:
    scenarios = synth.Scenarios.load()
    seen: Counter[str] = Counter()
    for scenario, resources in synth.generate(len(scenarios.scenarios) * 2, KNOWLEDGE, size=30, seed=5):
        result = cds.evaluate(resources, as_of="2026-11-22")
        got = {a.therapy: a.status for a in result.assessments}
        assert {t: got[t] for t in scenario.expect} == scenario.expect, scenario.id
        seen.update(scenario.expect.values())
    # The corpus reaches every status.
    assert set(seen) == {"eligible", "needs-review", "insufficient-information", "not-eligible"}


def test_the_corpus_has_a_scenario_for_every_ruleset_and_status() -> None:
    # Drawn from the test cases, so benchmarks and batch audits exercise every ruleset.
    # A ruleset reaches the statuses its fixed rules leave (tests/test_fixtures.py `reachable`).
    covered = {(t, s) for scenario in synth.Scenarios.load().scenarios for t, s in scenario.expect.items()}
    assert {(t, s) for t in knowledge.default().rulesets for s in reachable(t)} <= covered


def test_cli_writes_bundles_and_an_ndjson_export(tmp_path: Path) -> None:
    assert main(["synth", "--patients", "4", "--size", "20", "--seed", "2", "--out", str(tmp_path / "b")]) == 0
    assert main(["synth", "--patients", "4", "--size", "20", "--seed", "2", "--format", "ndjson",
                 "--out", str(tmp_path / "n")]) == 0
    bundles = sorted((tmp_path / "b").glob("*.json"))
    assert len(bundles) == 4 and all(len(json.loads(p.read_text())["entry"]) == 20 for p in bundles)
    from_bundles = {r.patient: r.to_json() for r in cds.evaluate_all(tmp_path / "b", as_of="2026-11-22")}
    from_export = {r.patient: r.to_json() for r in cds.evaluate_all(tmp_path / "n", as_of="2026-11-22")}
    assert from_bundles == from_export and len(from_export) == 4
