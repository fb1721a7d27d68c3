"""Synthetic patients and hook requests. Each patient carries a marker in its condition text
so a test can tell whose data a card was built from."""

from __future__ import annotations

import uuid
from typing import Any

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
AS_OF = "2026-11-22"


def patient(pid: str, birth: str = "1960-05-01") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth}


def condition(cid: str, pid: str, code: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": cid,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": ICD, "code": code}], "text": text},
        "subject": {"reference": f"Patient/{pid}"},
    }


def medication(mid: str, pid: str, text: str, status: str = "stopped", authored: str = "2026-01-05",
               **extra: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": mid, "status": status, "intent": "order",
            "medicationCodeableConcept": {"text": text}, "subject": {"reference": f"Patient/{pid}"},
            "authoredOn": authored, **extra}


def coverage(cid: str, pid: str, status: str = "active", payor: str = "Example Health Plan",
             **extra: Any) -> dict[str, Any]:
    """A Coverage of the patient (the CRD `coverage` prefetch key)."""
    return {"resourceType": "Coverage", "id": cid, "status": status, "beneficiary": {"reference": f"Patient/{pid}"},
            "payor": [{"display": payor}], **extra}


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"http://ehr.example/fhir/{r['resourceType']}/{r['id']}", "resource": r}
                      for r in resources]}


def pain_patient(pid: str, marker: str = "") -> dict[str, Any]:
    """Chronic pain with an earlier oral opioid: S9326's indication is met."""
    return {
        "patient": patient(pid),
        "conditions": searchset(condition(f"{pid}-pain", pid, "G89.4", f"Chronic pain syndrome {marker}".strip())),
        "medications": searchset(medication(f"{pid}-oxy", pid, "oxycodone hydrochloride 5 MG Oral Tablet")),
        # Rulesets that read Procedures, Observations or Immunizations make them prefetch keys (empty: none).
        "procedures": searchset(),
        "observations": searchset(),
        "immunizations": searchset(),
        # The CRD prefetch of the order hooks: one active Coverage.
        "coverage": searchset(coverage(f"{pid}-cov", pid)),
    }


def spasticity_patient(pid: str, marker: str = "") -> dict[str, Any]:
    """Multiple sclerosis with months of oral baclofen: S9363's indication is met."""
    baclofen = medication(f"{pid}-baclofen", pid, "baclofen 10 MG Oral Tablet", status="active",
                          authored="2026-01-05")
    return {
        "patient": patient(pid),
        "conditions": searchset(condition(f"{pid}-ms", pid, "G35", f"Multiple sclerosis {marker}".strip())),
        "medications": searchset(baclofen),
        "procedures": searchset(),
        "observations": searchset(),
        "immunizations": searchset(),
        # The CRD prefetch of the order hooks: one active Coverage.
        "coverage": searchset(coverage(f"{pid}-cov", pid)),
    }


def plain_patient(pid: str) -> dict[str, Any]:
    """Hypertension only: no home infusion therapy applies."""
    return {
        "patient": patient(pid),
        "conditions": searchset(condition(f"{pid}-htn", pid, "I10", "Essential hypertension")),
        "medications": searchset(),
        "procedures": searchset(),
        "observations": searchset(),
        "immunizations": searchset(),
        # The CRD prefetch of the order hooks: one active Coverage.
        "coverage": searchset(coverage(f"{pid}-cov", pid)),
    }


def _route(code: str) -> dict[str, Any]:
    return {"coding": [{"system": SNOMED, "code": code}]}


def morphine_infusion(oid: str, pid: str) -> dict[str, Any]:
    """A continuous IV morphine draft: an S9326 order."""
    return medication(oid, pid, "morphine sulfate 1 MG/ML Injectable Solution", status="draft", authored=AS_OF,
                      dosageInstruction=[{"route": _route("47625008"),
                                          "doseAndRate": [{"rateQuantity": {"value": 1, "unit": "mg/h",
                                                                            "system": UCUM, "code": "mg/h"}}]}])


def baclofen_intrathecal(oid: str, pid: str) -> dict[str, Any]:
    """An intrathecal baclofen draft: an S9363 order."""
    return medication(oid, pid, "baclofen 2 MG/ML Injectable Solution", status="draft", authored=AS_OF,
                      dosageInstruction=[{"route": _route("72607000"),
                                          "doseAndRate": [{"rateQuantity": {"value": 100, "unit": "ug/d",
                                                                            "system": UCUM, "code": "ug/d"}}]}])


def oral_amoxicillin(oid: str, pid: str) -> dict[str, Any]:
    return medication(oid, pid, "amoxicillin 500 MG Oral Capsule", status="draft", authored=AS_OF,
                      dosageInstruction=[{"route": _route("26643006")}])


def oral_oxycodone(oid: str, pid: str) -> dict[str, Any]:
    """An opioid, but oral: not a home infusion order."""
    return medication(oid, pid, "oxycodone hydrochloride 5 MG Oral Tablet", status="draft", authored=AS_OF,
                      dosageInstruction=[{"route": _route("26643006")}])


def infusion_service(oid: str, pid: str, code: str) -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "id": oid, "status": "draft", "intent": "order",
            "code": {"coding": [{"system": HCPCS, "code": code}]}, "subject": {"reference": f"Patient/{pid}"}}


def draft_orders(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def hook_request(hook: str, pid: str, prefetch: dict[str, Any] | None, *, orders: list[dict[str, Any]] = (),
                 selections: list[str] | None = None, hook_instance: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/dr-1", "patientId": pid, "encounterId": "enc-1"}
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = draft_orders(*orders)
    if hook == "order-select":
        context["selections"] = selections if selections is not None else \
            [f"{o['resourceType']}/{o['id']}" for o in orders]
    body: dict[str, Any] = {"hook": hook, "hookInstance": hook_instance or str(uuid.uuid4()), "context": context,
                            **extra}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body
