"""Da Vinci PAS `Claim/$submit` (issue #23, first slice): a PAS Request Bundle in, a PAS Response
Bundle out, each item decided by the therapy that claims its order.

The checks follow the Inferno PAS test kit's 2.2.1 server suite
(../shared/reference/davinci/pas/testkit/pas-server-tests.md): the decision test (a reviewAction
on `item.adjudication` with X12 306 code A1 / A3 / A4), the response Bundle checks of
`pas_bundle_validation.rb` (collection, identifier, timestamp, ClaimResponse first and only,
every reference of the ClaimResponse but `request` resolving to exactly one entry, fullUrl on
each entry), the item-sequence echo (spec-34) and the error group (an empty Bundle -> non-2xx
with an OperationOutcome). The expected decision of each test case comes from the status its
case file expects (fixtures/cases), as the IG's examples map decisions: eligible -> A1,
not-eligible -> A3, insufficient-information / needs-review -> A4.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from cds import cases, knowledge
from cds.audit import AuditTrail
from cds.audit.replay import replay
from cds.cli import main
from cds.davinci import x12
from cds.davinci.canonical import questionnaire_url
from cds.davinci.pas import submit
from cds.davinci.pas_example import example_case, example_request
from cds.evaluator import Evaluator
from cds.web import AuthSettings, TrustedIssuer

from .case_support import all_cases
from .hooks_support import profiles
from .hooks_support.checks import CheckedClient, make_client
from .hooks_support.pas import check_response_bundle, decidable, extension, review_code
from .hooks_support.tokens import ISSUER, REVIEW_SECRET, ClientKeys
from .readme_script import ROOT, run_serve_example

pytestmark = pytest.mark.heavy

SUBMIT = "/fhir/Claim/$submit"
BASE = "http://testserver"
EXPECTED = {"eligible": "A1", "not-eligible": "A3", "insufficient-information": "A4", "needs-review": "A4"}
LOADED = all_cases()
KNOWLEDGE = knowledge.default()


def _chosen() -> list[cases.Case]:
    """One case per ruleset and expected status whose order only its own ruleset claims (the
    case file's expectation is then the decision), known gaps left out."""
    chosen: dict[tuple[str, str], cases.Case] = {}
    for case in decidable(LOADED.values(), KNOWLEDGE, lambda c: (c.ruleset, c.expect[c.ruleset]["status"])):
        chosen[(case.ruleset, case.expect[case.ruleset]["status"])] = case
    return [chosen[k] for k in sorted(chosen)]


CHOSEN = _chosen()
ELIGIBLE = [c for c in CHOSEN if c.expect[c.ruleset]["status"] == "eligible"]


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuditTrail]:
    with AuditTrail.open(f"sqlite:///{tmp_path_factory.mktemp('pas') / 'audit.sqlite'}") as opened:
        yield opened


def _submit(case: cases.Case, trail: AuditTrail, code: str | None = None) -> dict[str, Any]:
    return submit(example_request(case, KNOWLEDGE, code), KNOWLEDGE, trail, BASE, case.as_of)


@pytest.mark.parametrize("case", CHOSEN, ids=[c.name for c in CHOSEN])
def test_decision_follows_the_case(case: cases.Case, trail: AuditTrail) -> None:
    request = example_request(case, KNOWLEDGE)
    response = check_response_bundle(submit(request, KNOWLEDGE, trail, BASE, case.as_of), request)
    expect = case.expect[case.ruleset]
    [item] = response["item"]
    code = review_code(item["adjudication"][0])
    assert code == EXPECTED[expect["status"]]
    notes = {n["number"]: n["text"] for n in response.get("processNote", [])}
    note = " ".join(notes[n] for n in item.get("noteNumber", []))
    if code == "A1":
        assert response["preAuthRef"].startswith("PA")
        assert extension(item, x12.PRE_AUTH_ISSUE_DATE)["valueDate"] == case.as_of.isoformat()
        assert extension(item, x12.PRE_AUTH_PERIOD)["valuePeriod"]["start"]
        # The provider authorized is the one who asked.
        assert extension(item, x12.AUTHORIZED_PROVIDER)["extension"] == [
            {"url": "provider", "valueReference": response["requestor"]}]
        assert "addItem" not in response
    elif code == "A3":
        unmet = [c for c, result in expect["criteria"].items() if result == "not-met"]
        assert unmet and all(c in note for c in unmet)
        assert "preAuthRef" not in response
    else:
        unknown = [c for c, result in expect["criteria"].items() if result == "unknown"]
        assert all(c in note for c in unknown)
        assert questionnaire_url(BASE, case.ruleset) in note
        assert extension(item, x12.PRE_AUTH_PERIOD) is None
    if code != "A1":
        assert extension(item, x12.AUTHORIZED_PROVIDER) is None


