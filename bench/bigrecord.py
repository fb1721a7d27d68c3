"""A patient-view whose prefetch holds 20,000 Conditions (about 4.5 MB): the work must stay linear.

Run in-process through the ASGI app (no sockets), so the figure is the server's own time.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from cds.web import Settings, create_app

from .stats import Figure

CONDITIONS = 20_000
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
# Alternating a code the rules read with one no value set holds: both paths are exercised.
CODES = ("G89.4", "E11.9")


def request(conditions: int = CONDITIONS) -> dict[str, Any]:
    entries = [{"resource": {
        "resourceType": "Condition", "id": f"c{n}",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": ICD, "code": CODES[n % 2]}], "text": f"condition {n}"},
        "subject": {"reference": "Patient/p1"}}} for n in range(conditions)]
    return {"hook": "patient-view", "hookInstance": "bench-big-record",
            "context": {"userId": "Practitioner/dr-1", "patientId": "p1"},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01"},
                         "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": entries},
                         "medications": None, "observations": None, "procedures": None}}


def run(repeats: int = 5, conditions: int = CONDITIONS) -> dict[str, Any]:
    body = request(conditions)
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(as_of=dt.date(2026, 11, 22), feedback_db=Path(tmp) / "hooks.sqlite",
                            audit_url=f"sqlite:///{Path(tmp) / 'audit.sqlite'}",
                            max_body_bytes=16 * 1024 * 1024)
        with TestClient(create_app(settings)) as client:
            for _ in range(repeats):
                start = time.perf_counter()
                response = client.post("/cds-services/home-infusion-patient-view", json=body)
                times.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"status {response.status_code}: {response.text[:200]}")
    figure = Figure.of(times, "ms")
    return {"conditions": conditions, "total_ms": figure.model_dump(),
            "rows": [[f"patient-view, {conditions:,} Conditions in the prefetch", str(figure),
                      "well under 1 s", "yes" if figure.median < 1000 else "NO"]]}


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
