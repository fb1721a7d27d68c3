"""PAS pended to decided (issue #23 item 2), with the audit trail behind each decision (item 4):
a kept request decided again by DTR answers or by a PASClaimUpdate, Subscriptions told over a
real rest-hook, requests kept six months after their services.

The patient and order are tests/hooks_support/dtr.py's S9348 case (S9348.md): every criterion
met but S9348.advanced-hf, unknown until a NYHA class is answered (class IV: met).
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from cds.audit import AuditTrail, ClaimLine, Entry, Source
from cds.audit.canonical import canonical
from cds.audit.chain import GENESIS, read_record, row_hash, seal, verify
from cds.audit.pa_metrics import trail_figures
from cds.audit.replay import replay
from cds.davinci import x12
from cds.davinci.pas_example import example_request, inquiry_for
from cds.davinci.pas_store import PasStore
from cds.evaluator import Evaluator
from cds.service.security import ANONYMOUS_CLIENT
from cds.web import AuthSettings, Settings, TrustedIssuer

from .audit_support import postgres_url  # noqa: F401 (a fixture)
from .hooks_support.checks import CheckedClient, make_client
from .hooks_support.crd import coverage_information
from .hooks_support.dtr import (NYHA_IV, ORDER_SIGN, RESPONSES, answered, bundles, dobutamine_infusion,
                                draft_of, heart_failure_patient, package_for)
from .hooks_support.patients import hook_request
from .hooks_support.tokens import ISSUER, REVIEW_SECRET, ClientKeys
from .pas_support import Receiver, notified_response, pas_request, receiving, subscription
from .hooks_support.pas import check_response_bundle
from .hooks_support.pas import extension as _extension
from .hooks_support.pas import review_code as _review_code
from .test_pas import ELIGIBLE, KNOWLEDGE, SUBMIT

AS_OF = dt.date(2026, 11, 22)
NYHA = "S9348.advanced-hf"
SUBSCRIPTION = "/fhir/Subscription"


def _codes(response: dict[str, Any]) -> dict[int, str]:
    return {i["itemSequence"]: _review_code(i["adjudication"][0]) for i in response["item"]}


def _active(client: CheckedClient, location: str) -> dict[str, Any]:
    """The Subscription once its handshake is done (it is sent on a worker thread)."""
    for _ in range(100):
        found = client.get(location).json()
        if found["status"] != "requested":
            return dict(found)
        time.sleep(0.05)
    raise AssertionError("the handshake never finished")


def _settled(client: CheckedClient, location: str, status: str) -> dict[str, Any]:
    """The Subscription once its status is `status` (deliveries run on worker threads)."""
    found: dict[str, Any] = {}
    for _ in range(200):
        found = dict(client.get(location).json())
        if found["status"] == status:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the Subscription never became {status}: {found.get('status')}")


def _subscribe(client: CheckedClient, receiver: Receiver) -> str:
    created = client.post(SUBSCRIPTION, json=subscription(receiver.url, header="Authorization: Bearer marker-token-7"))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "requested" and "marker-token" not in created.text
    path = created.headers["Location"].removeprefix("http://testserver")
    assert _active(client, path)["status"] == "active"
    [handshake] = receiver.wait(1)
    assert {p["name"]: p for p in handshake["entry"][0]["resource"]["parameter"]}["type"]["valueCode"] == "handshake"
    # The receiver's own token is sent with each notification, as channel.header says.
    assert receiver.received[0][0]["Authorization"] == "Bearer marker-token-7"
    return path


def _order_sign(client: CheckedClient, pid: str) -> dict[str, Any]:
    body = client.post(ORDER_SIGN, json=hook_request("order-sign", pid, heart_failure_patient(pid),
                                                     orders=[dobutamine_infusion("dobu", pid)]))
    assert body.status_code == 200, body.text
    [action] = body.json()["systemActions"]
    [information] = coverage_information(action)
    return information


def test_round_trip_crd_dtr_pas_pended_then_answered_then_notified(tmp_path: Path) -> None:
    """CRD card (auth needed) -> DTR questionnaire -> PAS A4 -> QuestionnaireResponse ->
    notification with A1; every decision in the audit trail, the later one linked to the pend."""
    with receiving() as receiver, make_client(tmp_path, subscription_https_only=False) as client:
        _subscribe(client, receiver)
        information = _order_sign(client, "hf1")
        assert information["pa-needed"] == ["auth-needed"]
        [package] = bundles(package_for(client, {"name": "context", "valueString": information["coverage-assertion-id"][0]}))
        draft = draft_of(package)

        request = pas_request(heart_failure_patient("hf1"), dobutamine_infusion("dobu", "hf1"), AS_OF, "S9348", KNOWLEDGE)
        pended = check_response_bundle(client.post(SUBMIT, json=request).json(), request)
        assert _codes(pended) == {1: "A4"}
        assert NYHA in " ".join(n["text"] for n in pended["processNote"])

        stored = client.post(RESPONSES, json=answered(draft, NYHA, {"valueCoding": NYHA_IV}))
        assert stored.status_code == 201
        assert "1 pended prior authorization request(s) decided again" in stored.text

        _, notification = receiver.wait(2)
        decided = notified_response(notification)
        assert _codes(decided) == {1: "A1"}
        assert decided["preAuthRef"] and _extension(decided["item"][0], x12.PRE_AUTH_PERIOD)
        # Another system asking about the request (spec-52) sees the current decision.
        [found] = client.post("/fhir/Claim/$inquire", json=inquiry_for(request)).json()["parameter"]
        assert _codes(found["resource"]["entry"][0]["resource"]) == {1: "A1"}

    records = {i["value"] for r in (pended, decided) for i in r["identifier"] if i["system"].endswith("/audit-record")}
    with AuditTrail.open(f"sqlite:///{tmp_path / 'audit.sqlite'}") as trail:
        first, second = sorted((trail.get(r) for r in records), key=lambda r: r.seq)  # type: ignore[union-attr]
        assert trail.verify().intact
        [s9348, _] = trail_figures(trail)[0]
    # The CMS-0057-F figures count it as approved after a pend, decided some time after the request.
    waited = (dt.datetime.fromisoformat(second.time) - dt.datetime.fromisoformat(first.time)).total_seconds() / 3600
    assert (s9348.requests, s9348.approved_after_pend, s9348.pended) == (1, 1, 0)
    assert s9348.median_hours == pytest.approx(waited, abs=1e-5) and waited > 0
    assert first.claim.authorization.decision == "A4"  # type: ignore[union-attr]
    assert second.claim.authorization.decision == "A1" and second.claim.authorization.follows == first.id  # type: ignore[union-attr]
    assert second.patient_assessment().assessment("S9348").criterion(NYHA).result == "met"
    # Replayed under today's rules, the decision after the pend stands (it read the answers from its facts).
    assert not replay(second, Evaluator(KNOWLEDGE)).changed


def test_a_failing_receiver_is_recorded_and_never_blocks_the_decision(tmp_path: Path) -> None:
    """The receiver answers 503 to every notification: tried three times (backoff), then the
    Subscription is in error and says why; the decision stood all along."""
    with receiving() as receiver, make_client(tmp_path, subscription_https_only=False, pas_delivery_attempts=3,
                                              pas_delivery_first_wait=0.05) as client:
        path = _subscribe(client, receiver)
        information = _order_sign(client, "hf2")
        [package] = bundles(package_for(client, {"name": "context", "valueString": information["coverage-assertion-id"][0]}))
        request = pas_request(heart_failure_patient("hf2"), dobutamine_infusion("dobu", "hf2"), AS_OF, "S9348", KNOWLEDGE)
        assert _codes(client.post(SUBMIT, json=request).json()["entry"][0]["resource"]) == {1: "A4"}
        receiver.status = 503
        assert client.post(RESPONSES, json=answered(draft_of(package), NYHA, {"valueCoding": NYHA_IV})).status_code == 201
        receiver.wait(4)
        shown = _settled(client, path, "error")
        assert "HTTP 503" in shown["error"] and "marker-token" not in str(shown)
    store = PasStore(f"sqlite:///{tmp_path / 'hooks.sqlite'}")
    deliveries = store.deliveries(path.rsplit("/", 1)[1])
    assert [(d.kind, d.ok, d.outcome) for d in deliveries] == [("handshake", True, "HTTP 200")] + [
        ("event-notification", False, "HTTP 503")] * 3
    assert [s.errors for s in store.of_client(ANONYMOUS_CLIENT)] == [1]
    # The request was decided all the same: kept as decided.
    [kept] = store.all()
    assert kept.state == "decided" and kept.codes == {"1": "A1"}


BAD_SUBSCRIPTIONS = {
    "criteria": lambda s: s | {"criteria": "http://example.org/marker-secret-7"},
    "channel": lambda s: s | {"channel": {**s["channel"], "type": "websocket"}},
    "content": lambda s: s | {"channel": {**s["channel"], "_payload": {}}},
    "filter": lambda s: s | {"_criteria": {}},
    "endpoint": lambda s: s | {"channel": {**s["channel"], "endpoint": "ftp://marker-secret-7"}},
    "not-subscription": lambda s: {"resourceType": "Patient"},
}


@pytest.fixture(scope="module")
def plain_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckedClient]:
    with make_client(tmp_path_factory.mktemp("pas-subscriptions"), subscription_https_only=False) as client:
        yield client


@pytest.mark.parametrize("change", sorted(BAD_SUBSCRIPTIONS))
def test_a_subscription_that_is_not_a_pas_one_is_refused(plain_http: CheckedClient, change: str) -> None:
    refused = plain_http.post(SUBSCRIPTION, json=BAD_SUBSCRIPTIONS[change](subscription("http://127.0.0.1:9/x")))
    assert refused.status_code in (400, 422)
    assert refused.json()["resourceType"] == "OperationOutcome" and "marker-secret" not in refused.text


# Names and spellings that resolve into the server's own network (127.1 and 2130706433 are
# 127.0.0.1 to the resolver; vm-localhost names resolve from /etc/hosts): refused on what they
# resolve to, not on how they are written.
@pytest.mark.parametrize("endpoint", ["http://receiver.example/x", "https://127.0.0.1/x", "https://localhost/x",
                                      "https://localhost:8443/x", "https://127.1/x", "https://2130706433/x",
                                      "https://[::ffff:127.0.0.1]/x",
                                      "https://10.0.0.7/x", "https://169.254.169.254/latest", "https://[::1]/x"])
def test_plain_http_and_internal_endpoints_are_refused_by_default(secure: CheckedClient, endpoint: str) -> None:
    refused = secure.post(SUBSCRIPTION, json=subscription(endpoint))
    assert refused.status_code == 422 and endpoint not in refused.text


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckedClient]:
    with make_client(tmp_path_factory.mktemp("pas-secure")) as client:
        yield client


def test_subscriptions_belong_to_their_client_and_need_a_token(tmp_path: Path) -> None:
    keys = {ISSUER: ClientKeys(), "https://other-ehr.example": ClientKeys()}
    issuers = {}
    for n, (issuer, key) in enumerate(keys.items()):
        (tmp_path / str(n)).mkdir()
        issuers[issuer] = TrustedIssuer(jwks_file=key.write_jwks(tmp_path / str(n)))
    auth = AuthSettings(issuers=issuers, review_secret=REVIEW_SECRET)

    def of(issuer: str, path: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[issuer].token('http://testserver' + path, issuer=issuer)}"}

    # receiver.example never resolves: its handshake fails once (status error), in the background.
    with make_client(tmp_path, auth=auth, pas_delivery_attempts=1) as client:
        body = subscription("https://receiver.example/notify")
        assert client.post(SUBSCRIPTION, json=body).status_code == 401
        assert client.post("/fhir/Claim/$inquire", json={}).status_code == 401
        created = client.post(SUBSCRIPTION, json=body, headers=of(ISSUER, SUBSCRIPTION))
        assert created.status_code == 201
        path = created.headers["Location"].removeprefix("http://testserver")
        assert client.get(path, headers=of(ISSUER, path)).status_code == 200
        # spec-59: only the sending system that made it reads or ends it.
        assert client.get(path, headers=of("https://other-ehr.example", path)).status_code == 404
        assert client.delete(path, headers=of("https://other-ehr.example", path)).status_code == 404
        moved = subscription("https://receiver.example/moved")
        assert client.put(path, json=moved, headers=of("https://other-ehr.example", path)).status_code == 404
        updated = client.put(path, json=moved, headers=of(ISSUER, path))
        assert updated.status_code == 200 and updated.json()["channel"]["endpoint"].endswith("/moved")
        assert client.delete(path, headers=of(ISSUER, path)).status_code == 204
        assert client.get(path, headers=of(ISSUER, path)).status_code == 404


# ---- updates (PASClaimUpdate, related.claim) ----

def _two_items() -> dict[str, Any]:
    request = example_request(ELIGIBLE[0], KNOWLEDGE)
    claim = request["entry"][0]["resource"]
    claim["item"].append({**copy.deepcopy(claim["item"][0]), "sequence": 2})
    return request


def _update(original: dict[str, Any], change: Any) -> dict[str, Any]:
    """A PAS Claim Update of the request: the original Claim included and named in related.claim."""
    update = copy.deepcopy(original)
    claim = update["entry"][0]["resource"]
    previous = copy.deepcopy(claim)
    previous_url = "urn:uuid:00000000-0000-0000-0000-0000000000c1"
    claim["id"] = f"{claim['id']}-update"
    claim["meta"] = {"profile": [x12.CLAIM_UPDATE]}
    claim["identifier"] = [{"system": "urn:example:pas:claim", "value": "update-1"}]
    claim["related"] = [{"claim": {"reference": previous_url}}]
    change(claim)
    update["identifier"] = {"system": "urn:example:pas:request", "value": "update-1"}
    update["entry"].append({"fullUrl": previous_url, "resource": previous})
    return update


def _cancel_second(claim: dict[str, Any]) -> None:
    claim["item"][1]["modifierExtension"] = [{"url": x12.INFO_CANCELLED, "valueBoolean": True}]


def test_an_update_cancels_an_item_and_keeps_the_authorization_number(tmp_path: Path) -> None:
    with make_client(tmp_path, as_of=ELIGIBLE[0].as_of) as client:
        original = _two_items()
        first = client.post(SUBMIT, json=original).json()["entry"][0]["resource"]
        assert _codes(first) == {1: "A1", 2: "A1"}
        update = _update(original, _cancel_second)
        answer = check_response_bundle(client.post(SUBMIT, json=update).json(), update)
        # spec-46: every submitted item answered, the cancelled one without a decision; spec-47: same number.
        assert [i["itemSequence"] for i in answer["item"]] == [1, 2]
        assert _review_code(answer["item"][0]["adjudication"][0]) == "A1"
        assert "extension" not in answer["item"][1]["adjudication"][0]
        assert "infoCancelled" in " ".join(n["text"] for n in answer["processNote"])
        assert answer["preAuthRef"] == first["preAuthRef"]
        # An update naming a Claim this service never decided is refused.
        stray = _update(example_request(ELIGIBLE[1], KNOWLEDGE), lambda claim: None)
        stray["entry"][-1]["resource"]["identifier"] = [{"system": "urn:example:pas:claim", "value": "marker-secret-7"}]
        refused = client.post(SUBMIT, json=stray)
        assert refused.status_code == 422 and "marker-secret" not in refused.text


CANCEL_ALL = {"url": x12.CERTIFICATION_TYPE, "valueCodeableConcept": {"coding": [
    {"system": x12.CERTIFICATION_TYPE_SYSTEM, "code": x12.CANCEL, "display": "Cancel"}]}}


def _cancel_all(with_items: bool) -> Any:
    """A Claim Update cancelling the whole request (certificationType 3 on the Claim): with no
    items, as the IG allows, or with them, as the 2.2.1 profile's item 1..* wants."""
    def change(claim: dict[str, Any]) -> None:
        claim["extension"] = [*claim.get("extension", []), CANCEL_ALL]
        if with_items:
            for item in claim["item"]:
                item["modifierExtension"] = [{"url": x12.INFO_CANCELLED, "valueBoolean": True}]
        else:
            del claim["item"]
    return change