def test_every_status_is_exercised() -> None:
    assert {c.expect[c.ruleset]["status"] for c in CHOSEN} == set(EXPECTED)


@pytest.mark.parametrize("therapy", sorted({c.ruleset for c in ELIGIBLE}))
def test_the_example_request_is_a_pas_request_bundle(therapy: str) -> None:
    """As the test kit's request check: valid R4, a collection whose first entry is the Claim, every
    reference of the Claim resolving to exactly one entry, the item naming its order."""
    case = example_case(LOADED, therapy)
    assert case is not None
    request = example_request(case, KNOWLEDGE)
    Bundle.model_validate(request)
    assert request["type"] == "collection" and request["meta"]["profile"] == [x12.REQUEST_BUNDLE]
    claim = request["entry"][0]["resource"]
    assert claim["resourceType"] == "Claim" and claim["use"] == "preauthorization"
    urls = [e["fullUrl"] for e in request["entry"]]
    references = [claim["patient"], claim["insurer"], claim["provider"], claim["insurance"][0]["coverage"],
                  extension(claim["item"][0], x12.REQUESTED_SERVICE)["valueReference"]]
    assert all(urls.count(r["reference"]) == 1 for r in references)
    profiles.check(request, x12.REQUEST_BUNDLE)


def test_a_code_other_than_the_rules_pick_is_modified(trail: AuditTrail) -> None:
    case = ELIGIBLE[0]
    billed = case.expect[case.ruleset]["billing"]
    other = next(c.expect[c.ruleset]["billing"] for c in ELIGIBLE if c.expect[c.ruleset]["billing"] != billed)
    request = example_request(case, KNOWLEDGE, other)
    response = check_response_bundle(submit(request, KNOWLEDGE, trail, BASE, case.as_of), request)
    [item] = response["item"]
    assert review_code(item["adjudication"][0]) == "A6"
    # spec-36/37: the requested item A6; what is authorized in addItem, linked by itemSequence.
    [added] = response["addItem"]
    assert added["itemSequence"] == [item["itemSequence"]]
    assert added["productOrService"]["coding"][0]["code"] == billed
    detail = extension(added, x12.AUTHORIZED_DETAIL)["extension"][0]
    assert detail["valueCodeableConcept"]["coding"][0]["code"] == billed
    assert review_code(added["adjudication"][0]) == "A1"
    assert added["servicedPeriod"] == extension(added, x12.PRE_AUTH_PERIOD)["valuePeriod"]
    assert added["provider"] == [response["requestor"]] and extension(item, x12.AUTHORIZED_PROVIDER) is None
    assert billed in " ".join(n["text"] for n in response["processNote"])


def test_two_items_for_one_order_certified_and_modified(trail: AuditTrail) -> None:
    case = ELIGIBLE[0]
    billed = case.expect[case.ruleset]["billing"]
    other = next(c.expect[c.ruleset]["billing"] for c in ELIGIBLE if c.expect[c.ruleset]["billing"] != billed)
    request = example_request(case, KNOWLEDGE)
    claim = request["entry"][0]["resource"]
    second = copy.deepcopy(claim["item"][0])
    second["sequence"] = 3
    second["productOrService"]["coding"][0]["code"] = other
    claim["item"].append(second)
    response = check_response_bundle(submit(request, KNOWLEDGE, trail, BASE, case.as_of), request)
    codes = {i["itemSequence"]: review_code(i["adjudication"][0]) for i in response["item"]}
    assert codes == {1: "A1", 3: "A6"}
    assert [a["itemSequence"] for a in response["addItem"]] == [[3]]
    # Item numbers are the request's authorization number and the item's sequence.
    numbers = [extension(i["adjudication"][0], x12.REVIEW_ACTION)["extension"][0]["valueString"]
               for i in [response["item"][0], response["addItem"][0]]]
    assert numbers == [f"{response['preAuthRef']}-1", f"{response['preAuthRef']}-3"]
    assert len([i for i in response["identifier"] if i["system"] == f"{BASE}/fhir/audit-record"]) == 2


