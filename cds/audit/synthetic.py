"""Synthetic patients for batch benchmarks and tests: no real person behind any of them.

Each patient follows one of a few clinical scenarios (cancer pain with a morphine infusion,
chronic pain without an oral trial, multiple sclerosis with a baclofen trial, ...), so a
batch shows every status and every claim verdict. Written as a FHIR Bulk Data export (one
NDJSON file per resource type) or as one collection Bundle per patient.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
HCPCS = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"
ROUTES = {"oral": ("26643006", "Oral route"), "intravenous": ("47625008", "Intravenous route"),
          "intrathecal": ("72607000", "Intrathecal route")}
Resource = dict[str, Any]


class _Patient:
    def __init__(self, n: int, as_of: dt.date, rng: random.Random) -> None:
        self.id = f"p{n:06d}"
        self.ref = f"Patient/{self.id}"
        self.as_of = as_of
        self.rng = rng
        self.resources: list[Resource] = []
        self._count = 0

    def day(self, days_before: int) -> str:
        return (self.as_of - dt.timedelta(days=days_before)).isoformat()

    def _id(self, kind: str) -> str:
        self._count += 1
        return f"{self.id}-{kind[:3].lower()}{self._count}"

    def patient(self, age: int | None) -> None:
        resource: Resource = {"resourceType": "Patient", "id": self.id, "gender": self.rng.choice(["female", "male"])}
        if age is not None:
            resource["birthDate"] = dt.date(self.as_of.year - age, self.rng.randint(1, 12), 15).isoformat()
        self.resources.append(resource)

    def condition(self, code: str, display: str, system: str = ICD, status: str = "active") -> None:
        self.resources.append({
            "resourceType": "Condition", "id": self._id("Condition"), "subject": {"reference": self.ref},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": status}]},
            "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
            "onsetDateTime": self.day(400),
        })

    def medication(self, text: str, route: str | None, status: str, start: int, days: int | None = None,
                   rate: bool = False, every_hours: int | None = None) -> None:
        dosage: Resource = {}
        if route is not None:
            code, display = ROUTES[route]
            dosage["route"] = {"coding": [{"system": SNOMED, "code": code, "display": display}]}
        if rate:
            dosage["doseAndRate"] = [{"rateQuantity": {"value": 2, "unit": "mg/h",
                                                       "system": "http://unitsofmeasure.org", "code": "mg/h"}}]
        if every_hours:
            dosage["timing"] = {"repeat": {"frequency": 1, "period": every_hours, "periodUnit": "h"}}
        resource: Resource = {
            "resourceType": "MedicationRequest", "id": self._id("MedicationRequest"), "status": status,
            "intent": "order", "subject": {"reference": self.ref},
            "medicationCodeableConcept": {"text": text}, "authoredOn": self.day(start),
            "dosageInstruction": [dosage],
        }
        if days is not None:
            resource["dispenseRequest"] = {"validityPeriod": {"start": self.day(start),
                                                              "end": self.day(start - days)}}
        self.resources.append(resource)

    def claim(self, code: str, days_before: int, eob: bool = False) -> None:
        kind = "ExplanationOfBenefit" if eob else "Claim"
        item: Resource = {"sequence": 1, "productOrService": {"coding": [{"system": HCPCS, "code": code}]}}
        if eob:
            item["servicedPeriod"] = {"start": self.day(days_before), "end": self.day(days_before - 30)}
        else:
            item["servicedDate"] = self.day(days_before)
        resource: Resource = {"resourceType": kind, "id": self._id(kind), "status": "active",
                              "use": "claim", "patient": {"reference": self.ref},
                              "created": self.day(days_before - 31), "item": [item]}
        if eob:
            resource["outcome"] = "complete"
        self.resources.append(resource)


def _cancer_infusion(p: _Patient) -> None:
    p.patient(p.rng.randint(40, 85))
    p.condition("G89.3", "Neoplasm related pain")
    p.medication("oxycodone hydrochloride 5 MG Oral Tablet", "oral", "completed", 200, 60)
    p.medication("morphine sulfate 1 MG/ML Injectable Solution", "intravenous", "active", 60, 90, rate=True)
    p.medication("morphine sulfate 1 MG/ML Injectable Solution", "intravenous", "draft", 0, rate=True)
    p.claim("S9326", 30)


def _cancer_benzodiazepine(p: _Patient) -> None:
    _cancer_infusion(p)
    p.medication("lorazepam 1 MG Oral Tablet", "oral", "active", 100)


def _chronic_no_trial(p: _Patient) -> None:
    p.patient(p.rng.randint(30, 80))
    p.condition("G89.29", "Other chronic pain")
    p.medication("hydromorphone 2 MG/ML Injectable Solution", "intravenous", "active", 40, 60, rate=True)
    p.claim("S9326", 20)


def _chronic_route_unknown(p: _Patient) -> None:
    p.patient(p.rng.randint(30, 80))
    p.condition("G89.4", "Chronic pain syndrome")
    p.medication("Morphine sulfate", None, "completed", 150, 30)
    p.medication("hydromorphone 2 MG/ML Injectable Solution", "intravenous", "active", 40, 60, rate=True)
    p.claim("S9326", 20)


def _postoperative_intermittent(p: _Patient) -> None:
    p.patient(p.rng.randint(20, 70))
    p.condition("G89.18", "Other acute postprocedural pain")
    p.medication("oxycodone hydrochloride 5 MG Oral Tablet", "oral", "stopped", 90, 20)
    p.medication("morphine sulfate 1 MG/ML Injectable Solution", "intravenous", "draft", 0, every_hours=6)


def _no_indication(p: _Patient) -> None:
    p.patient(p.rng.randint(20, 90))
    p.condition("J45.909", "Unspecified asthma, uncomplicated")


def _ms_baclofen(p: _Patient) -> None:
    p.patient(p.rng.randint(18, 70))
    p.condition("G35.A", "Relapsing-remitting multiple sclerosis")
    p.medication("baclofen 10 MG Oral Tablet", "oral", "completed", 300, 90)
    p.medication("baclofen 0.5 MG/ML Injectable Solution", "intrathecal", "active", 100, 200, rate=True)
    p.medication("baclofen 0.5 MG/ML Injectable Solution", "intrathecal", "draft", 0, rate=True)
    p.claim("S9363", 50, eob=True)


def _cp_short_trial(p: _Patient) -> None:
    p.patient(p.rng.randint(5, 30))
    p.condition("G80.0", "Spastic quadriplegic cerebral palsy")
    p.medication("baclofen 10 MG Oral Tablet", "oral", "completed", 60, 20)
    p.claim("S9363", 10, eob=True)


def _spinal_no_birthdate(p: _Patient) -> None:
    p.patient(None)
    p.condition("G82.20", "Paraplegia, unspecified")
    p.medication("baclofen 10 MG Oral Tablet", "oral", "completed", 300, 90)
    p.claim("S9363", 15)


def _homeless_cancer(p: _Patient) -> None:
    _cancer_infusion(p)
    p.condition("Z59.01", "Sheltered homelessness")


SCENARIOS: list[Callable[[_Patient], None]] = [
    _cancer_infusion, _cancer_benzodiazepine, _chronic_no_trial, _chronic_route_unknown, _postoperative_intermittent,
    _no_indication, _ms_baclofen, _cp_short_trial, _spinal_no_birthdate, _homeless_cancer,
]


def patients(count: int, as_of: dt.date, seed: int = 7, start: int = 0) -> list[list[Resource]]:
    """count patients' resources (ids from start), scenario n % len(SCENARIOS), reproducible."""
    rng = random.Random(seed)
    out = []
    for n in range(start, start + count):
        patient = _Patient(n, as_of, rng)
        SCENARIOS[n % len(SCENARIOS)](patient)
        out.append(patient.resources)
    return out


def write_ndjson(folder: Path, count: int, as_of: dt.date, seed: int = 7, start: int = 0) -> list[Path]:
    """A Bulk Data export: one <Type>.ndjson per resource type."""
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[bytes]] = {}
    for resources in patients(count, as_of, seed, start):
        for resource in resources:
            by_type.setdefault(resource["resourceType"], []).append(orjson.dumps(resource))
    paths = []
    for kind, lines in sorted(by_type.items()):
        path = folder / f"{kind}.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
        paths.append(path)
    return paths


def write_bundles(folder: Path, count: int, as_of: dt.date, seed: int = 7, start: int = 0) -> list[Path]:
    """One collection Bundle per patient."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for resources in patients(count, as_of, seed, start):
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"fullUrl": f"urn:example:{r['resourceType']}/{r['id']}", "resource": r}
                            for r in resources]}
        path = folder / f"{resources[0]['id']}.json"
        path.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2))
        paths.append(path)
    return paths
