"""The terms of the condition language that no shipped ruleset uses yet, case by case.

tests/language/S9998.yaml does the same for the text terms (a condition known only by its
text; observations named by text, with a value as text, a method, units; a baseline before the
first request of a drug class and the change from it), with its cases in
tests/language/cases/S9998.yaml.

tests/language/S9999.yaml is a test ruleset with one criterion per such term (observations in
a window with units and coded answers, procedures and "no procedure at all", counts of drug
classes, windows before the order, the order's interval and daily volume, billing codes picked
from the order); tests/language/cases/S9999.yaml holds its cases with their expected results.
The ruleset runs from a copy of rulesets/ handed to cds.evaluate, as a deployment's own would be.
The routing keys and terms that read several entries at once (every ingredient of some classes,
a strength limit, a bag beside another therapy's order, a same-day ratio of two observations, a
measure summed over a therapy's orders, an order's planned duration) are shown at the end with
the shipped rulesets.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import cds
from cds import cases as case_files
from cds.knowledge import cached, default, load
from tests.test_fixtures import _cited

from .cli_support import Ran, run_cds

HERE = Path(__file__).resolve().parent / "language"
RULESETS = ("S9999", "S9998", "S9997", "S9993", "S9996", "S9995", "S9990", "S9991", "S9988", "S9961")
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
def test_case(name: str, folder: Path) -> None:
    case = CASES[name]
    loaded = cached(folder)
    routes = case_files.route_codes(loaded.terminology.routes.snomed)
    therapy = case.ruleset
    result = cds.evaluate(case_files.build(case, routes), as_of=case.as_of, therapies=[therapy], knowledge=loaded)
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
    # The evidence each criterion cites and what its reason says, as fixtures/cases state them.
    assert _cited(name, expected, assessment) == []


@pytest.mark.parametrize("therapy", RULESETS)
def test_every_branch_of_the_test_ruleset_has_a_case(folder: Path, therapy: str) -> None:
    ruleset = load(folder).rulesets[therapy]
    subjects = {name.split("/")[0] for name in CASES}
    assert {c.id for c in ruleset.criteria if c.kind != "indication"} <= subjects


def _check(folder: Path) -> Ran:
    """`cds rulesets check` on a rulesets folder, as a deployment would run it."""
    return run_cds("rulesets", "check", env={"CDS_RULESETS": str(folder)})


@pytest.mark.parametrize(("change", "message"), [
    ("in: [test-ferritin], within_days: 90, pick: max, value: {gt: 1000, unit: ng/mL}",
     "unknown unit"),
    ("in: [test-ferriten], within_days: 90, pick: max, value: {gt: 1000, unit: ng/mL}",
     "unknown ['test-ferriten']"),
    ("in: [test-ferritin], within_days: 90, loss_percent: {gt: 5, unit: ng/mL}",
     "loss_percent: needs baseline_days"),
    ("in: [test-ferritin], within_days: 90, pick: any, value: {gt: 1000, unit: ng/mL}",
     "pick: any reads the flags of every observation"),
    ("in: [test-ferritin], within_days: 90, loss_percent: {gt: 5, baseline_days: 30}",
     "loss_percent: needs the unit"),
    ("in: [test-ferritin], within_days: 90, value: {gt: 1, unit: ng/mL}, loss_percent: {gt: 5, baseline_days: 30, unit: ng/mL}",
     "value and loss_percent compare different things"),
    # A baseline's excluded classes are drug classes; a reference-range check is only ever true.
    ("in: [test-ferritin], before: {first_request: opioid, not_class: [opiod]}, pick: max, value: {gt: 1000, unit: ng/mL}",
     "unknown ['opiod']"),
    ("in: [test-ferritin], before: {first_request: opioid, but_not: [meperidine]}, pick: max, value: {gt: 1000, unit: ng/mL}",
     "unknown key(s) ['but_not']"),
    ("in: [test-ferritin], within_days: 90, pick: max, value: {gt: 1000, unit: ng/mL}, below_reference_low: false",
     "below_reference_low: only true"),
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


@pytest.mark.parametrize(("change", "message"), [
    ("{in: [intrathecal-pump-implantaton], not_followed_by: &pump-removal", "unknown value set intrathecal-pump-implantaton"),
    ("{in: [intrathecal-pump-implantation], within_days: -1, not_followed_by: &pump-removal", "greater than or equal to 0"),
])
def test_a_claim_on_the_record_names_known_value_sets(folder: Path, tmp_path: Path, change: str, message: str) -> None:
    """S9328's claim reads the record's Procedures (an implanted pump): its value sets must exist."""
    broken = tmp_path / "rulesets"
    shutil.copytree(folder, broken)
    text = (broken / "S9328.yaml").read_text(encoding="utf-8")
    original = "{in: [intrathecal-pump-implantation], not_followed_by: &pump-removal"
    assert original in text
    (broken / "S9328.yaml").write_text(text.replace(original, change, 1), encoding="utf-8")
    done = _check(broken)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "S9328.yaml" in done.stderr and message in done.stderr, done.stderr


@pytest.mark.parametrize(("file", "original", "change", "message"), [
    # A removal is named by value sets or phrases; the sets must exist.
    ("S9494", "not_followed_by: {in: [central-line-removal]}", "not_followed_by: {in: [central-line-remova]}",
     "unknown ['central-line-remova']"),
    ("S9494", "not_followed_by: {in: [central-line-removal]}", "not_followed_by: {}", "needs in (value sets) or text"),
    # A cancelled or entered-in-error request counts nowhere: a term cannot ask for one.
    ("S9363", "class: [botulinum-toxin], status: [stopped]", "class: [botulinum-toxin], status: [cancelled]",
     "unknown ['cancelled']"),
    # A claim's context (criteria README "Context") names value sets that exist, and something.
    ("S9995", "context: [{reasons: [cancer-related-pain]}, {pregnancy: [test-pregnancy]}]",
     "context: [{reasons: [cancer-related-pian]}, {pregnancy: [test-pregnancy]}]", "unknown value set cancer-related-pian"),
    ("S9995", "context: [{reasons: [cancer-related-pain]}, {pregnancy: [test-pregnancy]}]",
     "context: [{reasons: [cancer-related-pain]}, {pregnancy: [test-pregnancy]}, {}]", "a context names nothing"),
    ("S9995", "context: [{reasons: [cancer-related-pain]}, {pregnancy: [test-pregnancy]}]",
     "context: [{reasons: [cancer-related-pain]}, {pregnant: [test-pregnancy]}]", "pregnant"),
])
def test_history_removal_and_context_load_errors(folder: Path, tmp_path: Path, file: str, original: str, change: str,
                                         message: str) -> None:
    broken = tmp_path / "rulesets"
    shutil.copytree(folder, broken)
    text = (broken / f"{file}.yaml").read_text(encoding="utf-8")
    assert original in text
    (broken / f"{file}.yaml").write_text(text.replace(original, change, 1), encoding="utf-8")
    done = _check(broken)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{file}.yaml: line" in done.stderr and message in done.stderr, done.stderr


@pytest.mark.parametrize(("original", "change", "message"), [
    ("before: {first_request: opioid}, within_days: 60, value: {gt: 1000",
     "before: {first_request: opiod}, within_days: 60, value: {gt: 1000", "unknown ['opiod']"),
    ("within_days: 365, units: [umol/L]", "within_days: 365, units: [furlongs]", "unknown unit(s) ['furlongs']"),
    ('condition: {text: ["chronic pain"]', 'condition: {text: ["--"]', "a list of phrases"),
    ('value_text: {matches: ["mm", "mz"]}', 'value_text: ["mm", "mz"]', "value_text: expects a mapping"),
    ("from_baseline: {first_request: opioid, change: {lt: 0, unit: ng/mL}}",
     "from_baseline: {first_request: opioid, change: {lt: 0}}", "from_baseline.change: needs the unit"),
])
def test_text_term_load_errors_name_file_and_line(folder: Path, tmp_path: Path, original: str, change: str,
                                                  message: str) -> None:
    _refused(folder, tmp_path, "S9998.yaml", original, change, message)


def _refused(folder: Path, tmp_path: Path, name: str, original: str, change: str, message: str) -> None:
    """`cds rulesets check` refuses a copy of the folder with one file changed, naming file and line."""
    broken = tmp_path / "rulesets"
    shutil.copytree(folder, broken)
    text = (broken / name).read_text(encoding="utf-8")
    assert original in text
    (broken / name).write_text(text.replace(original, change, 1), encoding="utf-8")
    done = _check(broken)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{name}: line" in done.stderr and message in done.stderr, done.stderr


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
    assert 'its value as text or its interpretation containing "zz" or "z null"' in said["c|S9998.phenotype|0"]
    assert 'recorded in mg/dL' in said["c|S9998.level|1"]
    assert 'its method containing "radial immunodiffusion"' in said["c|S9998.level|1"]


# Routing claims and terms read over several entries: every ingredient of some classes, a
# strength limit, a bag beside another therapy's order, a ratio of two observations measured the
# same day, a measure summed over a therapy's orders, a request's planned duration. Shown with the
# shipped terminology and rulesets, as a deployment's own ruleset would use them.

def _drug(name: str) -> Any:
    knowledge_ = default()
    drug = knowledge_.classifier.classify([], name, [], None)
    return type("Order", (), {"classes": {c: True for c in drug.classes}, "ingredients": drug.ingredients,
                              "route": drug.route, "route_class": drug.route_class, "delivery": "unknown",
                              "other_words": drug.other_words, "strengths": drug.strengths,
                              "units_per_ml": drug.units_per_ml, "container_ml": drug.pack_ml, "dosage_texts": [],
                              "dose_mg": None})()


def _claim(**keys: Any) -> Any:
    from cds.ruleset import Claim
    claim = Claim(**keys)
    claim.bind_names(default().terminology.drug_classes)
    return claim


@pytest.mark.parametrize(("name", "held"), [
    ("1000 ML sodium chloride 9 MG/ML Injection", True),
    ("Dextrose 5% and 0.45% Sodium Chloride with potassium chloride 20 mEq Injection", True),
    ("Lactated Ringer's Injection", True),
    ("milrinone lactate 0.2 MG/ML in Dextrose 5% Injection", False),     # an ingredient of another class
    ("heparin sodium 2 UNT/ML in sodium chloride 0.9% Injection", False),  # idem
    ("sodium bicarbonate 50 MEQ in sodium chloride 0.45%", False),        # a word no class names
    ("Sodium Chloride 0.9% Flush", False),
    ("0.9% Sodium Chloride Injection, USP in VIAFLEX Plastic Container", True),  # container words
    ("sodium chloride 9 MG/ML Injectable Solution [Baxter NS]", True),          # a bracketed brand
    ("magnesium chloride 0.3 MG/ML / sodium acetate 3.7 MG/ML / sodium chloride 5.26 MG/ML Injectable Solution "
     "[Plasma-Lyte A]", False),
])
def test_only_classes_claims_a_drug_whose_every_ingredient_is_of_the_classes(name: str, held: bool) -> None:
    from cds.routing import claims
    claim = _claim(classes=["hydration-fluid"], only_classes=["hydration-fluid", "hydration-additive"])
    assert claims(claim, _drug(name)) is held


@pytest.mark.parametrize(("name", "held"), [
    ("dextrose 100 MG/ML Injectable Solution", True),   # 10%
    ("Dextrose 10% Injection", True),
    ("dextrose in water Injection", True),              # no strength stated
    ("Dextrose 50% Injection", False),
    ("dextrose 500 MG/ML Injectable Solution", False),  # 50%
    ("12.5% dextrose injection", False),
])
def test_percent_at_most_reads_the_strength_next_to_the_ingredient(name: str, held: bool) -> None:
    from cds.routing import claims
    assert claims(_claim(classes=["dextrose"], percent_at_most={"dextrose": 10}), _drug(name)) is held


# terminology.yaml class_precedence (S9345.md Order routing): a drug holds one class of the group.
_FACTORS = ["apcc", "fviii-porcine", "fviii-vwf", "vwf", "rfviia", "prothrombin-complex", "fix", "rare-factor", "fviii"]


@pytest.mark.parametrize(("name", "held"), [
    ("FEIBA anti-inhibitor coagulant complex 1000 UNT Injection", "apcc"),
    ("factor VIII inhibitor bypassing activity", "apcc"),                   # holds "factor VIII" too
    ("Humate-P antihemophilic factor/von Willebrand factor complex", "fviii-vwf"),
    ("von Willebrand factor (recombinant) [Vonvendi]", "vwf"),
    ("Obizur antihemophilic factor (recombinant)", "fviii-porcine"),       # the brand decides
    ("Kcentra prothrombin complex concentrate (human)", "prothrombin-complex"),
    ("prothrombin complex concentrate, factor IX complex", "prothrombin-complex"),  # not fix
    ("Profilnine factor IX complex", "fix"),
    ("coagulation factor X (human) [Coagadex]", "rare-factor"),
    ("coagulation factor VIIa (recombinant)", "rfviia"),
    ("Advate antihemophilic factor (recombinant)", "fviii"),
])
def test_class_precedence_keeps_one_class_brand_first_then_most_specific(name: str, held: str) -> None:
    assert [c for c in _drug(name).classes if c in _FACTORS] == [held]


def _bundle(order: dict[str, Any] | None, *drafts: dict[str, Any], observations: list[dict[str, Any]] = (),
            raw: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """A dehydrated adult's record: the order, other drafts of the same request, observations."""
    import datetime as dt
    record: dict[str, Any] = {"patient": {"birthDate": "1960-01-01"},
                              "conditions": [{"code": "icd10:E86.0", "display": "Dehydration"}],
                              "medications": [{**d, "status": "draft"} for d in drafts],
                              "observations": list(observations), "raw": list(raw)}
    if order is not None:
        record["order"] = order
    case = case_files.Case(name="S9373.x/y", ruleset="S9373", description="d", as_of=dt.date(2026, 11, 22),
                           record=record, expect={})
    return case_files.build(case, case_files.route_codes(default().terminology.routes.snomed))