def test_authorization_number_is_stable_and_unique(trail: AuditTrail) -> None:
    first, second = ELIGIBLE[0], ELIGIBLE[1]
    again = [_submit(first, trail)["entry"][0]["resource"]["preAuthRef"] for _ in range(2)]
    assert again[0] == again[1]
    assert _submit(second, trail)["entry"][0]["resource"]["preAuthRef"] != again[0]


def test_items_without_requested_service_take_the_draft_orders(trail: AuditTrail) -> None:
    case = ELIGIBLE[0]
    request = example_request(case, KNOWLEDGE)
    claim = request["entry"][0]["resource"]
    item = claim["item"][0]
    item["extension"] = [*[e for e in item["extension"] if e["url"] != x12.REQUESTED_SERVICE],
                         {"url": x12.ITEM_TRACE_NUMBER, "valueIdentifier": {"system": "urn:trace", "value": "T-7"}}]
    claim["item"].append({**copy.deepcopy(item), "sequence": 5})
    response = check_response_bundle(submit(request, KNOWLEDGE, trail, BASE, case.as_of), request)
    assert [review_code(i["adjudication"][0]) for i in response["item"]] == ["A1", "A1"]
    # The item's trace number is returned as sent.
    assert extension(response["item"][1], x12.ITEM_TRACE_NUMBER)["valueIdentifier"]["value"] == "T-7"


def test_each_decision_is_an_audit_record(trail: AuditTrail) -> None:
    case = next(c for c in CHOSEN if c.expect[c.ruleset]["status"] == "not-eligible")
    response = _submit(case, trail)["entry"][0]["resource"]
    [record_id] = [i["value"] for i in response["identifier"] if i["system"] == f"{BASE}/fhir/audit-record"]
    record = trail.get(record_id)
    assert record is not None and record.source.hook == "Claim/$submit"
    assert record.claim is not None and record.claim.sequence == 1 and record.claim.code == case.ruleset
    assert record.claim.reasons[0] == "prior authorization A3 Not Certified"
    assert record.rulesets == {case.ruleset: KNOWLEDGE.rulesets[case.ruleset].full_version}
    assert record.patient_assessment().assessment(case.ruleset).status == "not-eligible"
    assert len(record.input_hash) == 64
    # Replayed under today's rules (the same rules), the decision stands.
    assert not replay(record, Evaluator(KNOWLEDGE)).changed


# ---- the endpoint: wrapper, errors, security ----

@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckedClient]:
    with make_client(tmp_path_factory.mktemp("pas-http"), as_of=ELIGIBLE[0].as_of) as test_client:
        yield test_client


def test_submit_over_http_plain_and_wrapped(client: CheckedClient) -> None:
    request = example_request(ELIGIBLE[0], KNOWLEDGE)
    plain = client.post(SUBMIT, json=request)
    wrapped = client.post(SUBMIT, json={"resourceType": "Parameters",
                                        "parameter": [{"name": "resource", "resource": request}]})
    for response in (plain, wrapped):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/fhir+json")
        body = check_response_bundle(response.json(), request)
        assert review_code(body["item"][0]["adjudication"][0]) == "A1"


def test_metadata_lists_the_operations_and_subscriptions(client: CheckedClient) -> None:
    """As the pack's IntermediaryCapabilities: both Claim operations by versioned canonical, and
    Subscription create, update and delete on the PAS topic (spec-55)."""
    statement = client.get("/fhir/metadata").json()
    CapabilityStatement.model_validate(statement)
    [claim] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Claim"]
    assert claim["operation"] == [{"name": "submit", "definition": f"{x12.SUBMIT_OPERATION}|2.2.1"},
                                  {"name": "inquire", "definition": f"{x12.INQUIRE_OPERATION}|2.2.1"}]
    [subscription] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Subscription"]
    assert {"create", "update", "delete"} <= {i["code"] for i in subscription["interaction"]}
    assert subscription["extension"][0]["valueCanonical"].endswith("/SubscriptionTopic/PASSubscriptionTopic")


def _broken(change: str) -> dict[str, Any]:
    request = example_request(ELIGIBLE[0], KNOWLEDGE)
    claim = request["entry"][0]["resource"]
    if change == "empty":
        return {"resourceType": "Bundle", "type": "collection", "entry": []}
    if change == "no-claim-first":
        request["entry"].append(request["entry"].pop(0))
    elif change == "another-patient":
        other = {"resourceType": "Patient", "id": "marker-secret-7", "gender": "unknown"}
        request["entry"].append({"fullUrl": "urn:uuid:00000000-0000-0000-0000-00000000beef", "resource": other})
        claim["patient"] = {"reference": "urn:uuid:00000000-0000-0000-0000-00000000beef"}
    elif change == "wrong-profile":
        claim["meta"] = {"profile": ["http://example.org/marker-secret-7"]}
    elif change == "not-preauthorization":
        claim["use"] = "claim"
    return request


