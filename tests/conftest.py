"""Shared test helpers: where ../shared is, and small FHIR builders."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CDS_SHARED", ROOT.parent / "shared"))
REFERENCE = SHARED / "reference"

needs_shared = pytest.mark.skipif(
    not REFERENCE.is_dir(),
    reason=f"{REFERENCE} is absent (a user's clone); CI always has ../shared beside the repo",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked `heavy` first, then the others by their number of tests. `make test` hands each
    worker a whole file at a time in this order (--dist loadfile --no-loadscope-reorder): the long
    files start early and the short ones fill in at the end, so the workers finish together.
    pytest-xdist's own order, by number of tests alone, left a built wheel or a killed batch run
    (a few tests, a minute) to the end, with the other worker idle. A file's tests keep their order."""
    counts = Counter(item.path for item in items)
    heavy = {item.path for item in items if item.get_closest_marker("heavy")}
    items.sort(key=lambda item: (item.path not in heavy, -counts[item.path], str(item.path)))


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['resourceType'].lower()}-{r['id']}", "resource": r}
                      for r in resources]}


def patient(pid: str = "p1", birth: str | None = "1960-05-01") -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    if birth:
        resource["birthDate"] = birth
    return resource


def condition(cid: str, system: str, code: str, display: str, pid: str = "p1",
              clinical: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": cid,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": clinical}]},
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{pid}"},
    }


def medication_request(mid: str, text: str, status: str = "active", pid: str = "p1",
                       **extra: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": mid, "status": status, "intent": "order",
            "medicationCodeableConcept": {"text": text}, "subject": {"reference": f"Patient/{pid}"},
            **extra}


ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