_NS = {"drug": "sodium chloride 0.9% 100 mL Injection", "route": "intravenous", "dose": "100 mL", "frequency": 1,
       "period": "1 d", "start": "2026-11-22", "end": "2026-11-29"}
_CEFTRIAXONE = {"drug": "ceftriaxone 2 GM Injection", "route": "intravenous", "dose": "2 g", "frequency": 1,
                "period": "1 d"}
_PN = {"drug": "Clinimix E 4.25/10 amino acids in dextrose", "route": "intravenous", "dose": "1500 mL",
       "frequency": 1, "period": "1 d"}


def _result(bundle: dict[str, Any], criterion: str) -> str:
    therapy = criterion.split(".")[0]
    assessment = cds.evaluate(bundle, as_of="2026-11-22").assessment(therapy)
    return next(c.result for c in assessment.criteria if c.id == criterion)


def test_a_bag_beside_another_therapys_order_is_its_diluent_but_not_beside_an_allowed_one() -> None:
    assert _result(_bundle(_NS), "S9373.infusion-order") == "met"
    assert _result(_bundle(_NS, _CEFTRIAXONE), "S9373.infusion-order") == "not-applicable"
    assert _result(_bundle(_NS, _CEFTRIAXONE), "S9494.infusion-order") == "met"
    assert _result(_bundle(_NS, _PN), "S9373.infusion-order") == "met"
    # Beside a service request another therapy bills (the antibiotic per diem), too.
    service = {"service": "S9494", "display": "Home infusion therapy, antibiotic, per diem"}
    assert _result(_bundle(service, _NS), "S9373.infusion-order") == "not-applicable"
    assert _result(_bundle({**service, "service": "S9374"}, _NS), "S9373.infusion-order") == "met"