@pytest.mark.parametrize("change", ["empty", "no-claim-first", "another-patient", "wrong-profile",
                                    "not-preauthorization"])
def test_unprocessable_bundles_get_one_operation_outcome(client: CheckedClient, change: str) -> None:
    response = client.post(SUBMIT, json=_broken(change))
    assert 400 <= response.status_code < 500
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"]
    assert "marker-secret" not in response.text


MALFORMED: list[tuple[str, Any]] = [
    ("patient", "Patient/x"), ("patient", {"reference": 7}), ("insurer", None), ("type", "professional"),
    ("item", "one"), ("item", [{"sequence": "1"}]), ("item", [{"sequence": 1, "extension": 3}]),
    ("item", [{"sequence": 1, "extension": [{"url": x12.REQUESTED_SERVICE, "valueReference": "x"}]}]),
    ("meta", {"profile": 5}), ("identifier", "x"),
]


@pytest.mark.parametrize(("element", "value"), MALFORMED, ids=[f"{e}-{n}" for n, (e, _) in enumerate(MALFORMED)])
def test_malformed_claims_get_a_4xx_never_a_500(client: CheckedClient, element: str, value: Any) -> None:
    request = example_request(ELIGIBLE[0], KNOWLEDGE)
    request["entry"][0]["resource"][element] = value
    response = client.post(SUBMIT, json=request)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"


def test_submit_needs_a_token_when_auth_is_on(tmp_path: Path) -> None:
    keys = ClientKeys()
    auth = AuthSettings(issuers={ISSUER: TrustedIssuer(jwks_file=keys.write_jwks(tmp_path))},
                        review_secret=REVIEW_SECRET)
    with make_client(tmp_path, auth=auth) as client:
        response = client.post(SUBMIT, json=example_request(ELIGIBLE[0], KNOWLEDGE))
    assert response.status_code == 401


def test_body_over_the_limit_answers_413(tmp_path: Path) -> None:
    with make_client(tmp_path, max_body_bytes=2000) as client:
        response = client.post(SUBMIT, json=example_request(ELIGIBLE[0], KNOWLEDGE))
    assert response.status_code == 413


# ---- the command line ----

def test_cli_example_then_submit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = ELIGIBLE[0]
    assert main(["pas", "example", case.ruleset]) == 0
    request = orjson.loads(capsys.readouterr().out)
    assert request == example_request(example_case(LOADED, case.ruleset), KNOWLEDGE)  # type: ignore[arg-type]
    path = tmp_path / "request.json"
    path.write_bytes(orjson.dumps(request))
    chosen = example_case(LOADED, case.ruleset)
    assert chosen is not None
    assert main(["pas", "submit", str(path), "--as-of", chosen.as_of.isoformat(),
                 "--audit-url", f"sqlite:///{tmp_path / 'audit.sqlite'}"]) == 0
    response = check_response_bundle(orjson.loads(capsys.readouterr().out), request)
    assert review_code(response["item"][0]["adjudication"][0]) == "A1"
    with AuditTrail.open(f"sqlite:///{tmp_path / 'audit.sqlite'}") as recorded:
        [record] = list(recorded.records())
    assert record.source.kind == "cli" and record.source.hook == "Claim/$submit"


def test_cli_refuses_an_unknown_therapy_and_a_bad_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pas", "example", "NOPE"]) == 2
    path = tmp_path / "bad.json"
    path.write_text('{"resourceType": "Bundle", "type": "collection", "entry": []}')
    assert main(["pas", "submit", str(path), "--audit-url", f"sqlite:///{tmp_path / 'a.sqlite'}"]) == 2
    assert "no entries" in capsys.readouterr().err


def test_the_readme_example_certifies_the_request(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n### Example: a prior authorization request\n"):]
    script = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    out = run_serve_example(script.replace("/tmp/pas-request.json", str(tmp_path / "request.json")), tmp_path)
    response = orjson.loads(out)["entry"][0]["resource"]
    assert review_code(response["item"][0]["adjudication"][0]) == "A1"
    assert response["preAuthRef"]