@pytest.mark.parametrize("with_items", [False, True], ids=["no-items", "items-flagged"])
def test_a_cancel_of_the_whole_request_cancels_every_kept_item(tmp_path: Path, with_items: bool) -> None:
    """A pended request cancelled (certificationType 3 on the Claim Update): every item answered
    without a decision, the request kept as cancelled ($inquire shows it), a `cancelled` record
    following the pend in the audit trail, and the figures count a cancel, not a decision."""
    with make_client(tmp_path, subscription_https_only=False) as client:
        original = pas_request(heart_failure_patient("hf4"), dobutamine_infusion("dobu", "hf4"), AS_OF, "S9348", KNOWLEDGE)
        first = client.post(SUBMIT, json=original).json()["entry"][0]["resource"]
        assert _codes(first) == {1: "A4"}
        cancel = _update(original, _cancel_all(with_items))
        answered_ = client.post(SUBMIT, json=cancel)
        assert answered_.status_code == 200, answered_.text
        answer = check_response_bundle(answered_.json(), cancel)
        assert [i["itemSequence"] for i in answer["item"]] == [1]
        assert "extension" not in answer["item"][0]["adjudication"][0] and "preAuthRef" not in answer
        assert "certificationType 3" in answer["processNote"][0]["text"]
        assert "communicationRequest" not in answer
        [found] = client.post("/fhir/Claim/$inquire", json=inquiry_for(original)).json()["parameter"]
        assert "extension" not in found["resource"]["entry"][0]["resource"]["item"][0]["adjudication"][0]
        # A cancelled request is not updated again, and DTR answers no longer decide it.
        again = client.post(SUBMIT, json=_update(original, lambda claim: None))
        assert again.status_code == 422 and "cancelled" in again.json()["issue"][0]["diagnostics"]
    [pended_id, cancelled_id] = [next(i["value"] for i in r["identifier"] if i["system"].endswith("/audit-record"))
                                 for r in (first, answer)]
    with AuditTrail.open(f"sqlite:///{tmp_path / 'audit.sqlite'}") as trail:
        cancelled = trail.get(cancelled_id)
        assert trail.verify().intact
        [s9348, _] = trail_figures(trail)[0]
    assert cancelled is not None and cancelled.claim.authorization.decision == "cancelled"  # type: ignore[union-attr]
    assert cancelled.claim.authorization.follows == pended_id  # type: ignore[union-attr]
    assert (s9348.requests, s9348.pended, s9348.cancelled, s9348.decided) == (1, 0, 1, 0)
    # A cancellation is not re-decided by a replay.
    assert not replay(cancelled, Evaluator(KNOWLEDGE)).changed


