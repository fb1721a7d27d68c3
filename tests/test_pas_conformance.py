"""The Inferno PAS test kit's 2.2.1 server suite as tests (issue #23 item 8;
../shared/reference/davinci/pas/testkit/pas-server-tests.md), over HTTP with the service's own
requests: the approval, denial and pended workflows (request Bundle conformant, `$submit` 200 with
a Bundle, response Bundle conformant, decision code on `item.adjudication`), must-support on the
response profiles, request/response Bundle structure (pas_bundle_validation.rb) and error
handling; then what the suite leaves to the payer: business errors in `ClaimResponse.error`, the
attachments a pended item needs and the record of items no therapy claims.

Every response is held to the pack's 2.2.1 profiles by the shared StructureDefinition checker
(tests/hooks_support/profiles.py), through the checked client.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from cds import cases, knowledge
from cds.audit import AuditTrail
from cds.audit.replay import replay
from cds.davinci import x12
from cds.davinci.pas import submit
from cds.davinci.pas_codes import pas_codes
from cds.evaluator import Evaluator
from cds.davinci.pas_example import example_request

from .conftest import REFERENCE, needs_shared
from .hooks_support import pas as checks
from .hooks_support import profiles
from .hooks_support.checks import CheckedClient, make_client
from .hooks_support.pas import check_response_bundle, extension, review_code
from .hooks_support.pas import decidable

SUBMIT = "/fhir/Claim/$submit"
BASE = "http://testserver"
KNOWLEDGE = knowledge.default()
TESTKIT = REFERENCE / "davinci" / "pas" / "testkit" / "src"
CODES = pas_codes(KNOWLEDGE.folder)
WORKFLOWS = {"approval": "A1", "denial": "A3", "pended": "A4"}


EXPECTED = {"eligible": "A1", "not-eligible": "A3", "insufficient-information": "A4", "needs-review": "A4"}


def _cases() -> dict[str, list[Any]]:
    """Two cases of each expected status that their own ruleset alone decides."""
    found: dict[str, list[Any]] = {}
    for case in decidable(cases.load().values(), KNOWLEDGE,
                          lambda c: (c.expect[c.ruleset]["status"], c.expect[c.ruleset].get("billing"))):
        listed = found.setdefault(case.expect[case.ruleset]["status"], [])
        if len(listed) < 2:
            listed.append(case)
        if len(found) == len(EXPECTED) and all(len(v) == 2 for v in found.values()):
            break
    return found


CASES = _cases()
WORKFLOW_CASES = {"approval": CASES["eligible"][0], "denial": CASES["not-eligible"][0],
                  "pended": CASES["insufficient-information"][0]}
ELIGIBLE = CASES["eligible"]
PENDED = [*CASES["insufficient-information"][:1], *CASES["needs-review"][:1]]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckedClient]:
    with make_client(tmp_path_factory.mktemp("pas-kit-http"), as_of=ELIGIBLE[0].as_of) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuditTrail]:
    with AuditTrail.open(f"sqlite:///{tmp_path_factory.mktemp('pas-kit') / 'audit.sqlite'}") as opened:
        yield opened


def _post(client: CheckedClient, request: dict[str, Any]) -> dict[str, Any]:
    response = client.post(SUBMIT, json=request)
    # pas_claim_submit_operation_test: 200 or 201, a JSON Bundle (then held to the profiles).
    assert response.status_code in (200, 201), response.text
    body = response.json()
    assert body["resourceType"] == "Bundle"
    return check_response_bundle(body, request)


def _submit(case: Any, trail: AuditTrail, request: dict[str, Any] | None = None) -> dict[str, Any]:
    sent = request if request is not None else example_request(case, KNOWLEDGE)
    return check_response_bundle(submit(sent, KNOWLEDGE, trail, BASE, case.as_of), sent)


# ---- request Bundle structure (the kit's user-input check, pas_bundle_validation.rb) ----

def check_request_bundle(request: dict[str, Any]) -> None:
    profiles.check(request, x12.REQUEST_BUNDLE)
    claim = request["entry"][0]["resource"]
    assert claim["resourceType"] == "Claim", "the first entry is the Claim"
    checks.check_references(request, claim)
    sequences = [s["sequence"] for s in claim.get("supportingInfo", [])]
    assert len(sequences) == len(set(sequences)), "supportingInfo.sequence unique"
    assert all(e["fullUrl"].startswith(("urn:uuid:", "http")) for e in request["entry"])


# ---- the three workflows (groups 2.1-2.3) ----

@pytest.mark.parametrize("workflow", sorted(WORKFLOWS))
def test_workflow_gets_its_decision_code(workflow: str, client: CheckedClient) -> None:
    request = example_request(WORKFLOW_CASES[workflow], KNOWLEDGE)
    check_request_bundle(request)
    response = _post(client, request)
    # prior_auth_claim_response_decision_validation: an item.adjudication carries the code.
    assert WORKFLOWS[workflow] in {review_code(a) for i in response["item"] for a in i["adjudication"]}


# ---- must support (group 3): what the responses show between them ----

def _must_support(profile: str) -> set[str]:
    """The must-support element ids the kit's generated list names for a response profile."""
    path = TESTKIT / "cross_suite" / "generated" / "v2.2.1" / profile / "metadata.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    listed = data[":must_supports"]
    return {*(e[":id"] for e in listed[":extensions"]), *(e[":slice_id"] for e in listed[":slices"]),
            *(f"{data[':resource']}.{e[':path']}" for e in listed[":elements"])}