def test_order_select_judges_the_selected_bag_beside_the_drafts_not_selected() -> None:
    from cds.evaluator import Evaluator
    from cds.fhir import read_document
    evaluator = Evaluator(default())
    bundle = _bundle(_NS, _CEFTRIAXONE)
    [record] = evaluator.records(read_document(bundle, "test"))
    bag = next(ref for ref, _ in record.medication_requests if ref.endswith("-order"))
    import datetime as dt
    evaluation = evaluator.assess(record, dt.date(2026, 11, 22), orders={bag})
    assert "S9373" not in evaluation.claimed


@pytest.mark.parametrize(("old", "new", "message"), [
    ("classes: [anti-emetic, corticosteroid", "classes: [anti-emetc, corticosteroid", "unknown drug class anti-emetc"),
    ("{therapies: [S9494], ingredients: [amphotericin b]}", "{therapies: [S9494], ingredients: [amphoterrible]}",
     "unknown ingredient or brand amphoterrible"),
    ("with:\n      - {therapies: [S9538]}", "with:\n      - {therapies: [transfusion]}", "transfusion is not a therapy id"),
])
def test_an_adjunct_list_naming_what_is_unknown_is_a_load_error(folder: Path, tmp_path: Path, old: str, new: str,
                                                               message: str) -> None:
    _refused(folder, tmp_path, "routing.yaml", old, new, message)


