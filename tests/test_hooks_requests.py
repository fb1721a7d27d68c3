"""Request validation and the leniency towards invalid FHIR in draft orders."""

from __future__ import annotations

import pytest

from cds.fhir import RawEntry
from cds.service.errors import HookError
from cds.hooks.lenient import salvage
from cds.hooks.requests import OrderSelectContext, parse_call, parse_feedback

from .hooks_support.patients import hook_request, morphine_infusion, pain_patient


def _problems(body: object, hook: str) -> list[str]:
    with pytest.raises(HookError) as caught:
        parse_call(body, hook)
    assert caught.value.status == 400
    return [str(p) for p in caught.value.problems]


def test_a_valid_order_select_call_parses_to_its_context() -> None:
    call = parse_call(hook_request("order-select", "p1", pain_patient("p1"), orders=[morphine_infusion("o1", "p1")]),
                      "order-select")
    assert isinstance(call.context, OrderSelectContext)
    assert call.context.selections == ["MedicationRequest/o1"]


def test_each_hook_requires_its_own_context_fields() -> None:
    body = hook_request("order-sign", "p1", None)
    del body["context"]["draftOrders"]
    del body["context"]["userId"]
    assert _problems(body, "order-sign") == ["request, context.userId: required",
                                             "request, context.draftOrders: required"]


def test_fhir_authorization_needs_a_fhir_server_and_a_bearer_token() -> None:
    body = hook_request("patient-view", "p1", None,
                        fhirAuthorization={"access_token": "secret-abc", "token_type": "MAC", "expires_in": 300,
                                           "scope": "x", "subject": "y"})
    problems = _problems(body, "patient-view")
    assert problems == ["request, fhirAuthorization.token_type: Input should be 'Bearer'"]
    assert not any("secret-abc" in p for p in problems)
    body["fhirAuthorization"]["token_type"] = "Bearer"
    assert _problems(body, "patient-view") == ["request, fhirServer: required when fhirAuthorization is given"]


def test_the_token_is_hidden_in_the_parsed_request() -> None:
    body = hook_request("patient-view", "p1", None, fhirServer="https://ehr.example/fhir",
                        fhirAuthorization={"access_token": "secret-abc", "token_type": "Bearer", "expires_in": 300,
                                           "scope": "x", "subject": "y"})
    call = parse_call(body, "patient-view")
    assert "secret-abc" not in repr(call) and "secret-abc" not in str(call.model_dump())


def test_feedback_outcomes_are_checked_against_their_fields() -> None:
    base = {"card": "c1", "outcomeTimestamp": "2026-11-22T10:00:00Z"}
    with pytest.raises(HookError) as caught:
        parse_feedback({"feedback": [{**base, "outcome": "overridden", "acceptedSuggestions": [{"id": "s"}]}]})
    assert "only for an accepted card" in str(caught.value)
    assert parse_feedback({"feedback": [{**base, "outcome": "overridden"}]}).feedback[0].outcome == "overridden"


def test_salvage_removes_only_the_invalid_elements_the_rules_read() -> None:
    order = morphine_infusion("o1", "p1")
    order["dosageInstruction"][0]["doseAndRate"] = {"doseQuantity": {"value": 5}}  # an object, not an array
    order["note"] = "free text"  # invalid too, but no rule reads it
    entry = RawEntry(source="context.draftOrders", entry=0, resource=order)
    kept, problems, model = salvage(entry)
    assert model is not None and model.dosageInstruction[0].doseAndRate is None
    assert "doseAndRate" not in kept.resource["dosageInstruction"][0]
    assert kept.resource["dosageInstruction"][0]["route"] == order["dosageInstruction"][0]["route"]
    assert kept.resource["note"] == "free text"
    assert [p.element for p in problems] == ["MedicationRequest.dosageInstruction.0.doseAndRate"]
    assert "doseAndRate" in entry.resource["dosageInstruction"][0], "the input itself is left as it was"


def test_salvage_leaves_valid_and_unread_resources_alone() -> None:
    valid = RawEntry(source="s", entry=0, resource=pain_patient("p1")["patient"])
    kept, problems, model = salvage(valid)
    assert (kept, problems) == (valid, []) and model is not None and model.id == "p1"
    other = RawEntry(source="s", entry=0, resource={"resourceType": "NutritionOrder", "bogus": True})
    assert salvage(other) == (other, [], None)
