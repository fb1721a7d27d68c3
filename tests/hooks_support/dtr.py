"""A DTR round trip's pieces, as an EHR and its DTR client would send them: an S9348 patient
whose NYHA class is missing, a dobutamine order, the package call and a filled-in answer."""

from __future__ import annotations

import copy
from typing import Any

from fhir.resources.R4B.parameters import Parameters

from .checks import CheckedClient
from .patients import AS_OF, SNOMED, UCUM, condition, medication, patient, searchset
from .patients import coverage as ehr_coverage

BASE = "http://testserver"
ORDER_SIGN = "/cds-services/home-infusion-order-sign"
PACKAGE = "/fhir/Questionnaire/$questionnaire-package"
RESPONSES = "/fhir/QuestionnaireResponse"
DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition"
ORIGIN = f"{DTR}/information-origin"
LOINC = "http://loinc.org"
NYHA_IV = {"system": LOINC, "code": "LA28407-7", "display": "Class IV"}   # S9348.md, Synthea heart
NYHA_II = {"system": LOINC, "code": "LA28405-1", "display": "Class II"}   # S9348.md: not met


def package_for(client: CheckedClient, *parameters: dict[str, Any], path: str = PACKAGE,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post(path, json={"resourceType": "Parameters", "parameter": list(parameters)},
                           headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    Parameters.model_validate(body)
    assert body["meta"]["profile"] == [f"{DTR}/dtr-qpackage-output-parameters"]
    return body


def bundles(body: dict[str, Any]) -> list[dict[str, Any]]:
    # DTR 2.0.1's output profile fixes the parameter name to PackageBundle.
    return [p["resource"] for p in body["parameter"] if p["name"] == "PackageBundle"]


def draft_of(bundle: dict[str, Any]) -> dict[str, Any]:
    """The package's draft QuestionnaireResponse."""
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse")


def coverage(pid: str, status: str = "active") -> dict[str, Any]:
    return {"resourceType": "Coverage", "id": f"cov-{pid}", "status": status,
            "beneficiary": {"reference": f"Patient/{pid}"}, "payor": [{"reference": "Organization/payer-1"}]}


# ---- an S9348 patient (S9348.md): every criterion met except the NYHA class, which is missing ----

def _route(code: str) -> dict[str, Any]:
    return {"coding": [{"system": SNOMED, "code": code}]}


def heart_failure_patient(pid: str) -> dict[str, Any]:
    """Chronic systolic heart failure (I50.22), two GDMT classes (furosemide, carvedilol), IV
    dobutamine 12 days before the order: S9348.md's indication, gdmt and inpatient-start are
    met; no NYHA class and no stage D condition, so S9348.advanced-hf is unknown."""
    return {
        "patient": patient(pid),
        "conditions": searchset(condition(f"{pid}-hf", pid, "I50.22", "Chronic systolic heart failure")),
        "medications": searchset(
            medication(f"{pid}-furo", pid, "furosemide 40 MG Oral Tablet", status="active", authored="2026-06-01"),
            medication(f"{pid}-carv", pid, "carvedilol 25 MG Oral Tablet", status="active", authored="2026-06-01"),
            medication(f"{pid}-dobu-in", pid, "dobutamine 250 MG in 250 ML Injectable Solution", status="completed",
                       authored="2026-11-10", dosageInstruction=[{"route": _route("47625008")}])),
        "procedures": searchset(),
        "observations": searchset(),
        "immunizations": searchset(),
        # The CRD prefetch of the order hooks: one active Coverage.
        "coverage": searchset(ehr_coverage(f"{pid}-cov", pid)),
    }


def dobutamine_infusion(oid: str, pid: str) -> dict[str, Any]:
    """A continuous IV dobutamine draft (a rate): an S9348 order, S9348.infusion-order met."""
    return medication(oid, pid, "dobutamine 250 MG in 250 ML Injectable Solution", status="draft", authored=AS_OF,
                      dosageInstruction=[{"route": _route("47625008"), "doseAndRate": [{"rateQuantity": {
                          "value": 5, "unit": "ug/kg/min", "system": UCUM, "code": "ug/kg/min"}}]}])


def answered(response: dict[str, Any], link_id: str, value: dict[str, Any]) -> dict[str, Any]:
    """The draft completed by a clinician: this question answered by hand, status completed."""
    filled = copy.deepcopy(response)
    for item in filled["item"]:
        if item["linkId"] == link_id:
            item["answer"] = [{"extension": [{"url": ORIGIN, "extension": [
                {"url": "source", "valueCode": "manual"},
                {"url": "author", "extension": [{"url": "practitioner",
                                                 "valueReference": {"reference": "Practitioner/dr-1"}}]}]}],
                **value}]
    filled["status"] = "completed"
    return filled