def test_an_adjunct_is_answered_for_by_the_therapy_it_serves_and_only_with_that_order() -> None:
    """criteria README "Adjunct orders": the diluent bag beside an antibiotic is the antibiotic's,
    so the antibiotic's assessment (its card) answers for it; selected alone, it serves no order
    under evaluation and nothing is assessed (no hydration card either)."""
    import datetime as dt
    from cds.evaluator import Evaluator
    from cds.fhir import read_document
    evaluator = Evaluator(default())
    [record] = evaluator.records(read_document(_bundle(_NS, _CEFTRIAXONE), "test"))
    bag = next(ref for ref, _ in record.medication_requests if ref.endswith("-order"))
    drug = next(ref for ref, _ in record.medication_requests if ref.endswith("-m1"))
    both = evaluator.assess(record, dt.date(2026, 11, 22), orders={bag, drug})
    assert both.claimed == {"S9494": {bag, drug}}
    assert evaluator.assess(record, dt.date(2026, 11, 22), orders={bag}).result is None


@pytest.mark.parametrize(("name", "result"), [("S9996.beside/unclaimed-draft", "not-met"),
                                              ("S9996.beside/active-history", "not-met"),
                                              ("S9996.beside/alone", "met")])
def test_order_select_reads_the_drafts_not_selected_as_other_orders_never_as_history(
        folder: Path, name: str, result: str) -> None:
    # criteria README "Other pages' orders": the apixaban drafted beside the selected opioid is
    # another order of the call though order-select evaluates only the selection.
    import datetime as dt
    from cds.evaluator import Evaluator
    from cds.fhir import read_document
    loaded = cached(folder)
    evaluator = Evaluator(loaded)
    bundle = case_files.build(CASES[name], case_files.route_codes(loaded.terminology.routes.snomed))
    [record] = evaluator.records(read_document(bundle, "test"))
    opioid = next(ref for ref, _ in record.medication_requests if ref.endswith("-order"))
    evaluation = evaluator.assess(record, dt.date(2026, 11, 22), orders={opioid}, therapies=["S9996"])
    assert evaluation.claimed["S9996"] == {opioid}
    assert evaluation.result is not None
    beside = next(c for c in evaluation.result.assessment("S9996").criteria if c.id == "S9996.beside")
    assert beside.result == result


