"""Every CDS Hooks example in ../shared/reference/cds-hooks gets a 200 or a clear 4xx."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from .hooks_support.checks import check_cards, make_client

SHARED = Path(os.environ.get("CDS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
EXAMPLES = SHARED / "reference" / "cds-hooks"
pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"{EXAMPLES} is absent (../shared not beside the repo)")
SERVICE_FOR_HOOK = {"patient-view": "home-infusion-patient-view", "order-select": "home-infusion-order-select",
                    "order-sign": "home-infusion-order-sign"}

# file -> (status, words the answer must contain): what the example is, and why that answer.
EXPECTED: dict[str, tuple[int, str]] = {
    # Requests for our hooks whose prefetch lacks our keys; the http fhirServer is not used
    # for a bearer token, so the keys cannot be read: 412 as the spec says.
    "davinci-crd-CRDServiceRequest.json": (412, "not an https URL"),
    "davinci-crd-CRDServiceRequest3.json": (412, "not an https URL"),
    "spec-current-5-patient-view-request.json": (412, "not an https URL"),
    # Hooks we do not serve, sent to the order-sign service (the hook sent is not echoed).
    "davinci-crd-CRDServiceRequest2.json": (400, "hook: this service answers order-sign only"),
    "davinci-crd-CRDServiceRequest4.json": (400, "hook: this service answers order-sign only"),
    # Only a context: no hook, no hookInstance.
    "order-select-1-request-context-r4.json": (400, "hookInstance: required"),
    "order-sign-1-request-context-r4.json": (400, "hookInstance: required"),
    # Feedback bodies, posted to the feedback endpoint.
    "spec-current-25-feedback-accepted.json": (200, ""),
    "spec-current-27-feedback-overridden-with-reason.json": (200, ""),
}


def _target(name: str, body: Any) -> str:
    if "feedback" in name:
        return "/cds-services/home-infusion-order-sign/feedback"
    hook = body.get("hook") if isinstance(body, dict) else None
    return f"/cds-services/{SERVICE_FOR_HOOK.get(hook, 'home-infusion-order-sign')}"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else [])
def test_every_example_gets_a_200_or_a_clear_4xx(tmp_path: Path, name: str) -> None:
    body = json.loads((EXAMPLES / name).read_text())
    # Responses and discovery documents are not requests: a 400 that says what is missing.
    status, words = EXPECTED.get(name, (400, "hook: required"))
    with make_client(tmp_path) as client:
        response = client.post(_target(name, body), json=body)
    assert response.status_code == status, response.text
    assert words in response.text


@pytest.mark.parametrize("name", ["order-select-1-request-context-r4.json", "order-sign-1-request-context-r4.json"])
def test_the_hook_library_examples_answer_with_a_complete_request(tmp_path: Path, name: str) -> None:
    context = json.loads((EXAMPLES / name).read_text())["context"]
    hook = "order-select" if "select" in name else "order-sign"
    patient = {"resourceType": "Patient", "id": context["patientId"]}
    body = {"hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "context": context,
            "prefetch": {"patient": patient, "conditions": None, "medications": None,
                          "observations": None, "procedures": None, "immunizations": None, "coverage": None}}
    with make_client(tmp_path) as client:
        response = client.post(f"/cds-services/{SERVICE_FOR_HOOK[hook]}", json=body)
    # Not valid R4 (no Bundle.type, STU3 doses) and no home infusion order: 200, no cards.
    assert response.status_code == 200, response.text
    assert check_cards(response.json()) == []


def test_the_spec_patient_view_request_answers_with_its_prefetch_completed(tmp_path: Path) -> None:
    body = json.loads((EXAMPLES / "spec-current-5-patient-view-request.json").read_text())
    body["prefetch"].update({"patient": body["prefetch"]["patientToGreet"], "conditions": None, "medications": None,
                             "observations": None, "procedures": None, "immunizations": None})
    with make_client(tmp_path) as client:
        response = client.post("/cds-services/home-infusion-patient-view", json=body)
    assert response.status_code == 200 and check_cards(response.json()) == []


def test_the_crd_order_sign_request_answers_with_its_prefetch_completed(tmp_path: Path) -> None:
    body = json.loads((EXAMPLES / "davinci-crd-CRDServiceRequest.json").read_text())
    body["prefetch"].update({"conditions": None, "medications": None,
                             "observations": None, "procedures": None, "immunizations": None})
    with make_client(tmp_path) as client:
        response = client.post("/cds-services/home-infusion-order-sign", json=body)
    # A mammography order: no home infusion therapy, so no card.
    assert response.status_code == 200 and check_cards(response.json()) == []