# The must-support elements of the two response profiles this service never fills, and why: the
# kit's must-support group would report them missing.
NOT_PRODUCED = {
    "ClaimResponse.extension:transmissionIdentifiers": "no X12 interchange: no ISA ids to echo",
    "ClaimResponse.extension:claimResponseReviewer": "the rules decide, no human reviewer",
    "ClaimResponse.extension:authorizedProvider": "2.2.1 allows itemAuthorizedProvider on items only (its "
                                                  "context); each authorized item names it",
    "ClaimResponse.identifier.extension:subDepartment": "an X12 REF detail: no X12 source",
    "ClaimResponse.identifier.extension:jurisdiction": "an X12 REF detail: no X12 source",
    "ClaimResponse.request.extension:DataAbsentReason": "the request's Claim is always referenced",
    "ClaimResponse.item.extension:previousAuthorizationNumber": "an update keeps the authorization number "
                                                                "(spec-47): there is no previous one",
    "ClaimResponse.item.extension:administrationReferenceNumber": "no payer reference number beside preAuthRef",
    "ClaimResponse.item.extension:authorizedItemDetail": "A6 puts the authorized detail on addItem (spec-37)",
    "ClaimResponse.item.extension:admissionDates": "no admission in home infusion",
    "ClaimResponse.item.extension:dischargeDate": "no admission in home infusion",
    "ClaimResponse.item.extension:communicatedDiagnosis": "diagnoses are not echoed",
    **{f"ClaimResponse.addItem.extension:{name}": "an X12 item detail the request does not give"
       for name in ("previousAuthorizationNumber", "administrationReferenceNumber", "epsdtIndicator",
                    "nursingHomeResidentialStatus", "nursingHomeLevelOfCare", "productOrServiceCodeEnd", "revenue",
                    "revenueUnitRateLimit", "requestedService", "requestType", "certificationType", "admissionDates",
                    "dischargeDate")},
    "ClaimResponse.addItem.provider.extension:providerType": "an X12 98 provider type the request does not give",
    "ClaimResponse.addItem.modifier": "no HCPCS modifier is decided",
    "ClaimResponse.addItem.location[x]": "no place of service is decided",
    "ClaimResponse.addItem.quantity": "no units are decided (a per diem)",
    "ClaimResponse.addItem.unitPrice": "no price is decided",
    "ClaimResponse.adjudication": "decisions are per item (the kit reads item.adjudication)",
    "ClaimResponse.adjudication.extension:reviewAction": "decisions are per item",
    "ClaimResponse.error.extension:followupAction": "the X12 889 follow-up codes are not public",
    "ClaimResponse.error.extension:errorElement": "no X12 loop: errorPath names the element",
}