def test_observation_ratio_reads_the_latest_same_day_pair_and_refuses_an_unknown_unit() -> None:
    bun = {"loinc": "3094-0", "display": "Urea nitrogen"}
    creatinine = {"loinc": "2160-0", "display": "Creatinine"}
    same_day = [{**bun, "value": "30 mg/dL", "date": "2026-11-20"}, {**creatinine, "value": "1.0 mg/dL", "date": "2026-11-20"}]
    assert _result(_bundle(None, observations=same_day), "S9373.indication") == "met"
    later_day_low = same_day + [{**bun, "value": "10 mg/dL", "date": "2026-11-21"},
                                {**creatinine, "value": "1.0 mg/dL", "date": "2026-11-21"}]
    bundle = _bundle(None, observations=later_day_low)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Condition"]
    assert _result(bundle, "S9373.indication") == "not-met"
    urea_mmol = [{**bun, "value": "10 mmol/L", "date": "2026-11-20"}, {**creatinine, "value": "0.5 mg/dL", "date": "2026-11-20"}]
    bundle = _bundle(None, observations=urea_mmol)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Condition"]
    result = cds.evaluate(bundle, as_of="2026-11-22")
    assert next(c.result for c in result.assessment("S9373").criteria if c.id == "S9373.indication") == "not-met"
    assert any("cannot be compared with mg/dL" in w for w in result.warnings)


def test_orders_total_sums_the_therapys_orders_and_cannot_be_told_when_one_does_not_tell() -> None:
    litre = {**_NS, "drug": "sodium chloride 0.9% Injection", "dose": "1000 mL"}
    half = {**_NS, "drug": "Dextrose 5% in water Injection", "dose": "500 mL"}
    assert cds.evaluate(_bundle(litre, half), as_of="2026-11-22").assessment("S9373").billing.code == "S9375"
    untold = {**half, "dose": "1 bag"}
    assessment = cds.evaluate(_bundle(litre, untold), as_of="2026-11-22").assessment("S9373")
    assert assessment.billing.code == "S9373"
    assert "S9373.doc.daily-volume" in [d.id for d in assessment.documentation]


