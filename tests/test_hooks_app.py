"""Service calls end to end through the FastAPI test client: each hook, and each error."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from .hooks_support.checks import check_cards, make_client
from .hooks_support.fhir_stub import fhir_stub
from .hooks_support.patients import (
    baclofen_intrathecal,
    condition,
    hook_request,
    infusion_service,
    morphine_infusion,
    oral_amoxicillin,
    oral_oxycodone,
    pain_patient,
    plain_patient,
    searchset,
    spasticity_patient,
)

JSON = {"Content-Type": "application/json"}
PATIENT_VIEW = "/cds-services/home-infusion-patient-view"
ORDER_SELECT = "/cds-services/home-infusion-order-select"
ORDER_SIGN = "/cds-services/home-infusion-order-sign"


def _cards(tmp_path: Path, url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    with make_client(tmp_path) as client:
        response = client.post(url, json=body)
    assert response.status_code == 200, response.text
    return check_cards(response.json(), f"Patient/{body['context']['patientId']}")


def _therapies(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def test_patient_view_shows_a_card_only_where_the_indication_is_met(tmp_path: Path) -> None:
    [card] = _cards(tmp_path, PATIENT_VIEW, hook_request("patient-view", "p1", pain_patient("p1")))
    # One card for the therapies whose indication is met, with status and main reason.
    assert card["summary"].startswith("Home infusion candidate (") and "S9326 eligible" in card["summary"]
    assert card["indicator"] == ("info" if card["summary"].count(" eligible") == card["summary"].count(";") + 1
                                 and "not eligible" not in card["summary"] else "warning")
    assert "| S9326 continuous pain management infusion | eligible | Chronic pain on record: Chronic pain syndrome." in card["detail"]
    assert "S9363" not in card["detail"]


def test_patient_view_without_any_indication_answers_no_cards(tmp_path: Path) -> None:
    assert _cards(tmp_path, PATIENT_VIEW, hook_request("patient-view", "p1", plain_patient("p1"))) == []


def test_order_sign_cards_only_the_orders_that_start_a_therapy(tmp_path: Path) -> None:
    orders = [baclofen_intrathecal("o1", "p2"), oral_amoxicillin("o2", "p2"), oral_oxycodone("o3", "p2")]
    cards = _cards(tmp_path, ORDER_SIGN, hook_request("order-sign", "p2", spasticity_patient("p2"), orders=orders))
    assert _therapies(cards) == ["S9363"]
    # The order is evaluated as the order: its criterion is met, not "no order".
    assert "| S9363.infusion-order | met |" in cards[0]["detail"]
    assert "MedicationRequest/o1" in cards[0]["detail"]


def test_order_sign_of_an_infusion_the_record_does_not_support_warns(tmp_path: Path) -> None:
    cards = _cards(tmp_path, ORDER_SIGN, hook_request("order-sign", "p2", spasticity_patient("p2"),
                                                       orders=[morphine_infusion("o1", "p2")]))
    assert _therapies(cards) == ["S9326"]
    card = cards[0]
    assert card["indicator"] == "warning" and "not eligible" in card["summary"]
    recommended = [s for s in card["suggestions"] if s.get("isRecommended")]
    assert [s["label"] for s in recommended] == ["Refer to a pain management clinic."]
    action = recommended[0]["actions"][0]
    assert action["type"] == "create" and action["resource"]["subject"] == {"reference": "Patient/p2"}


def test_an_order_whose_medication_reference_does_not_resolve_is_reported_not_dropped(tmp_path: Path) -> None:
    # A continuous IV draft naming a contained Medication that is not there (issue 20, class 10):
    # the drug is unknown, yet the order gets a card, its order criterion unknown, the problem shown.
    order = morphine_infusion("o1", "p1")
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "#missing"}
    cards = _cards(tmp_path, ORDER_SIGN, hook_request("order-sign", "p1", pain_patient("p1"), orders=[order]))
    assert len(cards) == 1
    detail = cards[0]["detail"]
    assert "information missing" in cards[0]["summary"]
    assert "infusion-order | unknown |" in detail
    assert "medicationReference #missing resolves to no contained Medication" in detail


def test_order_sign_without_therapy_orders_answers_no_cards(tmp_path: Path) -> None:
    orders = [oral_amoxicillin("o2", "p1"), oral_oxycodone("o3", "p1")]
    assert _cards(tmp_path, ORDER_SIGN, hook_request("order-sign", "p1", pain_patient("p1"), orders=orders)) == []


def test_order_select_evaluates_only_the_selected_orders(tmp_path: Path) -> None:
    orders = [morphine_infusion("o1", "p1"), baclofen_intrathecal("o2", "p1")]
    body = hook_request("order-select", "p1", pain_patient("p1"), orders=orders,
                        selections=["MedicationRequest/o1"])
    assert _therapies(_cards(tmp_path, ORDER_SELECT, body)) == ["S9326"]
    body["context"]["selections"] = ["MedicationRequest/o2"]
    assert _therapies(_cards(tmp_path, ORDER_SELECT, body)) == ["S9363"]


def test_a_selection_that_names_no_draft_order_answers_400_not_silence(tmp_path: Path) -> None:
    body = hook_request("order-select", "p1", pain_patient("p1"), orders=[morphine_infusion("o1", "p1")],
                        selections=["MedicationRequest/o1", "MedicationRequest/<gone>"])
    with make_client(tmp_path) as client:
        response = client.post(ORDER_SELECT, json=body)
    assert response.status_code == 400
    assert "names no order in context.draftOrders" in response.text and "<gone>" not in response.text


def test_a_service_request_coded_with_the_hcpcs_code_is_an_order_for_that_therapy(tmp_path: Path) -> None:
    body = hook_request("order-select", "p1", pain_patient("p1"), orders=[infusion_service("s1", "p1", "S9326")])
    assert _therapies(_cards(tmp_path, ORDER_SELECT, body)) == ["S9326"]
    other = hook_request("order-select", "p1", pain_patient("p1"), orders=[infusion_service("s1", "p1", "S9999")])
    assert _cards(tmp_path, ORDER_SELECT, other) == []


def _transfusion(oid: str, pid: str, code: str) -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "id": oid, "status": "draft", "intent": "order",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
            "subject": {"reference": f"Patient/{pid}"}, "authoredOn": "2026-11-20"}


def test_a_service_request_coded_with_a_procedure_code_a_page_routes_is_its_order(tmp_path: Path) -> None:
    """criteria README "ServiceRequest orders": a SNOMED CT transfusion request is S9538's order
    in order-select and order-sign alike; the refused components too (their card says so); a
    procedure code no page lists gets no card."""
    prefetch = {**pain_patient("p1"), "conditions": searchset(condition("p1-mds", "p1", "D46.9", "MDS"))}
    for hook, url in (("order-select", ORDER_SELECT), ("order-sign", ORDER_SIGN)):
        red = hook_request(hook, "p1", prefetch, orders=[_transfusion("s1", "p1", "116863004")])
        [card] = _cards(tmp_path, url, red)
        assert _therapies([card]) == ["S9538"] and "| S9538.transfusion-order | met |" in card["detail"]
    plasma = hook_request("order-sign", "p1", prefetch, orders=[_transfusion("s1", "p1", "13569004")])
    [card] = _cards(tmp_path, ORDER_SIGN, plasma)
    assert "| S9538.transfusion-order | not-met |" in card["detail"]
    # 5447007 "Transfusion" (S9538.md, Unverified: not used) is no page's order.
    other = hook_request("order-sign", "p1", prefetch, orders=[_transfusion("s1", "p1", "5447007")])
    assert _cards(tmp_path, ORDER_SIGN, other) == []


def test_card_uuids_are_stable_for_one_hook_instance_and_therapy(tmp_path: Path) -> None:
    body = hook_request("order-sign", "p1", pain_patient("p1"), orders=[morphine_infusion("o1", "p1")])
    first = _cards(tmp_path, ORDER_SIGN, body)
    again = _cards(tmp_path, ORDER_SIGN, body)
    assert [c["uuid"] for c in first] == [c["uuid"] for c in again]
    assert [s["uuid"] for s in first[0]["suggestions"]] == [s["uuid"] for s in again[0]["suggestions"]]
    body["hookInstance"] = "another-instance"
    assert _cards(tmp_path, ORDER_SIGN, body)[0]["uuid"] != first[0]["uuid"]


def test_a_null_prefetch_key_means_no_data(tmp_path: Path) -> None:
    prefetch = {**pain_patient("p1"), "medications": None}
    cards = _cards(tmp_path, PATIENT_VIEW, hook_request("patient-view", "p1", prefetch))
    # No medication history: the oral trial is not met, the patient is still a candidate.
    assert "| S9326.oral-trial | not-met |" in cards[0]["detail"]


def test_a_null_patient_leaves_age_unknown_rather_than_failing(tmp_path: Path) -> None:
    prefetch = {**spasticity_patient("p1"), "patient": None}
    cards = _cards(tmp_path, PATIENT_VIEW, hook_request("patient-view", "p1", prefetch))
    assert "| S9363.age | unknown |" in cards[0]["detail"]
    assert "information missing" in cards[0]["summary"]


def test_resources_invalid_where_the_rules_do_not_read_do_not_fail_the_call(tmp_path: Path) -> None:
    prefetch = pain_patient("p1")
    prefetch["patient"]["name"] = [{"family": 42}]  # not a string: invalid R4
    order = morphine_infusion("o1", "p1")
    order["dosageInstruction"][0]["doseQuantity"] = {"value": 1}  # STU3 form, as in the spec's example
    cards = _cards(tmp_path, ORDER_SIGN, hook_request("order-sign", "p1", prefetch, orders=[order]))
    assert _therapies(cards) == ["S9326"]
    assert "| S9326.infusion-order | met |" in cards[0]["detail"]
    assert "doseQuantity: not valid FHIR R4: element ignored" in cards[0]["detail"]


def test_resources_about_another_patient_are_not_used(tmp_path: Path) -> None:
    prefetch = plain_patient("p1")
    prefetch["conditions"]["entry"].append({"resource": pain_patient("p9")["conditions"]["entry"][0]["resource"]})
    assert _cards(tmp_path, PATIENT_VIEW, hook_request("patient-view", "p1", prefetch)) == []


def test_a_patient_resource_for_another_patient_is_refused(tmp_path: Path) -> None:
    prefetch = {**pain_patient("p1"), "patient": pain_patient("p9")["patient"]}
    with make_client(tmp_path) as client:
        response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", prefetch))
    assert response.status_code == 400
    assert "not the patient of context.patientId" in response.text


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"{not json", 400, "not valid JSON"),
    (b"[]", 400, "valid dictionary"),
    (b'{"hook": "patient-view"}', 400, "hookInstance: required"),
])
def test_malformed_requests_answer_400(tmp_path: Path, body: bytes, status: int, words: str) -> None:
    with make_client(tmp_path) as client:
        response = client.post(PATIENT_VIEW, content=body, headers=JSON)
    assert response.status_code == status
    assert words in response.text


def test_a_call_for_another_hook_answers_400_without_echoing_the_hook(tmp_path: Path) -> None:
    body = {**hook_request("patient-view", "p1", pain_patient("p1")), "hook": "x" * 300_000}
    with make_client(tmp_path) as client:
        response = client.post(ORDER_SIGN, json=body)
    assert response.status_code == 400 and "this service answers order-sign only" in response.text
    assert "xxxx" not in response.text and len(response.content) < 1000


def test_an_unknown_service_id_is_not_echoed(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        response = client.post("/cds-services/" + "marker-" * 100, json={})
    assert response.status_code == 404 and "marker-" not in response.text


@pytest.mark.parametrize(("content_type", "status"), [
    ("application/json", 200),
    ("application/fhir+json", 200),
    ("application/json; charset=utf-8", 200),
    ("Application/FHIR+JSON;charset=UTF-8", 200),
    (None, 415),
    ("text/plain", 415),
    ("application/x-www-form-urlencoded", 415),
    ("application/jsonx", 415),
])
def test_only_json_content_types_are_read(tmp_path: Path, content_type: str | None, status: int) -> None:
    body = json.dumps(hook_request("patient-view", "p1", pain_patient("p1"))).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    with make_client(tmp_path) as client:
        response = client.post(PATIENT_VIEW, content=body, headers=headers)
        feedback = client.post(PATIENT_VIEW + "/feedback", content=b"{}", headers=headers)
    assert response.status_code == status
    assert feedback.status_code == (400 if status == 200 else 415)
    if status == 415:
        assert response.json()["issue"][0]["code"] == "not-supported"
        assert "must be JSON" in response.text


@pytest.mark.parametrize(("raw", "element", "key"), [
    (b'{"hook": "patient-view", "hook": "order-sign"}', None, "hook"),
    (b'{"hook": "patient-view", "context": {"patientId": "p1", "patientId": "p2"}}', "context", "patientId"),
    (b'{"prefetch": {"p": {"entry": [{"resource": {"id": "a", "id": "b"}}]}}}',
     "prefetch.p.entry[0].resource", "id"),
    (b'{"a": {"\\u0062": 1, "b": 2}}', "a", "b"),
    (b'{\n  "a" : {"b" : 1},\n  "a" : 2\n}', None, "a"),
    (b'{"note": "\\":", "note": 1}', None, "note"),
    (b'{"a":1,"a":2}', None, "a"),
    # A quote escaped as \u0022 before a colon: as many `":` as the value written back.
    (b'{"note": "\\u0022:", "a": 1, "a": 2}', None, "a"),
    (b'{"' + b"k" * 500 + b'": 1, "' + b"k" * 500 + b'": 2}', None, "k" * 64 + "\u2026"),
    # An escaped quote and colon: written back by orjson as `\":`, it once made the key counts agree.
    (b'{"birthDate": "1960-05-01", "note": "\\"\\u003a", "birthDate": "1999-01-01"}', None, "birthDate"),
    (b'{"a": {"x": "\\"\\u003a\\"\\u003a", "b": 1, "b": 2, "c": 1, "c": 2}}', "a", "b"),
])
def test_a_repeated_json_key_answers_400_naming_it(tmp_path: Path, raw: bytes, element: str | None, key: str) -> None:
    with make_client(tmp_path) as client:
        response = client.post(PATIENT_VIEW, content=raw, headers=JSON)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["diagnostics"].endswith(f"duplicate JSON key {key!r}")
    assert issue.get("expression", [None])[0] == element


@pytest.mark.parametrize("path", [PATIENT_VIEW, PATIENT_VIEW + "/feedback", "/fhir/QuestionnaireResponse",
                                  "/fhir/Questionnaire/$questionnaire-package", "/fhir/$questionnaire-package"])
def test_every_endpoint_refuses_a_repeated_key_whatever_the_escapes(tmp_path: Path, path: str) -> None:
    patient = json.dumps(pain_patient("p1")["patient"])[1:-1]
    raw = ('{"resourceType": "Parameters", "hook": "patient-view", "note": "\\"\\u003a", "patient": {'
           + patient + ', "birthDate": "1999-01-01"}}').encode()
    with make_client(tmp_path) as client:
        response = client.post(path, content=raw, headers=JSON)
    assert response.status_code == 400
    assert response.json()["issue"][0]["diagnostics"].endswith("duplicate JSON key 'birthDate'")


def test_json_text_that_looks_like_a_key_is_not_a_duplicate(tmp_path: Path) -> None:
    body = hook_request("patient-view", "p1", pain_patient("p1"))
    body["context"]["note"] = 'says "patientId": "p2", and a quote \\" too'
    with make_client(tmp_path) as client:
        assert client.post(PATIENT_VIEW, json=body).status_code == 200


def test_order_select_needs_selections_and_draft_orders(tmp_path: Path) -> None:
    body = hook_request("order-select", "p1", pain_patient("p1"), orders=[morphine_infusion("o1", "p1")])
    del body["context"]["selections"]
    body["context"]["draftOrders"] = {"resourceType": "Patient"}
    with make_client(tmp_path) as client:
        response = client.post(ORDER_SELECT, json=body)
    assert response.status_code == 400
    issues = [i["expression"][0] for i in response.json()["issue"]]
    assert issues == ["context.draftOrders", "context.selections"]


def test_unknown_service_answers_404(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        assert client.post("/cds-services/no-such-service", json={}).status_code == 404
        assert client.get("/no-such-page").status_code == 404


def test_body_over_the_limit_answers_413(tmp_path: Path) -> None:
    body = hook_request("patient-view", "p1", pain_patient("p1"))
    with make_client(tmp_path, max_body_bytes=2000) as client:
        assert client.post(PATIENT_VIEW, json=body).status_code == 200
        body["context"]["padding"] = "x" * 2000
        response = client.post(PATIENT_VIEW, json=body)
    assert response.status_code == 413


def test_body_over_the_limit_without_content_length_answers_413(tmp_path: Path) -> None:
    def chunks():  # a streamed body: no Content-Length to trust
        yield b'{"hook": "patient-view", "padding": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'
    with make_client(tmp_path, max_body_bytes=2000) as client:
        response = client.post(PATIENT_VIEW, content=chunks(), headers=JSON)
    assert response.status_code == 413


def test_tokens_and_patient_details_stay_out_of_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with fhir_stub() as stub, caplog.at_level(logging.DEBUG):
        stub.add("/Condition?patient=patient-secret-77", {"resourceType": "OperationOutcome"}, status=500)
        body = hook_request("order-sign", "patient-secret-77", pain_patient("patient-secret-77", "marker-secret"),
                            orders=[morphine_infusion("o1", "patient-secret-77")], fhirServer=stub.base,
                            fhirAuthorization={"access_token": "token-secret-99", "token_type": "Bearer",
                                               "expires_in": 300, "scope": "user/*.read", "subject": "cds"})
        with make_client(tmp_path) as client:
            assert client.post(ORDER_SIGN, json=body).status_code == 200
            del body["prefetch"]["conditions"]  # forces a fetch that fails, and its log line
            assert client.post(ORDER_SIGN, json=body).status_code == 412
            assert client.post(ORDER_SIGN, json={**body, "hook": "patient-view"}).status_code == 400
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /cds-services/{service_id}" in logged and "prefetch fetch failed for conditions" in logged
    for secret in ("token-secret-99", "patient-secret-77", "marker-secret"):
        assert secret not in logged


def test_cors_is_off_unless_configured(tmp_path: Path) -> None:
    headers = {"Origin": "https://ehr.example", "Access-Control-Request-Method": "POST"}
    with make_client(tmp_path) as client:
        assert "access-control-allow-origin" not in client.options(PATIENT_VIEW, headers=headers).headers
    with make_client(tmp_path, cors_origins=["https://ehr.example"]) as client:
        response = client.options(PATIENT_VIEW, headers={**headers, "Access-Control-Request-Headers": "authorization"})
        assert response.headers["access-control-allow-origin"] == "https://ehr.example"
        assert "authorization" in response.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e400}', b'{"a": "\\ud800"}',
                                 b'{"a": "\xff"}', b'\xef\xbb\xbf{}', "{}".encode("utf-16"),
                                 b'{"a": 1,}', b'{"a": 1' + b"0" * 5000 + b"}",
                                 # A repeat before the text goes wrong: the parse stopped at the repeat.
                                 b'{"a": 1, "a": 2, "b": }', b'[{"a": 1, "a": 2}, ' + b"[" * 3000])
def test_what_is_not_strict_json_answers_400(raw: bytes) -> None:
    from cds.service.body import parse
    from cds.service.errors import HookError

    with pytest.raises(HookError, match="not valid JSON"):
        parse(raw)


@pytest.mark.parametrize("raw", [b"[" * 101 + b"]" * 101, b'{"a": ' * 300 + b"1" + b"}" * 300,
                                 b"[" * 3000 + b"]" * 3000])
def test_json_nested_deeper_than_100_levels_answers_400(raw: bytes) -> None:
    from cds.service.body import parse
    from cds.service.errors import HookError

    assert parse(b"[" * 100 + b"]" * 100) is not None
    with pytest.raises(HookError, match="nested deeper than 100 levels"):
        parse(raw)


def test_numbers_read_as_orjson_reads_them() -> None:
    from cds.service.body import parse

    # Beyond 64 bits a float, as everywhere else the service writes JSON back out.
    assert parse(b'[1, -2, 2.5, 18446744073709551615, 123456789012345678901234567890]') == [
        1, -2, 2.5, 18446744073709551615, 1.2345678901234568e29]
    assert parse('{"a": "\\ud83d\\ude00 é"}'.encode()) == {"a": "\U0001F600 é"}