@needs_shared
def test_must_support_elements_of_the_response_profiles_are_shown(trail: AuditTrail) -> None:
    """Every must-support element of PAS Claim Response and PAS Response Bundle that the kit lists
    is met in some response (A1, A3, A4, A6 and a business error), but those NOT_PRODUCED says."""
    case = ELIGIBLE[0]
    billed = case.expect[case.ruleset]["billing"]
    other = next(c.expect[c.ruleset]["billing"] for c in ELIGIBLE if c.expect[c.ruleset]["billing"] != billed)
    sent = [(c, example_request(c, KNOWLEDGE)) for c in WORKFLOW_CASES.values()]
    sent += [(case, example_request(case, KNOWLEDGE, other)), (case, _with_unknown_order(example_request(case, KNOWLEDGE)))]
    seen: set[str] = set()
    for chosen, request in sent:
        profiles.check(submit(request, KNOWLEDGE, trail, BASE, chosen.as_of), x12.RESPONSE_BUNDLE, seen)
    wanted = _must_support("claimresponse") | _must_support("pas_response_bundle")
    assert set(NOT_PRODUCED) <= wanted, set(NOT_PRODUCED) - wanted
    assert sorted(wanted - set(NOT_PRODUCED) - seen) == []


# ---- error handling (group 4) ----

@needs_shared
def test_the_kits_nonconformant_bundle_gets_an_operation_outcome(client: CheckedClient) -> None:
    bundle = json.loads((TESTKIT / "server" / "v2.2.1" / "error_tests" / "nonconformant_pas_bundle.json").read_text())
    response = client.post(SUBMIT, json=bundle)
    assert not 200 <= response.status_code < 300
    assert response.json()["resourceType"] == "OperationOutcome"


# ---- business errors: ClaimResponse.error, not a failed request ----

def _with_unknown_order(request: dict[str, Any]) -> dict[str, Any]:
    item = request["entry"][0]["resource"]["item"][0]
    extension(item, x12.REQUESTED_SERVICE)["valueReference"] = {"reference": "MedicationRequest/marker-secret-7"}
    return request


def test_an_item_naming_an_order_not_in_the_bundle_is_a_business_error(client: CheckedClient) -> None:
    case = ELIGIBLE[0]
    request = _with_unknown_order(example_request(case, KNOWLEDGE))
    item = request["entry"][0]["resource"]["item"][0]
    position = item["extension"].index(extension(item, x12.REQUESTED_SERVICE))
    answer = client.post(SUBMIT, json=request)
    response = _post(client, request)
    assert response["outcome"] == "error" and "preAuthRef" not in response
    [error] = response["error"]
    assert error["itemSequence"] == 1
    assert error["code"]["coding"] == [CODES.reject_reason.fhir()]
    assert extension(error, x12.ERROR_PATH)["valueString"] == \
        f"Bundle.entry[0].resource.item[0].extension[{position}].valueReference"
    # The Claim is echoed as sent; nothing the service writes quotes the reference.
    assert "reviewAction" not in json.dumps(response["item"]) and "marker-secret" not in json.dumps(response)
    assert answer.status_code == 200
    assert "no MedicationRequest or ServiceRequest" in response["processNote"][0]["text"]


def test_a_code_of_no_therapy_is_an_error_and_the_rest_is_decided(trail: AuditTrail) -> None:
    case = ELIGIBLE[0]
    request = example_request(case, KNOWLEDGE)
    claim = request["entry"][0]["resource"]
    second = copy.deepcopy(claim["item"][0])
    second["sequence"] = 2
    second["productOrService"]["coding"][0]["code"] = "A0001"   # no therapy bills it
    claim["item"].append(second)
    response = _submit(case, trail, request)
    assert response["outcome"] == "partial" and response["preAuthRef"]
    assert [e["itemSequence"] for e in response["error"]] == [2]
    assert extension(response["error"][0], x12.ERROR_PATH)["valueString"] == \
        "Bundle.entry[0].resource.item[1].productOrService"
    assert review_code(response["item"][0]["adjudication"][0]) == "A1"


