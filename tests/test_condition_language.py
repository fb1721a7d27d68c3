"""The terms of the condition language that no shipped ruleset uses yet, case by case.

tests/language/S9998.yaml does the same for the text terms (a condition known only by its
text; observations named by text, with a value as text, a method, units; a baseline before the
first request of a drug class and the change from it), with its cases in
tests/language/cases/S9998.yaml.

tests/language/S9999.yaml is a test ruleset with one criterion per such term (observations in
a window with units and coded answers, procedures and "no procedure at all", counts of drug
classes, windows before the order, the order's interval and daily volume, billing codes picked
from the order); tests/language/cases/S9999.yaml holds its cases with their expected results.
The ruleset runs from a copy of rulesets/ (CDS_RULESETS), as a deployment's own would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cds
from cds import cases as case_files
from cds.knowledge import default, load

HERE = Path(__file__).resolve().parent / "language"
RULESETS = ("S9999", "S9998")
CASES = {c.name: c for r in RULESETS for c in case_files.load_file(HERE / "cases" / f"{r}.yaml")}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("language") / "rulesets"
    shutil.copytree(default().folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    for path in (HERE / "valuesets").glob("*.json"):
        shutil.copy(path, target / "valuesets" / path.name)
    for ruleset in RULESETS:
        shutil.copy(HERE / f"{ruleset}.yaml", target / f"{ruleset}.yaml")
    return target


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_RULESETS", str(folder))
    case = CASES[name]
    routes = case_files.route_codes(default().terminology.routes.snomed)
    therapy = case.ruleset
    result = cds.evaluate(case_files.build(case, routes), as_of=case.as_of, therapies=[therapy])
    expected: dict[str, Any] = case.expect[therapy]
    assessment = result.assessment(therapy)
    got = {c.id: c.result for c in assessment.criteria}
    assert got == expected["criteria"], case.description
    for criterion, category in expected.get("categories", {}).items():
        assert next(c.category for c in assessment.criteria if c.id == criterion) == category
    if "status" in expected:
        assert assessment.status == expected["status"]
    if "billing" in expected:
        assert assessment.billing.code == expected["billing"]
    for note in expected.get("billing_notes", []):
        assert note in assessment.billing.notes
    for warning in expected.get("warnings", []):
        assert any(warning in w for w in result.warnings), result.warnings
    if expected.get("no_warnings"):
        assert result.warnings == []
    reasons = [c.reason for c in assessment.criteria]
    assert not [r for r in reasons if "{" in r or "}" in r]


@pytest.mark.parametrize("therapy", RULESETS)
def test_every_branch_of_the_test_ruleset_has_a_case(folder: Path, therapy: str) -> None:
    ruleset = load(folder).rulesets[therapy]
    subjects = {name.split("/")[0] for name in CASES}
    assert {c.id for c in ruleset.criteria if c.kind != "indication"} <= subjects


def _check(folder: Path) -> subprocess.CompletedProcess[str]:
    """`cds rulesets check` on a rulesets folder, as a deployment would run it."""
    return subprocess.run([sys.executable, "-m", "cds.cli", "rulesets", "check"], capture_output=True, text=True,
                          env={**os.environ, "CDS_RULESETS": str(folder)}, check=False)


@pytest.mark.parametrize(("change", "message"), [
    ("in: [test-ferritin], within_days: 90, pick: max, value: {gt: 1000, unit: ng/mL}",
     "unknown unit"),
    ("in: [test-ferriten], within_days: 90, pick: max, value: {gt: 1000, unit: ng/mL}",
     "unknown ['test-ferriten']"),
    ("in: [test-ferritin], within_days: 90, loss_percent: {gt: 5, unit: ng/mL}",
     "loss_percent: needs baseline_days"),
    ("in: [test-ferritin], within_days: 90, loss_percent: {gt: 5, baseline_days: 30}",
     "loss_percent: needs the unit"),
    ("in: [test-ferritin], within_days: 90, value: {gt: 1, unit: ng/mL}, loss_percent: {gt: 5, baseline_days: 30, unit: ng/mL}",
     "value and loss_percent compare different things"),
])
def test_load_errors_name_file_and_line(folder: Path, tmp_path: Path, change: str, message: str) -> None:
    broken = tmp_path / "rulesets"
    shutil.copytree(folder, broken)
    text = (broken / "S9999.yaml").read_text(encoding="utf-8")
    original = "in: [test-ferritin], within_days: 90, pick: max, value: {gt: 1000, unit: ng/mL}"
    replaced = change.replace("ng/mL", "furlongs/fortnight") if message == "unknown unit" else change
    (broken / "S9999.yaml").write_text(text.replace(original, replaced, 1), encoding="utf-8")
    done = _check(broken)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "S9999.yaml: line" in done.stderr and message in done.stderr


def test_a_routing_block_that_claims_nothing_is_a_load_error(folder: Path, tmp_path: Path) -> None:
    broken = tmp_path / "rulesets"
    shutil.copytree(folder, broken)
    text = (broken / "S9999.yaml").read_text(encoding="utf-8")
    (broken / "S9999.yaml").write_text(
        text.replace("    - {classes: [opioid], route_classes: [parenteral]}", "    - {route_classes: [parenteral]}"),
        encoding="utf-8")
    done = _check(broken)
    assert done.returncode == 2 and "S9999.yaml: line" in done.stderr and "claims nothing" in done.stderr


@pytest.mark.parametrize(("original", "change", "message"), [
    ("before: {first_request: opioid}, within_days: 60, value: {gt: 1000",
     "before: {first_request: opiod}, within_days: 60, value: {gt: 1000", "unknown ['opiod']"),
    ("within_days: 365, units: [umol/L]", "within_days: 365, units: [furlongs]", "unknown unit(s) ['furlongs']"),
    ('condition: {text: ["chronic pain"]', 'condition: {text: ["--"]', "a list of phrases"),
    ('value_text: {matches: ["mm", "mz"]}', 'value_text: ["mm", "mz"]', "value_text: expects a mapping"),
])
def test_text_term_load_errors_name_file_and_line(folder: Path, tmp_path: Path, original: str, change: str,
                                                  message: str) -> None:
    broken = tmp_path / "rulesets"
    shutil.copytree(folder, broken)
    text = (broken / "S9998.yaml").read_text(encoding="utf-8")
    assert original in text
    (broken / "S9998.yaml").write_text(text.replace(original, change, 1), encoding="utf-8")
    done = _check(broken)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "S9998.yaml: line" in done.stderr and message in done.stderr, done.stderr


def test_text_terms_in_words(folder: Path) -> None:
    """The catalog says what the text terms read, phrases quoted."""
    from cds.catalog.words import describe
    from cds.conditions import parse_ruleset
    knowledge = load(folder)
    parsed = parse_ruleset(knowledge.rulesets["S9998"], knowledge.terminology, knowledge.valuesets)
    said = {c.key: describe(c.node).plain() for c in parsed.clauses}
    assert 'whose name (code text or display) contains "chronic pain"' in said["c|S9998.indication|0"]
    assert "with no code in chronic-pain" in said["c|S9998.indication|0"]
    assert "within 60 days before the start of the first opioid request in the history" in said["c|S9998.baseline|0"]
    assert "on or before the start of the first opioid request" in said["c|S9998.baseline|2"]
    assert 'its value as text containing "zz" or "z null"' in said["c|S9998.phenotype|0"]
    assert 'recorded in mg/dL' in said["c|S9998.level|1"]
    assert 'its method containing "radial immunodiffusion"' in said["c|S9998.level|1"]