def test_a_cancel_of_the_whole_request_names_the_request_it_cancels(tmp_path: Path) -> None:
    with make_client(tmp_path, as_of=ELIGIBLE[0].as_of) as client:
        request = example_request(ELIGIBLE[0], KNOWLEDGE)
        request["entry"][0]["resource"].setdefault("extension", []).append(CANCEL_ALL)
        del request["entry"][0]["resource"]["item"]
        refused = client.post(SUBMIT, json=request)
    assert refused.status_code == 422 and "related.claim" in refused.json()["issue"][0]["diagnostics"]


def test_an_update_with_the_missing_data_decides_the_pended_request_and_notifies(tmp_path: Path) -> None:
    """The update carries what was unknown (a NYHA class IV Observation, LOINC 88020-3 as S9348.md
    reads it): the pended item is certified and the submitter's Subscription hears of it."""
    with receiving() as receiver, make_client(tmp_path, subscription_https_only=False) as client:
        _subscribe(client, receiver)
        original = pas_request(heart_failure_patient("hf3"), dobutamine_infusion("dobu", "hf3"), AS_OF, "S9348", KNOWLEDGE)
        first = client.post(SUBMIT, json=original).json()["entry"][0]["resource"]
        assert _codes(first) == {1: "A4"}
        nyha = {"resourceType": "Observation", "id": "hf3-nyha", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "88020-3"}]},
                "subject": {"reference": "Patient/hf3"}, "effectiveDateTime": "2026-11-15",
                "valueCodeableConcept": {"coding": [NYHA_IV]}}
        update = _update(original, lambda claim: claim["item"][0].setdefault("extension", []).append(
            {"url": x12.PAS + "extension-infoChanged", "valueCode": "changed"}))
        update["entry"].append({"fullUrl": "urn:uuid:00000000-0000-0000-0000-0000000000b1", "resource": nyha})
        answer = check_response_bundle(client.post(SUBMIT, json=update).json(), update)
        assert _codes(answer) == {1: "A1"}
        _, notification = receiver.wait(2)
        assert _codes(notified_response(notification)) == {1: "A1"}
    [pended_id, decided_id] = [next(i["value"] for i in r["identifier"] if i["system"].endswith("/audit-record"))
                               for r in (first, answer)]
    with AuditTrail.open(f"sqlite:///{tmp_path / 'audit.sqlite'}") as trail:
        decided = trail.get(decided_id)
    assert decided is not None and decided.claim.authorization.follows == pended_id  # type: ignore[union-attr]