# ---- A4: the attachments the payer needs, as PAS CommunicationRequests ----

def _pended(case: Any, trail: AuditTrail) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The ClaimResponse of the case's example request, and the response Bundle's resources by fullUrl."""
    request = example_request(case, KNOWLEDGE)
    bundle = submit(request, KNOWLEDGE, trail, BASE, case.as_of)
    return check_response_bundle(bundle, request), {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


@pytest.mark.parametrize("case", PENDED, ids=[c.name for c in PENDED])
def test_a_pended_item_asks_for_each_documentation_item(case: Any, trail: AuditTrail) -> None:
    response, by_url = _pended(case, trail)
    asked = [by_url[r["reference"]] for r in response["communicationRequest"]]
    # The documentation items of the assessment: the ruleset's, as far as they apply to the order.
    documentation = {d.text: d for d in KNOWLEDGE.rulesets[case.ruleset].documentation}
    texts = [next(t for t in documentation if sent["note"][0]["text"].startswith(t)) for sent in asked]
    assert asked and len(set(texts)) == len(texts)
    for sent, text in zip(asked, texts, strict=True):
        assert sent["meta"]["profile"] == [x12.COMMUNICATION_REQUEST] and sent["status"] == "active"
        assert extension(sent, x12.SERVICE_LINE_NUMBER)["valuePositiveInt"] == response["item"][0]["itemSequence"]
        assert sent["payload"] == [{"contentString": CODES.questionnaire_attachment}]
        assert sent["identifier"][0]["value"], "IdentifierUnlessVO"
        assert sent["requester"] == response["insurer"] and sent["sender"] == response["requestor"]
        assert text in sent["note"][0]["text"] and "/fhir/Questionnaire/hit-" in sent["note"][0]["text"]


# ---- A4: the PAS Task the 2.2.1 kit looks for in $submit responses ----

# The must-support elements of PAS Task the kit cannot find in any Task this service sends, and why.
TASK_NOT_PRODUCED = {
    "Task.input:AttachmentsNeeded": "the documentation is asked for by questionnaire (102089-0), "
                                    "not by LOINC or PWK01 attachment codes",
    "Task.input:AttachmentsNeeded.extension:contentModifier": "no attachment codes asked for",
    "Task.input:AttachmentsNeeded.extension:paLineNumber": "no attachment codes asked for",
    "Task.input:AttachmentsNeeded.type": "no attachment codes asked for",
    "Task.input:AttachmentsNeeded.value[x]": "no attachment codes asked for",
    "Task.restriction.period": "the rules set no date by which the answers are due",
    "Task.statusReason": "a requested Task has no status reason",
}
TASK_SLICES = {"input:PayerURL": ("type", "payer-url"), "input:QuestionnaireContext": ("type", "questionnaire-context"),
               "input:AttachmentsNeeded": ("type", "attachments-needed")}


def _task_must_support() -> list[str]:
    """The elements the kit's `$submit` Task must-support test lists (its description's bullets)."""
    source = TESTKIT / "server" / "generated" / "v2.2.1" / "task" / "server_submit_response_must_support_task_test.rb"
    return [line.strip()[2:] for line in source.read_text(encoding="utf-8").splitlines()
            if line.strip().startswith("* Task.")]


def _present(values: list[Any], path: list[str]) -> bool:
    """Whether some value has the element the kit's path names (slices by PASTempCodes type or
    extension url; value[x] any value)."""
    if not path:
        return bool(values)
    step, rest = path[0], path[1:]
    found: list[Any] = []
    for value in values:
        if not isinstance(value, dict):
            continue
        if step == "value[x]":
            found += [v for k, v in value.items() if k.startswith("value")]
        elif step.startswith("extension:"):
            url = {"paLineNumber": x12.SERVICE_LINE_NUMBER}.get(step.split(":")[1], step.split(":")[1])
            found += [e for e in value.get("extension", []) if e.get("url") == url]
        elif step in TASK_SLICES:
            field, code = TASK_SLICES[step]
            found += [i for i in value.get("input", []) if any(c["code"] == code for c in i[field]["coding"])]
        else:
            got = value.get(step)
            found += got if isinstance(got, list) else [got] if got is not None else []
    return _present(found, rest)


@pytest.mark.parametrize("case", PENDED, ids=[c.name for c in PENDED])
def test_a_pended_item_comes_with_a_pas_task_for_its_questionnaire(case: Any, trail: AuditTrail) -> None:
    response, by_url = _pended(case, trail)
    [task] = [r for r in by_url.values() if r["resourceType"] == "Task"]
    [asked, *_] = [by_url[r["reference"]] for r in response["communicationRequest"]]
    insurer, provider = (by_url.get(r) or by_url[f"{BASE}/fhir/{r}"]
                         for r in (response["insurer"]["reference"], response["requestor"]["reference"]))
    assert task["meta"]["profile"] == [x12.TASK] and (task["status"], task["intent"]) == ("requested", "order")
    # additionalinfo.md's mapping: requester the payer, reasonReference the request, for the patient.
    assert task["requester"]["identifier"]["value"] == (insurer["identifier"][0]["value"] if "identifier" in insurer
                                                        else f"{BASE}/fhir")   # the example payer has none
    assert task["owner"]["identifier"]["value"] == provider["identifier"][0]["value"]
    assert task["reasonReference"] == response["request"] and task["for"] == response["patient"]
    assert task["code"]["coding"][0]["code"] == "attachment-request-questionnaire"   # QuestionnaireContext invariant
    inputs = {i["type"]["coding"][0]["code"]: i for i in task["input"]}
    context = inputs["questionnaire-context"]
    assert context["valueString"] in asked["note"][0]["text"]    # the questionnaire the attachments name
    assert extension(context, x12.SERVICE_LINE_NUMBER)["valuePositiveInt"] == response["item"][0]["itemSequence"]
    assert inputs["payer-url"]["valueUrl"] == f"{BASE}/fhir/QuestionnaireResponse"
    listed = _task_must_support()
    assert set(TASK_NOT_PRODUCED) <= set(listed)
    assert [p for p in listed if p not in TASK_NOT_PRODUCED and not _present([task], p.split(".")[1:])] == []


def test_an_authorization_has_its_period(trail: AuditTrail) -> None:
    case = ELIGIBLE[0]
    request = example_request(case, KNOWLEDGE)
    response = _submit(case, trail, request)
    [period] = [extension(i, x12.PRE_AUTH_PERIOD)["valuePeriod"] for i in response["item"]]
    assert response["preAuthPeriod"] == period


# ---- an item no therapy claims: pended, and on record ----

def test_an_item_no_therapy_claims_is_pended_and_recorded(trail: AuditTrail) -> None:
    case = ELIGIBLE[0]
    request = example_request(case, KNOWLEDGE)
    order = next(e["resource"] for e in request["entry"] if e["resource"].get("id") == f"{case.slug}-order")
    # An order of nothing a therapy routes: its medication or service named by text alone.
    for key in ("medicationCodeableConcept", "code"):
        if key in order:
            order[key] = {"text": "unknown preparation"}
    response = _submit(case, trail, request)
    [item] = response["item"]
    assert review_code(item["adjudication"][0]) == "A4"
    [record_id] = [i["value"] for i in response["identifier"] if i["system"] == f"{BASE}/fhir/audit-record"]
    record = trail.get(record_id)
    assert record is not None and record.source.hook == "Claim/$submit" and record.claim is None
    assessment = record.patient_assessment()
    assert assessment.assessments == []
    assert any("item 1" in w and "no home infusion therapy claims" in w for w in assessment.warnings)
    assert not replay(record, Evaluator(KNOWLEDGE)).changed
