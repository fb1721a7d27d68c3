"""Bad input gives one clear error naming file, entry and element; good shapes are all read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cds
from cds.fhir import InputError

from .conftest import ICD, bundle, condition, medication_request, patient


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        cds.evaluate(path, as_of="2026-11-22")
    return [str(p) for p in caught.value.problems]


def test_malformed_json_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.json", '{"resourceType": "Bundle", "entry": [')
    [problem] = _problems(path)
    assert str(path) in problem and "not valid JSON" in problem


def test_a_document_that_is_not_fhir_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "notfhir.json", '{"name": "a spreadsheet export"}')
    [problem] = _problems(path)
    assert "resourceType" in problem and "not a FHIR resource" in problem


def test_invalid_condition_names_entry_and_element(tmp_path: Path) -> None:
    bad = condition("c1", ICD, "G89.29", "Other chronic pain")
    bad["onsetDateTime"] = "last spring"
    path = _write(tmp_path, "bad-condition.json", json.dumps(bundle(patient(), bad)))
    problems = _problems(path)
    assert any("entry 1" in p and "Condition.onsetDateTime" in p for p in problems), problems


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    first = condition("c1", ICD, "G89.29", "Other chronic pain")
    first["onsetDateTime"] = "yesterday"
    second = medication_request("m1", "morphine")
    del second["intent"]
    path = _write(tmp_path, "two-problems.json", json.dumps(bundle(patient(), first, second)))
    problems = _problems(path)
    assert any("entry 1" in p for p in problems) and any("entry 2" in p and "intent" in p for p in problems)


def test_empty_bundle_says_there_is_no_patient(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.json", '{"resourceType": "Bundle", "type": "collection"}')
    [problem] = _problems(path)
    assert "no Patient" in problem


def test_bundle_without_patient_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "nopatient.json", json.dumps(bundle(condition("c1", ICD, "G89.29", "pain"))))
    [problem] = _problems(path)
    assert "no Patient" in problem and str(path) in problem


def test_problems_convert_to_an_operation_outcome(tmp_path: Path) -> None:
    bad = condition("c1", ICD, "G89.29", "Other chronic pain")
    bad["onsetDateTime"] = "never"
    path = _write(tmp_path, "oo.json", json.dumps(bundle(patient(), bad)))
    with pytest.raises(InputError) as caught:
        cds.evaluate(path, as_of="2026-11-22")
    outcome = caught.value.to_operation_outcome()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["severity"] == "error" and issue["code"] == "invalid"
    assert issue["expression"] == ["Bundle.entry[1].resource.onsetDateTime"]


@pytest.mark.parametrize(("document", "expression"), [
    (bundle(patient(birth="spring")), "Bundle.entry[0].resource.birthDate"),
    (patient(birth="spring"), "Patient.birthDate"),
])
def test_operation_outcome_expressions_are_fhirpath(tmp_path: Path, document: dict, expression: str) -> None:
    path = _write(tmp_path, "bad-birth.json", json.dumps(document))
    with pytest.raises(InputError) as caught:
        cds.evaluate(path, as_of="2026-11-22")
    [issue] = caught.value.to_operation_outcome()["issue"]
    assert issue["expression"] == [expression]


def test_a_folder_reports_an_unreadable_file_and_an_invalid_patient_together(tmp_path: Path) -> None:
    _write(tmp_path, "a-notes.json", "this is not JSON")
    _write(tmp_path, "b-patient.json", json.dumps(patient(birth="spring")))
    problems = _problems(tmp_path)
    assert len(problems) == 2, problems
    assert "a-notes.json: not valid JSON" in problems[0]
    assert "b-patient.json" in problems[1] and "birthDate" in problems[1]


def test_other_resource_types_are_skipped_not_rejected(tmp_path: Path) -> None:
    # A type no rule reads (cds/fhir/registry.py) is not validated, however odd.
    odd = {"resourceType": "Encounter", "id": "e1", "this is": "not valid R4"}
    path = _write(tmp_path, "with-encounter.json", json.dumps(bundle(patient(), odd)))
    assert cds.evaluate(path, as_of="2026-11-22").patient == "Patient/p1"


def test_single_resource_array_and_ndjson_are_read(tmp_path: Path) -> None:
    resources = [patient(), condition("c1", ICD, "G89.29", "Other chronic pain")]
    array = _write(tmp_path, "array.json", json.dumps(resources))
    ndjson = _write(tmp_path, "export.ndjson", "\n".join(json.dumps(r) for r in resources) + "\n")
    single = _write(tmp_path, "patient.json", json.dumps(patient()))
    for path in (array, ndjson):
        result = cds.evaluate(path, as_of="2026-11-22")
        assert result.assessment("S9326").criterion("S9326.indication").evidence == ["Condition/c1"]
    assert cds.evaluate(single, as_of="2026-11-22").assessment("S9326").criterion(
        "S9326.indication").result == "not-met"


def test_ndjson_export_split_by_type_is_grouped_by_patient(tmp_path: Path) -> None:
    _write(tmp_path, "Patient.ndjson", "\n".join(json.dumps(patient(p)) for p in ("a", "b")))
    _write(tmp_path, "Condition.ndjson", json.dumps(condition("c1", ICD, "G89.29", "Other chronic pain", pid="b")))
    results = cds.evaluate_all(tmp_path, as_of="2026-11-22")
    by_patient = {r.patient: r.assessment("S9326").criterion("S9326.indication").result for r in results}
    assert by_patient == {"Patient/a": "not-met", "Patient/b": "met"}


def test_bad_ndjson_line_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "export.ndjson", json.dumps(patient()) + "\n{oops\n")
    [problem] = _problems(path)
    assert "entry 2" in problem and "not JSON" in problem


def test_library_accepts_a_bundle_dict_and_a_resource_list() -> None:
    resources = [patient(), condition("c1", ICD, "G89.29", "Other chronic pain")]
    from_dict = cds.evaluate(bundle(*resources), as_of="2026-11-22")
    from_list = cds.evaluate(resources, as_of="2026-11-22")
    assert from_dict.assessment("S9326").criterion("S9326.indication").result == "met"
    assert from_list.assessment("S9326").criterion("S9326.indication").result == "met"


def test_a_code_that_does_not_exist_in_icd10cm_is_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, "nocode.json", json.dumps(bundle(patient(), condition("c1", ICD, "G89.99", "?"))))
    result = cds.evaluate(path, as_of="2026-11-22")
    assert any("G89.99 does not exist" in w for w in result.warnings)
    assert result.assessment("S9326").criterion("S9326.indication").result == "not-met"


def test_medication_reference_to_a_bundled_medication(tmp_path: Path) -> None:
    medication = {"resourceType": "Medication", "id": "med-hm",
                  "code": {"text": "hydromorphone 2 MG/ML Injectable Solution"}}
    order = {"resourceType": "MedicationRequest", "id": "o1", "status": "draft", "intent": "order",
             "medicationReference": {"reference": "Medication/med-hm"}, "subject": {"reference": "Patient/p1"},
             "dosageInstruction": [{"doseAndRate": [{"rateQuantity": {"value": 0.5, "unit": "mg/h"}}]}]}
    path = _write(tmp_path, "ref.json", json.dumps(bundle(patient(), medication, order)))
    criterion = cds.evaluate(path, as_of="2026-11-22").assessment("S9326").criterion("S9326.infusion-order")
    assert criterion.result == "met" and criterion.evidence == ["MedicationRequest/o1"]


def test_a_condition_no_rule_reads_is_not_validated(tmp_path: Path) -> None:
    # Viral sinusitis is in no value set: its bad onset cannot change any result, so it is
    # passed over; the same bad onset on a chronic pain condition is an error.
    sinusitis = condition("c1", "http://snomed.info/sct", "444814009", "Viral sinusitis (disorder)")
    sinusitis["onsetDateTime"] = "last winter"
    path = _write(tmp_path, "sinusitis.json", json.dumps(bundle(patient(), sinusitis)))
    assert cds.evaluate(path, as_of="2026-11-22").assessment("S9326").status == "not-eligible"
    pain = condition("c2", ICD, "G89.29", "Other chronic pain")
    pain["onsetDateTime"] = "last winter"
    path = _write(tmp_path, "pain.json", json.dumps(bundle(patient(), pain)))
    assert any("Condition.onsetDateTime" in p for p in _problems(path))