def test_a_denied_request_cannot_be_updated(tmp_path: Path) -> None:
    from .test_pas import CHOSEN

    denied = next(c for c in CHOSEN if c.expect[c.ruleset]["status"] == "not-eligible")
    with make_client(tmp_path, as_of=denied.as_of) as client:
        original = example_request(denied, KNOWLEDGE)
        assert _codes(client.post(SUBMIT, json=original).json()["entry"][0]["resource"]) == {1: "A3"}
        refused = client.post(SUBMIT, json=_update(original, lambda claim: None))
    assert refused.status_code == 422 and "denied" in refused.json()["issue"][0]["diagnostics"]


# ---- kept six months ----

def test_requests_stay_queryable_six_months_after_their_services(tmp_path: Path) -> None:
    case = ELIGIBLE[0]
    with make_client(tmp_path, as_of=case.as_of) as client:
        request = example_request(case, KNOWLEDGE)
        request["entry"][0]["resource"]["item"][0].pop("servicedDate")
        request["entry"][0]["resource"]["item"][0]["servicedPeriod"] = {"start": "2026-12-01", "end": "2027-03-01"}
        client.post(SUBMIT, json=request)
    store = PasStore(f"sqlite:///{tmp_path / 'hooks.sqlite'}")
    [kept] = store.all()
    assert kept.keep_until == dt.date(2027, 3, 1) + dt.timedelta(days=183)
    # Kept to its last day; gone once another request is saved after it.
    later = kept.model_copy(update={"key": "PA-LATER", "keep_until": dt.date(2030, 1, 1)})
    store.save(later, today=kept.keep_until)
    assert store.get(kept.key) is not None
    store.save(later, today=kept.keep_until + dt.timedelta(days=1))
    assert store.get(kept.key) is None and [k.key for k in store.of_members(set(kept.members))] == ["PA-LATER"]
    with pytest.raises(ValidationError):
        Settings(pas_retention_days=90)


