"""The fetch path: keys the client left out are read from its FHIR server (a stub on loopback)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from cds import knowledge
from cds.hooks.discovery import prefetch

from .hooks_support.checks import check_cards, make_client
from .hooks_support.crd import coverage_information
from .hooks_support.fhir_stub import FhirStub, fhir_stub
from .hooks_support.patients import condition, hook_request, medication, morphine_infusion, pain_patient

ORDER_SIGN = "/cds-services/home-infusion-order-sign"
PATIENT_VIEW = "/cds-services/home-infusion-patient-view"
TOKEN = "fhir-token-123"


def _auth(stub: FhirStub) -> dict[str, Any]:
    return {"fhirServer": stub.base,
            "fhirAuthorization": {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                  "scope": "user/Patient.read user/Condition.read user/MedicationRequest.read",
                                  "subject": "home-infusion-cds"}}


def _serve_patient(stub: FhirStub, pid: str, page_size: int = 2) -> None:
    data = pain_patient(pid)
    stub.add(f"/Patient/{pid}", data["patient"])
    # Unrelated conditions first: the pain condition is on the last page.
    conditions = [condition(f"c{n}", pid, "I10", "Essential hypertension") for n in range(4)]
    conditions.append(data["conditions"]["entry"][0]["resource"])
    stub.pages(f"/Condition?patient={pid}", conditions, page_size)
    stub.pages(f"/MedicationRequest?patient={pid}", [e["resource"] for e in data["medications"]["entry"]], page_size)
    # Every other search the services prefetch (Observation, Procedure once a ruleset reads
    # them) answers with an empty Bundle.
    for path in _other_searches(pid):
        stub.pages(path, [], page_size)
    # The CRD key of the order hooks (patient-view does not ask for it).
    stub.pages(f"/Coverage?patient={pid}&status=active", [e["resource"] for e in data["coverage"]["entry"]], page_size)


def _other_searches(pid: str) -> list[str]:
    templates = prefetch(knowledge.default()).values()
    paths = ["/" + t.replace("{{context.patientId}}", pid) for t in templates]
    return [p for p in paths if p.split("?")[0] not in ("/Patient/" + pid, "/Condition", "/MedicationRequest")]


def test_omitted_keys_are_fetched_with_the_bearer_token_across_pages(tmp_path: Path) -> None:
    with fhir_stub() as stub:
        _serve_patient(stub, "p1")
        with make_client(tmp_path) as client:
            response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", None, **_auth(stub)))
    assert response.status_code == 200, response.text
    cards = check_cards(response.json(), "Patient/p1")
    # The pain condition sits on the third page: found only by following the next links.
    assert len(cards) == 1 and "S9326 eligible" in cards[0]["summary"]
    paths = [path for path, _ in stub.seen]
    assert sorted(paths) == sorted(["/Patient/p1", "/Condition?patient=p1", "/Condition?patient=p1&_page=1",
                                    "/Condition?patient=p1&_page=2", "/MedicationRequest?patient=p1",
                                    *_other_searches("p1")])
    assert {auth for _, auth in stub.seen} == {f"Bearer {TOKEN}"}


def test_only_the_omitted_keys_are_fetched(tmp_path: Path) -> None:
    with fhir_stub() as stub:
        _serve_patient(stub, "p1")
        prefetch = pain_patient("p1")
        del prefetch["conditions"]
        with make_client(tmp_path) as client:
            response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", prefetch, **_auth(stub)))
    assert response.status_code == 200
    assert {path.split("?")[0] for path, _ in stub.seen} == {"/Condition"}


def test_an_operation_outcome_in_the_prefetch_is_fetched_again(tmp_path: Path) -> None:
    # Spec: the client puts an OperationOutcome where its own prefetch failed.
    with fhir_stub() as stub:
        _serve_patient(stub, "p1")
        prefetch = {**pain_patient("p1"), "conditions": {"resourceType": "OperationOutcome",
                                                         "issue": [{"severity": "error", "code": "timeout"}]}}
        with make_client(tmp_path) as client:
            response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", prefetch, **_auth(stub)))
    assert response.status_code == 200
    assert len(check_cards(response.json())) == 1


def _generic_412(response: Any) -> None:
    """The one text every failure to read from fhirServer gives (the reason is in the log)."""
    assert response.status_code == 412
    [issue] = response.json()["issue"]
    assert issue["diagnostics"].endswith("not given, and it could not be read from fhirServer")


def test_a_fhir_server_that_does_not_answer_in_time_gives_412(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with fhir_stub() as stub:
        _serve_patient(stub, "p1")
        stub.hang.add("/Condition?patient=p1")  # never answers while the call waits
        with make_client(tmp_path, fetch_timeout=0.3) as client:
            response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", None, **_auth(stub)))
    _generic_412(response)
    assert "conditions (no answer within 0.3 s)" in caplog.text


def test_a_fhir_server_error_gives_412(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with fhir_stub() as stub:
        _serve_patient(stub, "p1")
        stub.add("/MedicationRequest?patient=p1", {"resourceType": "OperationOutcome"}, status=503)
        with make_client(tmp_path) as client:
            response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", None, **_auth(stub)))
    _generic_412(response)
    assert "medications (status 503)" in caplog.text


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/fhir"


@pytest.mark.parametrize("answer", ["a closed port", "an HTTP server that has no such page", "a server that is not FHIR"])
def test_the_412_text_does_not_tell_a_closed_port_from_an_open_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, answer: str) -> None:
    with fhir_stub() as stub:
        if answer == "a server that is not FHIR":
            for path in ["/Patient/p1", "/Condition?patient=p1", "/MedicationRequest?patient=p1",
                         *_other_searches("p1")]:
                stub.routes[path] = (200, "SSH-2.0-OpenSSH_9.6")
        request = hook_request("patient-view", "p1", None, **_auth(stub))
        if answer == "a closed port":
            request["fhirServer"] = _closed_port()
        with make_client(tmp_path, fetch_timeout=0.3) as client:
            started = time.perf_counter()
            response = client.post(PATIENT_VIEW, json=request)
            elapsed = time.perf_counter() - started
    _generic_412(response)
    assert response.json() == {"resourceType": "OperationOutcome", "issue": [{
        "severity": "error", "code": "incomplete",
        "diagnostics": "request: prefetch patient, conditions, medications, observations, procedures, immunizations not given, "
                       "and it could not be read from fhirServer"}]}
    # Nor does the time: every failure waits out the deadline.
    assert elapsed >= 0.3
    assert "prefetch fetch failed" in caplog.text


def test_fetched_data_over_the_byte_cap_is_read_no_further(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with fhir_stub() as stub:
        _serve_patient(stub, "p1")
        stub.endless.add("/Condition?patient=p1")   # a Bundle that never ends
        with make_client(tmp_path, max_body_bytes=200_000, fetch_timeout=2) as client:
            response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", None, **_auth(stub)))
        _generic_412(response)
        assert "conditions (over the byte cap" in caplog.text
        # Read up to the cap and hung up on: what was sent beyond it sits in socket buffers.
        assert stub.sent["/Condition?patient=p1"] < 20_000_000


def test_fetched_resources_over_the_cap_are_not_followed_further(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_MAX_RESOURCES", "3")
    with fhir_stub() as stub:
        _serve_patient(stub, "p1")   # five conditions, two a page
        with make_client(tmp_path, fetch_timeout=0.5) as client:
            response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", None, **_auth(stub)))
    _generic_412(response)
    assert "conditions (over the resources cap" in caplog.text
    assert "/Condition?patient=p1&_page=2" not in [path for path, _ in stub.seen]


def test_missing_prefetch_without_a_fhir_server_gives_412(tmp_path: Path) -> None:
    prefetch = pain_patient("p1")
    del prefetch["medications"]
    with make_client(tmp_path) as client:
        response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", prefetch))
    assert response.status_code == 412
    assert "prefetch medications not given" in response.text


def test_the_token_is_never_sent_in_clear_text_off_this_machine(tmp_path: Path) -> None:
    body = hook_request("patient-view", "p1", None, fhirServer="http://ehr.example/fhir",
                        fhirAuthorization={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                           "scope": "user/*.read", "subject": "cds"})
    with make_client(tmp_path) as client:
        response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 412 and "not an https URL" in response.text


def test_next_pages_on_another_server_are_not_followed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with fhir_stub() as stub:
        _serve_patient(stub, "p1")
        first = stub.routes["/Condition?patient=p1"][1]
        first["link"][-1]["url"] = "https://elsewhere.example/fhir/Condition?page=2"
        with make_client(tmp_path) as client:
            response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", None, **_auth(stub)))
    _generic_412(response)
    assert "next page is on another server" in caplog.text
    assert not any("page" in path for path, _ in stub.seen)


def test_a_patient_id_that_is_not_a_fhir_id_is_refused_before_any_fetch(tmp_path: Path) -> None:
    with fhir_stub() as stub:
        with make_client(tmp_path) as client:
            body = hook_request("patient-view", "p1&_include=*", None, **_auth(stub))
            response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 400 and "context.patientId" in response.text
    assert stub.seen == []


def test_order_sign_fetches_history_and_evaluates_the_draft(tmp_path: Path) -> None:
    with fhir_stub() as stub:
        _serve_patient(stub, "p1")
        stub.pages("/MedicationRequest?patient=p1", [medication("old", "p1", "oxycodone 5 MG Oral Tablet")], 10)
        body = hook_request("order-sign", "p1", None, orders=[morphine_infusion("o1", "p1")], **_auth(stub))
        with make_client(tmp_path) as client:
            response = client.post(ORDER_SIGN, json=body)
    cards = check_cards(response.json(), "Patient/p1")
    assert "| S9326.oral-trial | met |" in cards[0]["detail"] and "MedicationRequest/old" in cards[0]["detail"]
    # The Coverage is fetched like every other key, with the CRD template, and the order's
    # coverage information names it.
    assert "/Coverage?patient=p1&status=active" in [path for path, _ in stub.seen]
    [action] = response.json()["systemActions"]
    [information] = coverage_information(action)
    assert information["coverage"] == [{"reference": "Coverage/p1-cov"}]