@pytest.mark.parametrize(("bounds", "open_ended"), [
    ({"boundsDuration": {"value": 5, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}}, False),
    ({"boundsDuration": {"value": 6, "unit": "weeks", "system": "http://unitsofmeasure.org", "code": "wk"}}, True),
    ({"boundsPeriod": {"start": "2026-11-22", "end": "2026-12-10"}}, False),
    ({"boundsPeriod": {"start": "2026-11-22"}}, True),
])
def test_planned_days_reads_bounds_and_an_order_without_an_end(bounds: dict[str, Any], open_ended: bool) -> None:
    order = {"resourceType": "MedicationRequest", "status": "draft", "intent": "order", "subject": "patient",
             "authoredOn": "2026-11-21", "medicationCodeableConcept": {"text": "sodium chloride 0.9% Injection"},
             "dosageInstruction": [{
                 "route": {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]},
                 "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", **bounds}},
                 "doseAndRate": [{"doseQuantity": {"value": 1000, "unit": "mL", "system": "http://unitsofmeasure.org",
                                                   "code": "mL"}}]}]}
    assessment = cds.evaluate(_bundle(None, raw=[order]), as_of="2026-11-22").assessment("S9373")
    assert ("S9373.safety.long-term" in [f.id for f in assessment.findings]) is open_ended
    assert assessment.billing.code == "S9374"


def test_immunizations_are_read_only_when_a_rule_reads_them(folder: Path) -> None:
    """Immunization is validated and prefetched by the hooks only where a rule reads it (criteria
    README "Immunization"): the test ruleset S9997 does, and among the shipped rulesets S9359
    and S9490 (their live-vaccine findings)."""
    from cds.hooks.discovery import prefetch

    immunization = {"resourceType": "Immunization", "id": "i1", "status": "completed",
                    "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}]},
                    "patient": {"reference": "Patient/p1"}, "occurrenceDateTime": "2026-11-12"}
    reading, shipped = load(folder), default()
    assert "Immunization" in reading.reads and reading.screen(immunization)
    assert prefetch(reading)["immunizations"] == "Immunization?patient={{context.patientId}}"
    assert "Immunization" in shipped.reads and shipped.screen(immunization)
    assert prefetch(shipped)["immunizations"] == "Immunization?patient={{context.patientId}}"


def test_shared_reading_terms_in_words(folder: Path) -> None:
    """The catalog says what the immunization, record and regimen terms read."""
    from cds.catalog.words import describe
    from cds.conditions import parse_ruleset
    knowledge = load(folder)
    parsed = parse_ruleset(knowledge.rulesets["S9997"], knowledge.terminology, knowledge.valuesets)
    said = {c.key: describe(c.node).plain() for c in parsed.clauses}
    assert ("a completed immunization within 28 days before the as-of date, its vaccine coded in"
            in said["c|S9997.live-vaccine|0"])
    assert "the record holds no Immunization at all" in said["c|S9997.live-vaccine|1"]
    assert "whose timing states a short course (bounded to 14 days or less)" in said["c|S9997.regimen|2"]


def test_synthea_systolic_pressure_is_read_inside_its_blood_pressure_panel(folder: Path) -> None:
    """Synthea writes systolic pressure 8480-6 only as a component of the panel 55284-4: it is read
    as an observation of 8480-6 dated by the panel and cited as the panel (criteria README)."""
    from tests.conftest import REFERENCE

    bundle = next((REFERENCE / "synthea-samples").glob("Darin_Skiles_*.json"), None)
    if bundle is None:
        pytest.skip("../shared/reference is not available")
    result = cds.evaluate(bundle, as_of="2020-08-25", therapies=["S9997"], knowledge=cached(folder))
    systolic = next(c for c in result.assessment("S9997").criteria if c.id == "S9997.systolic")
    assert systolic.result in ("met", "not-met") and "Systolic Blood Pressure" in systolic.reason
    assert "2020-08-23" in systolic.reason and len(systolic.evidence) == 1


def test_the_catalog_words_a_fixed_rule_and_a_claim_context(folder: Path) -> None:
    """A payer reads a fixed rule as always its result (criteria README "Fixed rules") and a
    claim's context in words (README "Context"), from the same parsed form the engine runs."""
    from cds.catalog import model as catalog_model
    from cds.catalog.render import markdown_pages

    data = catalog_model.build(load(folder))
    page = markdown_pages(data)["S9995"]
    start = page.index('<a id="S9995.fixed"></a>')
    section = page[start:page.index("<a id=", start + 1)]
    assert "always: a fixed rule that reads no record data" in section and "not-met" in section
    routing = " ".join(data.ruleset("S9995").routing)
    assert "only when its reason coded in cancer-related-pain or when the patient is pregnant" in routing
    assert "never when the record holds an active condition coded in chronic-pain and the record holds no" in routing