def test_the_store_keeps_requests_and_subscriptions_on_postgresql(postgres_url: str, tmp_path: Path) -> None:  # noqa: F811
    case = ELIGIBLE[0]
    with make_client(tmp_path, as_of=case.as_of, pas_url=postgres_url) as client:
        first = client.post(SUBMIT, json=example_request(case, KNOWLEDGE)).json()["entry"][0]["resource"]
    store = PasStore(postgres_url)
    [kept] = store.all()
    assert kept.codes == {"1": "A1"} and kept.response["entry"][0]["resource"]["preAuthRef"] == first["preAuthRef"]
    store.close()


def test_a_claim_line_recorded_before_prior_authorizations_still_verifies() -> None:
    """Old trails keep verifying: a claim line sealed before `authorization` existed reads as none."""
    trail_record = _sealed_without_authorization()
    assert verify([trail_record]).intact
    assert read_record(trail_record).claim.authorization is None  # type: ignore[union-attr]


def _sealed_without_authorization() -> dict[str, Any]:
    case = ELIGIBLE[0]
    request = example_request(case, KNOWLEDGE)
    facts, result = _assessed(request, case.as_of)
    line = ClaimLine(claim="Claim/1", sequence=1, code=case.ruleset, service_date=case.as_of, verdict="supported",
                     reasons=[])
    row = seal(Entry.of(source=Source(kind="cli"), input_hash="0" * 64, assessment=result, facts=facts, claim=line),
               seq=1, record_id="00000000-0000-0000-0000-000000000001", time="2026-01-01T00:00:00+00:00",
               prev_hash=GENESIS)
    claim = orjson.loads(row["claim"])
    del claim["authorization"]
    row["claim"] = canonical(claim).decode()
    row["hash"] = row_hash(row)
    return row


def _assessed(request: dict[str, Any], as_of: dt.date) -> Any:
    from cds.davinci.pas import decide
    from cds.davinci.pas_request import read_request

    decided = decide(read_request(request), KNOWLEDGE, "http://testserver", as_of)
    assert decided.result is not None
    return decided.facts, decided.result
