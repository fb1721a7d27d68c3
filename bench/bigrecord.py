"""A patient-view whose prefetch holds 20,000 Conditions (about 4.5 MB): the work must stay linear.

Three records: the issue's (one diagnosis the rules read and one they do not, alternating: the
engine sees the repeated diagnosis once), one where every Condition is read by a rule (each is
validated), and a worst case where every Condition the rules read differs (its own onset date),
so that each is a distinct fact for the engine.

Run in-process through the ASGI app (no sockets), so the figure is the server's own time.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from cds import knowledge
from cds.web import Settings, create_app

from .stats import Figure

CONDITIONS = 20_000
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
# Alternating a code the rules read (chronic pain syndrome) with one no value set holds
# (essential hypertension): both paths are exercised. `run` checks that this still holds.
CODES = ("G89.4", "I10")


def request(conditions: int = CONDITIONS, distinct: bool = False, all_read: bool = False) -> dict[str, Any]:
    codes = CODES[:1] if all_read else CODES
    onsets = [(dt.date(2000, 1, 1) + dt.timedelta(days=n // 2)).isoformat() for n in range(conditions)]
    entries = [{"resource": {
        "resourceType": "Condition", "id": f"c{n}",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": ICD, "code": codes[n % len(codes)]}], "text": f"condition {n}"},
        "subject": {"reference": "Patient/p1"}, **({"onsetDateTime": onsets[n]} if distinct else {})}}
        for n in range(conditions)]
    return {"hook": "patient-view", "hookInstance": "bench-big-record",
            "context": {"userId": "Practitioner/dr-1", "patientId": "p1"},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01"},
                         "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": entries},
                         "medications": None, "observations": None, "procedures": None}}


def run(repeats: int = 5, conditions: int = CONDITIONS) -> dict[str, Any]:
    read, unread = (bool(knowledge.default().valuesets.memberships(ICD, code)) for code in CODES)
    if not read or unread:
        raise RuntimeError(f"bench.bigrecord: {CODES[0]} must be read by a rule and {CODES[1]} by none")
    usual = _times(request(conditions), repeats)
    every = _times(request(conditions, all_read=True), repeats)
    worst = _times(request(conditions, distinct=True, all_read=True), repeats)
    return {"conditions": conditions, "total_ms": usual.model_dump(), "all_read_total_ms": every.model_dump(),
            "distinct_total_ms": worst.model_dump(),
            "rows": [[f"patient-view, {conditions:,} Conditions in the prefetch", str(usual),
                      "well under 1 s", "yes" if usual.median < 1000 else "NO"],
                     ["  the same, every Condition read by a rule", str(every), "", ""],
                     ["  the same, every Condition read and distinct (worst case)", str(worst), "", ""]]}


def _times(body: dict[str, Any], repeats: int) -> Figure:
    # Encoded once, outside the clock: the figure is the server's time, not the test client's.
    raw = orjson.dumps(body)
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(as_of=dt.date(2026, 11, 22), feedback_db=Path(tmp) / "hooks.sqlite",
                            audit_url=f"sqlite:///{Path(tmp) / 'audit.sqlite'}",
                            max_body_bytes=16 * 1024 * 1024)
        with TestClient(create_app(settings)) as client:
            for _ in range(repeats):
                start = time.perf_counter()
                response = client.post("/cds-services/home-infusion-patient-view", content=raw,
                                       headers={"content-type": "application/json"})
                times.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"status {response.status_code}: {response.text[:200]}")
    return Figure.of(times, "ms")


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
