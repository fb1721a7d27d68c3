"""The PAS Response Bundle checks every `Claim/$submit` answer of the tests is held to: the pack's
2.2.1 profiles (tests/hooks_support/profiles.py) and the test kit's structure rules
(../shared/reference/davinci/pas/testkit/src/cross_suite/pas_bundle_validation.rb, the decision
test of pas_claim_response_decision_test.rb and the item-sequence rules spec-34 / spec-46)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse
from pydantic import ValidationError

from cds import cases
from cds.davinci import x12
from cds.fhir.read import read_document
from cds.evaluator import Evaluator
from cds.knowledge import Knowledge

from . import profiles

# Must-support element ids the PAS responses of a test session showed (profiles.Checker.seen).
SEEN: set[str] = set()


def extension(element: dict[str, Any], url: str) -> Any:
    return next((e for e in element.get("extension", []) if e["url"] == url), None)


def review_code(adjudication: dict[str, Any]) -> str:
    """The X12 306 review action code of an adjudication (the test kit's decision test)."""
    action = extension(adjudication, x12.REVIEW_ACTION)
    code = extension(action, x12.REVIEW_ACTION_CODE)["valueCodeableConcept"]["coding"][0]
    assert code["system"] == "https://codesystem.x12.org/005010/306"
    assert code["display"] == x12.DISPLAYS[code["code"]]
    return str(code["code"])


def unwrap(request: Any) -> Any:
    if isinstance(request, dict) and request.get("resourceType") == "Parameters":
        parameters = request.get("parameter")
        return next((p.get("resource") for p in parameters if isinstance(p, dict) and p.get("name") == "resource"), None) \
            if isinstance(parameters, list) else None
    return request


def check_references(bundle: dict[str, Any], resource: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    """Every reference of the resource (but those under `skip`) resolves to exactly one entry
    (check_presence_of_referenced_resources; the Claim of the request need not be returned)."""
    urls = [e["fullUrl"] for e in bundle["entry"]]

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str) and not path.startswith(skip):
                assert urls.count(value["reference"]) == 1, f"{path} -> {value['reference']} is not one entry"
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for item in value:
                walk(item, path)

    walk(resource, resource["resourceType"])


def _conformant(request: dict[str, Any]) -> bool:
    try:
        Bundle.model_validate(request)
    except ValidationError:
        return False
    return not profiles.problems(request, x12.REQUEST_BUNDLE)


def check_response_bundle(bundle: dict[str, Any], request: Any) -> dict[str, Any]:
    """The PAS Response Bundle rules; returns the ClaimResponse. The resources echoed from a
    request that is not valid R4 and conformant stay as sent: what the server writes (the
    ClaimResponse and what it references) is held to R4 and the profiles."""
    sent = unwrap(request)
    known = isinstance(sent, dict) and isinstance(sent.get("entry"), list) and bool(sent["entry"])
    if not known:
        # The request is not at hand: the ClaimResponse and what the server wrote beside it.
        own = {**bundle, "entry": [e for e in bundle["entry"]
                                   if e["resource"]["resourceType"] in ("ClaimResponse", "CommunicationRequest")]}
    else:
        echoed = set() if _conformant(sent) else {e.get("fullUrl") for e in sent["entry"] if isinstance(e, dict)}
        own = {**bundle, "entry": [e for e in bundle["entry"] if e["fullUrl"] not in echoed]}
    Bundle.model_validate(own)
    profiles.check(own, x12.RESPONSE_BUNDLE, SEEN)
    assert bundle["meta"]["profile"] == [x12.RESPONSE_BUNDLE]
    assert all(e["fullUrl"].startswith(("urn:uuid:", "http")) for e in bundle["entry"]), "fullUrl: a URL or urn:uuid"
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls)), "every resource once"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "ClaimResponse" and kinds.count("ClaimResponse") == 1, "ClaimResponseFirst, one ClaimResponse"
    response = bundle["entry"][0]["resource"]
    ClaimResponse.model_validate(response)
    check_references(bundle, response, skip=("ClaimResponse.request",))
    for item in response["item"]:
        assert extension(item, x12.ITEM_TRACE_NUMBER)["valueIdentifier"]["value"]
    errors = {e["itemSequence"] for e in response.get("error", [])}
    decided = [i for i in response["item"] if i["itemSequence"] not in errors]
    # An item an update cancels (infoCancelled) is answered without a review action.
    assert all(review_code(i["adjudication"][0]) in x12.DISPLAYS for i in decided
               if extension(i["adjudication"][0], x12.REVIEW_ACTION) is not None)
    assert response["outcome"] == ("complete" if not errors else "error" if not decided else "partial")
    if known:
        claim = sent["entry"][0]["resource"]
        # spec-34: itemSequence echoes the requested item's sequence; spec-46: every item answered.
        # A cancel of the whole request may carry no items (the kit leaves that step unchecked):
        # its answer is every item of the kept request, which the cancel test checks itself.
        if claim.get("item"):
            assert sorted(i["itemSequence"] for i in response["item"]) == sorted(i["sequence"] for i in claim["item"])
    return response


def _only_its_own(case: cases.Case, knowledge: Knowledge) -> bool:
    """Whether the case's order is claimed by its own ruleset alone (the routing's answer, read
    with the service's own reading of the record)."""
    entries = read_document(cases.build(case, cases.route_codes(knowledge.terminology.routes.snomed)), "case")
    evaluator = Evaluator(knowledge)
    [record] = evaluator.records(entries, strict=False)
    orders = {ref for ref, _ in [*record.medication_requests, *record.service_requests] if ref.endswith("-order")}
    return set(evaluator.assess(record, case.as_of, orders=orders).claimed) == {case.ruleset}


def decidable(loaded: Iterable[cases.Case], knowledge: Knowledge,
              key: Callable[[cases.Case], Hashable]) -> Iterator[cases.Case]:
    """The first case of each key whose order only its own ruleset claims, so that the case
    file's expected status is the decision; known gaps and cases expecting other therapies left out."""
    done: set[Hashable] = set()
    for case in loaded:
        if case.known_gap or not isinstance(case.record.get("order"), dict) or set(case.expect) != {case.ruleset}:
            continue
        if case.expect[case.ruleset].get("status") is None or key(case) in done or not _only_its_own(case, knowledge):
            continue
        done.add(key(case))
        yield case
