"""PAS `Claim/$submit` beside the order-sign hook, for the same patient and order (issue 23):
the budget is that `$submit` adds at most 20 % to the hook's time.

Both go through the service in process (FastAPI's test client on `create_app`, no network, no
auth, an audit trail in a temporary SQLite file), alternated call by call so that the load of a
shared machine falls on both alike. The order-sign call carries its prefetch (the record of the
case, as the EHR would send it); the `$submit` call carries the PAS Request Bundle of the same
case (`cds pas example`). Python -m bench.pas prints the figures as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from cds import cases, knowledge
from cds.davinci.coverage import PREFETCH_KEY as COVERAGE_KEY
from cds.davinci.pas_example import example_case, example_request
from cds.fhir.registry import REGISTRY

from .stats import Figure

RUNS = int(os.environ.get("BENCH_PAS_RUNS", "60"))
BUDGET = 1.2
SUBMIT = "/fhir/Claim/$submit"
ORDER_SIGN = "/cds-services/home-infusion-order-sign"


def _order_sign(request: dict[str, Any]) -> dict[str, Any]:
    """The order-sign call for the PAS request's patient and order: the order as the draft, the
    rest of the record as prefetch, each resource under its registry key."""
    # The record's entries, the patient named as an EHR names it (Patient/id, context.patientId).
    patient = request["entry"][4]["resource"]
    text = json.dumps(request["entry"][4:]).replace(request["entry"][4]["fullUrl"], f"Patient/{patient['id']}")
    entries = json.loads(text)
    claim = request["entry"][0]["resource"]
    named = next(e["valueReference"]["reference"] for e in claim["item"][0]["extension"]
                 if e["url"].endswith("extension-requestedService"))
    order = next(e for e in entries if e["fullUrl"] == named)
    keys = {t.name: t.prefetch_key for t in REGISTRY if t.prefetch_key}
    prefetch: dict[str, Any] = {"patient": patient}
    for key in {k for k in keys.values() if k != "patient"}:
        found = [e for e in entries[1:] if keys.get(e["resource"]["resourceType"]) == key and e is not order]
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(found), "entry": found}
    coverage = {**request["entry"][3]["resource"], "beneficiary": {"reference": f"Patient/{patient['id']}"}}
    prefetch[COVERAGE_KEY] = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [{"resource": coverage}]}
    return {"hook": "order-sign", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/bench", "patientId": patient["id"],
                        "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [order]}},
            "prefetch": prefetch}


def run(therapy: str = "S9494") -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from cds.web import Settings, create_app

    known = knowledge.default()
    case = example_case(cases.load(), therapy)
    assert case is not None, therapy
    request = example_request(case, known)
    hook = _order_sign(request)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(as_of=case.as_of, feedback_db=Path(tmp) / "hooks.sqlite",
                            audit_url=f"sqlite:///{Path(tmp) / 'audit.sqlite'}")
        with TestClient(create_app(settings)) as client:
            times: dict[str, list[float]] = {"order-sign": [], "submit": []}
            for n in range(RUNS + 5):
                for name, path, body in (("order-sign", ORDER_SIGN, hook), ("submit", SUBMIT, request)):
                    start = time.perf_counter()
                    response = client.post(path, json=body)
                    elapsed = (time.perf_counter() - start) * 1000
                    assert response.status_code == 200, response.text[:300]
                    if n >= 5:   # the first calls warm the caches
                        times[name].append(elapsed)
    ratios = [s / o for s, o in zip(times["submit"], times["order-sign"], strict=True)]
    hook_ms, submit_ms = Figure.of(times["order-sign"], "ms"), Figure.of(times["submit"], "ms")
    ratio = submit_ms.median / hook_ms.median
    return {"case": case.name, "order_sign_ms": hook_ms.model_dump(), "submit_ms": submit_ms.model_dump(),
            "ratio_of_medians": ratio, "ratio_per_pair": Figure.of(ratios, "x").model_dump(),
            "rows": [[f"PAS $submit / order-sign, same patient and order ({case.name})",
                      f"{ratio:.2f} x (order-sign {hook_ms}, $submit {submit_ms})",
                      f"<= {BUDGET} x", "yes" if ratio <= BUDGET else "NO"]]}

if __name__ == "__main__":
    json.dump(run(*sys.argv[1:]), sys.stdout, indent=1)
    print()
