"""Da Vinci CRD coverage information on the order hooks, on every ruleset's own case orders.

Each case's expected CRD answer is derived from its expectations (written from the criteria
pages) through the mapping of issue #12: eligible -> covered, or conditional while documentation
items remain; needs-review and insufficient-information -> conditional, asking for information;
not-eligible -> not-covered with the unmet criteria. The test client checks every response
against the 2.0.1 extension definition (tests/hooks_support/crd.py).
"""

from __future__ import annotations

import contextlib
import json
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cds import cases, knowledge
from cds.cases import Case
from cds.davinci.canonical import questionnaire_canonical
from cds.davinci.policy import PolicyError, policy_for

from .case_support import all_cases
from .hooks_support.checks import CheckedClient, make_client
from .hooks_support.crd import HCPCS, coverage_information
from .hooks_support.patients import coverage, hook_request, oral_amoxicillin, searchset

SIGN = "/cds-services/home-infusion-order-sign"
SELECT = "/cds-services/home-infusion-order-select"
BASE = "http://testserver"
# searchset() gives each entry this fullUrl: the extension refers to the Coverage by it.
EHR = "http://ehr.example/fhir"
KNOWLEDGE = knowledge.default()
ROUTES = cases.route_codes(KNOWLEDGE.terminology.routes.snomed)
PREFETCH_KEYS = {"Patient": "patient", "Condition": "conditions", "MedicationRequest": "medications",
                 "Medication": "medications", "Observation": "observations", "Procedure": "procedures",
                 "Immunization": "immunizations"}
# Cases per ruleset and expected status: enough to reach every branch of the mapping.
PER_STATUS = 2


def _picked() -> list[Case]:
    """Each ruleset's own cases with an order, a few per expected status."""
    picked = []
    every = all_cases()
    for therapy in KNOWLEDGE.rulesets:
        counts: Counter[str] = Counter()
        for case in every.values():
            if case.ruleset != therapy or "order" not in case.record or case.known_gap or therapy not in case.expect:
                continue
            # An order its therapy's routing does not claim (an oral drug) gets no card at all.
            routed = KNOWLEDGE.rulesets[therapy].routing.criterion
            if case.expect[therapy]["criteria"].get(routed) == "not-applicable":
                continue
            # An order its therapy cannot judge (route untold) may be shown under another therapy
            # that claims it too (README: the first by code whose order criterion is met, else
            # unknown): the card and its coverage information are then that therapy's.
            if case.expect[therapy]["criteria"].get(routed) == "unknown" and "service" not in case.record["order"]:
                continue
            status = case.expect[therapy]["status"]
            if counts[status] < PER_STATUS:
                counts[status] += 1
                picked.append(case)
    return picked


CASES = _picked()


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[dt.date, CheckedClient]]:
    """One client per as-of date of the cases (the service assesses as of its configured date)."""
    with contextlib.ExitStack() as stack:
        made: dict[dt.date, CheckedClient] = {}
        for day in sorted({c.as_of for c in CASES}):
            made[day] = stack.enter_context(make_client(tmp_path_factory.mktemp("crd"), as_of=day))
        yield made


def _request(case: Case, coverages: list[dict[str, Any]] | None, hook: str = "order-sign",
             extra_orders: list[dict[str, Any]] = (), **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The case as a hook call: its order as the draft, the rest of its record as prefetch."""
    bundle = cases.build(case, ROUTES)
    pid = bundle["entry"][0]["resource"]["id"]
    # The case Bundle refers by urn:uuid fullUrls; a hook's prefetch by Type/id.
    text = json.dumps([e["resource"] for e in bundle["entry"]])
    for entry in bundle["entry"]:
        text = text.replace(json.dumps(entry["fullUrl"]),
                            json.dumps(f"{entry['resource']['resourceType']}/{entry['resource']['id']}"))
    resources = json.loads(text)
    order = next(r for r in resources if r["id"] == f"{pid}-order")
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in PREFETCH_KEYS.values() if key != "patient"}
    for resource in resources:
        if resource is order or resource is patient:
            continue
        grouped[PREFETCH_KEYS.get(resource["resourceType"], "procedures")].append(resource)
    prefetch: dict[str, Any] = {"patient": patient, **{k: searchset(*v) for k, v in grouped.items()}}
    prefetch["coverage"] = None if coverages is None else searchset(*coverages)
    return hook_request(hook, patient["id"], prefetch, orders=[order, *extra_orders], **options), order


def _post(client: CheckedClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, json=body)  # the client checks cards and systemActions
    assert response.status_code == 200, response.text
    return response.json()


def _expect(case: Case) -> dict[str, Any]:
    return case.expect[case.ruleset]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_order_sign_returns_the_coverage_information_the_case_calls_for(
        clients: dict[dt.date, CheckedClient], case: Case) -> None:
    client = clients[case.as_of]
    pid = cases.build(case, ROUTES)["entry"][0]["resource"]["id"]
    body, order = _request(case, [coverage("cov-1", pid)])
    answer = _post(client, SIGN, body)
    [card] = answer["cards"]
    therapy = card["source"]["url"].rsplit("/", 1)[1]
    assert therapy == case.ruleset
    expect, ruleset = _expect(case), KNOWLEDGE.rulesets[case.ruleset]
    [action] = answer["systemActions"]
    assert action["resource"]["id"] == order["id"]
    [info] = coverage_information(action)
    assert info["coverage"] == [{"reference": f"{EHR}/Coverage/cov-1"}]
    assert info["date"] == [case.as_of.isoformat()]
    if "billing" in expect:
        assert info["billingCode"] == [{"system": HCPCS, "code": expect["billing"]}]
    texts = [r["text"] for r in info.get("reason", [])]
    required = {c.id for c in ruleset.criteria if c.required}
    status = expect["status"]
    if status == "not-eligible":
        assert info["covered"] == ["not-covered"] and "pa-needed" not in info
        assert not {"doc-needed", "info-needed", "questionnaire"} & set(info)
        unmet = [cid for cid, result in expect["criteria"].items() if result == "not-met" and cid in required]
        assert unmet and all(any(t.startswith(f"{cid} not met") for t in texts) for cid in unmet), texts
        return
    # The shipped payer policy: prior authorization for every therapy.
    assert info["pa-needed"] == ["auth-needed"]
    documentation = expect.get("documentation")
    if status == "eligible" and documentation is not None and not documentation:
        assert info["covered"] == ["covered"] and not {"doc-needed", "info-needed", "reason"} & set(info)
        return
    if status == "eligible" and documentation is None and info["covered"] == ["covered"]:
        return  # the case does not say which documentation remains
    assert info["covered"] == ["conditional"] and info["info-needed"] == ["OTH"]
    for item in documentation or []:
        assert any(t.startswith(f"Documentation needed ({item})") for t in texts), texts
    if status == "insufficient-information":
        unknown = [cid for cid, result in expect["criteria"].items() if result == "unknown" and cid in required]
        assert unknown and all(any(t.startswith(f"{cid} unknown") for t in texts) for cid in unknown), texts
    if status == "needs-review":
        warnings = {f.id for f in ruleset.findings if f.severity == "warning"} & set(expect["findings"])
        assert warnings and all(any(t.startswith(f"Needs review ({f})") for t in texts) for f in warnings), texts
    if status == "insufficient-information" or documentation:
        # The documentation goes with the prior authorization request, through the therapy's
        # DTR Questionnaire.
        assert info["doc-needed"] == ["clinical"] and info["doc-purpose"] == ["withpa"]
        assert info["questionnaire"] == [f"{BASE}/fhir/Questionnaire/hit-{case.ruleset.lower()}|{ruleset.version}"]
    # The assertion id is the audit record of this assessment (an auditor replays it).
    record = client.app.state.audit.get(info["coverage-assertion-id"][0])
    assert record is not None and [a.therapy for a in record.patient_assessment().assessments] == [case.ruleset]
    # resp-12: the card is for people and does not repeat the coverage information.
    assert not any(word in card["detail"] for word in ("auth-needed", f"{EHR}/Coverage/cov-1", info["coverage-assertion-id"][0]))


def test_every_ruleset_has_its_coverage_information_checked() -> None:
    assert {c.ruleset for c in CASES} == set(KNOWLEDGE.rulesets)
    statuses = {_expect(c)["status"] for c in CASES}
    assert statuses == {"eligible", "needs-review", "insufficient-information", "not-eligible"}


@pytest.mark.parametrize("therapy", sorted(KNOWLEDGE.rulesets))
def test_without_a_coverage_there_is_no_coverage_information(clients: dict[dt.date, CheckedClient],
                                                             therapy: str) -> None:
    case = next(c for c in CASES if c.ruleset == therapy)
    for coverages in (None, []):
        answer = _post(clients[case.as_of], SIGN, _request(case, coverages)[0])
        # The extension's coverage is 1..1: without a Coverage it cannot be returned; the card stays.
        assert len(answer["cards"]) == 1 and "systemActions" not in answer


@pytest.mark.parametrize("therapy", sorted(KNOWLEDGE.rulesets))
def test_two_coverages_give_two_extensions_with_distinct_assertion_ids(clients: dict[dt.date, CheckedClient],
                                                                       therapy: str) -> None:
    case = next(c for c in CASES if c.ruleset == therapy)
    pid = cases.build(case, ROUTES)["entry"][0]["resource"]["id"]
    client = clients[case.as_of]
    answer = _post(client, SIGN, _request(case, [coverage("cov-a", pid), coverage("cov-b", pid, payor="Other")])[0])
    [action] = answer["systemActions"]
    first, second = coverage_information(action)
    assert (first["coverage"], second["coverage"]) == ([{"reference": f"{EHR}/Coverage/cov-a"}],
                                                       [{"reference": f"{EHR}/Coverage/cov-b"}])
    # resp-32: differing coverages, distinct ids; each an audit record of the same assessment.
    ids = first["coverage-assertion-id"] + second["coverage-assertion-id"]
    assert len(set(ids)) == 2
    records = [client.app.state.audit.get(i) for i in ids]
    assert all(r is not None for r in records)
    assert records[0].assessment == records[1].assessment
    assert {k: v for k, v in first.items() if k not in ("coverage", "coverage-assertion-id")} == \
        {k: v for k, v in second.items() if k not in ("coverage", "coverage-assertion-id")}


@pytest.mark.parametrize("therapy", sorted(KNOWLEDGE.rulesets))
def test_an_order_no_therapy_claims_gets_no_system_action(clients: dict[dt.date, CheckedClient],
                                                          therapy: str) -> None:
    case = next(c for c in CASES if c.ruleset == therapy)
    pid = cases.build(case, ROUTES)["entry"][0]["resource"]["id"]
    other = oral_amoxicillin("amoxicillin-1", pid)
    body, order = _request(case, [coverage("cov-1", pid)], extra_orders=[other])
    answer = _post(clients[case.as_of], SIGN, body)
    assert [a["resource"]["id"] for a in answer["systemActions"]] == [order["id"]]
    # Alone, the unclaimed order gets neither card nor systemAction.
    body["context"]["draftOrders"]["entry"] = [{"resource": other}]
    assert _post(clients[case.as_of], SIGN, body) == {"cards": []}


def test_an_order_that_already_carries_the_same_coverage_information_gets_no_new_system_action(
        clients: dict[dt.date, CheckedClient]) -> None:
    case = _case_with("insufficient-information")
    pid = cases.build(case, ROUTES)["entry"][0]["resource"]["id"]
    body, _ = _request(case, [coverage("cov-1", pid)])
    client = clients[case.as_of]
    [action] = _post(client, SIGN, body)["systemActions"]
    # The client stored the extension on its order and calls again (resp-34): nothing is new (resp-35).
    body["context"]["draftOrders"]["entry"] = [{"resource": action["resource"]}]
    again = _post(client, SIGN, body)
    assert again["cards"] and "systemActions" not in again
    # A second Coverage is new: the order is updated again, with both.
    body["prefetch"]["coverage"] = searchset(coverage("cov-1", pid), coverage("cov-2", pid))
    [updated] = _post(client, SIGN, body)["systemActions"]
    assert [i["coverage"] for i in coverage_information(updated)] == \
        [[{"reference": f"{EHR}/Coverage/cov-1"}], [{"reference": f"{EHR}/Coverage/cov-2"}]]


def _case_with(status: str) -> Case:
    return next(c for c in CASES if _expect(c)["status"] == status)


def test_order_select_answers_only_for_selections_and_never_asks_for_information(
        clients: dict[dt.date, CheckedClient]) -> None:
    refused, unknown = _case_with("not-eligible"), _case_with("insufficient-information")
    pid = cases.build(refused, ROUTES)["entry"][0]["resource"]["id"]
    body, order = _request(refused, [coverage("cov-1", pid)], hook="order-select")
    [action] = _post(clients[refused.as_of], SELECT, body)["systemActions"]
    [info] = coverage_information(action)
    assert info["covered"] == ["not-covered"] and action["resource"]["id"] == order["id"]
    # Not selected: neither assessed nor annotated (hook-34). The selection is another draft of
    # the bundle (a selection naming no draft at all is a bad request: test_hooks_app).
    body["context"]["draftOrders"]["entry"].append({"resource": {
        "resourceType": "MedicationRequest", "id": "something-else", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"text": "amoxicillin 500 MG Oral Capsule"},
        "subject": {"reference": f"Patient/{pid}"}}})
    body["context"]["selections"] = ["MedicationRequest/something-else"]
    assert "systemActions" not in _post(clients[refused.as_of], SELECT, body)
    # Information missing: order-sign asks for it, order-select may not (hook-19) and stays silent.
    pid = cases.build(unknown, ROUTES)["entry"][0]["resource"]["id"]
    body, _ = _request(unknown, [coverage("cov-1", pid)], hook="order-select")
    answer = _post(clients[unknown.as_of], SELECT, body)
    assert answer["cards"] and "systemActions" not in answer
    body, _ = _request(unknown, [coverage("cov-1", pid)])
    assert "systemActions" in _post(clients[unknown.as_of], SIGN, body)


@pytest.mark.parametrize(("change", "reason"), [
    ({"status": "cancelled"}, "No active coverage (no-active-coverage): the Coverage's status is cancelled"),
    # Not a status R4 defines: never echoed (a 200,000-character value once came back whole).
    ({"status": "MARKER" * 1000}, "No active coverage (no-active-coverage): the Coverage's status is not active."),
    ({"period": {"start": "2025-01-01", "end": "2025-12-31"}},
     "No active coverage (no-active-coverage): the Coverage's period does not include"),
    ({"beneficiary": {"reference": "Patient/someone-else"}},
     "No member found (no-member-found): the Coverage's beneficiary is not the patient"),
])
def test_a_coverage_that_does_not_cover_the_patient_is_not_covered_with_the_ig_reason(
        clients: dict[dt.date, CheckedClient], change: dict[str, Any], reason: str) -> None:
    case = _case_with("eligible")
    pid = cases.build(case, ROUTES)["entry"][0]["resource"]["id"]
    body, _ = _request(case, [{**coverage("cov-1", pid), **change}])
    [action] = _post(clients[case.as_of], SIGN, body)["systemActions"]
    [info] = coverage_information(action)
    assert info["covered"] == ["not-covered"] and "pa-needed" not in info
    [text] = [r["text"] for r in info["reason"]]
    assert text.startswith(reason), text
    assert "MARKER" not in json.dumps(action)


def test_a_coverage_that_is_not_valid_fhir_is_a_400_naming_it(clients: dict[dt.date, CheckedClient]) -> None:
    case = _case_with("eligible")
    pid = cases.build(case, ROUTES)["entry"][0]["resource"]["id"]
    broken = {k: v for k, v in coverage("cov-1", pid).items() if k != "payor"}
    response = clients[case.as_of].post(SIGN, json=_request(case, [broken])[0])
    assert response.status_code == 400
    assert "prefetch.coverage, entry 0, Coverage.payor: required" in response.text


def test_the_client_can_turn_coverage_information_off(clients: dict[dt.date, CheckedClient]) -> None:
    case = _case_with("eligible")
    pid = cases.build(case, ROUTES)["entry"][0]["resource"]["id"]
    off = {"extension": {"davinci-crd.configuration": {"coverage-info": False, "max-cards": 5}}}
    answer = _post(clients[case.as_of], SIGN, _request(case, [coverage("cov-1", pid)], **off)[0])
    assert answer["cards"] and "systemActions" not in answer
    bad = {"extension": {"davinci-crd.configuration": {"coverage-info": "no"}}}
    response = clients[case.as_of].post(SIGN, json=_request(case, [coverage("cov-1", pid)], **bad)[0])
    assert response.status_code == 400 and "coverage-info: must be true or false" in response.text


def test_a_deployments_payer_policy_decides_prior_authorization(tmp_path: Path) -> None:
    case = _case_with("insufficient-information")
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"default: auth-needed\ntherapies: {{{case.ruleset}: no-auth}}\n", encoding="utf-8")
    pid = cases.build(case, ROUTES)["entry"][0]["resource"]["id"]
    with make_client(tmp_path, as_of=case.as_of, payer_policy=policy) as client:
        [action] = _post(client, SIGN, _request(case, [coverage("cov-1", pid)])[0])["systemActions"]
    [info] = coverage_information(action)
    # No authorization: the documentation goes with the claim instead.
    assert info["pa-needed"] == ["no-auth"] and info["doc-purpose"] == ["withclaim"]


@pytest.mark.parametrize(("text", "message"), [
    ("default: maybe\n", "default: Input should be 'no-auth', 'auth-needed' or 'performpa'"),
    ("therapies: {S9999: no-auth}\n", "no ruleset for S9999"),
    ("default: [\n", "not YAML"),
    ("colour: blue\n", "colour: Extra inputs are not permitted"),
])
def test_a_bad_payer_policy_is_refused_with_its_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="payer policy .*policy.yaml: .*" + message.split(":")[0]) as caught:
        policy_for(KNOWLEDGE.folder, KNOWLEDGE.rulesets, path)
    assert message in str(caught.value)


def test_cds_serve_refuses_a_bad_payer_policy_before_starting(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from cds.cli import main

    path = tmp_path / "policy.yaml"
    path.write_text("default: sometimes\n", encoding="utf-8")
    assert main(["serve", "--payer-policy", str(path), "--audit-url", f"sqlite:///{tmp_path / 'a.sqlite'}"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("cds serve: payer policy ") and "default: Input should be" in error


def test_the_app_does_not_start_with_a_bad_payer_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("therapies: {S9999: no-auth}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="no ruleset for S9999"), make_client(tmp_path, payer_policy=path):
        pass


def test_the_shipped_policy_cites_its_source_and_requires_authorization() -> None:
    policy = policy_for(KNOWLEDGE.folder, KNOWLEDGE.rulesets)
    assert policy.sources and policy.default == "auth-needed"
    assert all(policy.pa_needed(t) == "auth-needed" for t in KNOWLEDGE.rulesets if t not in policy.therapies)


def test_the_questionnaire_canonical_names_the_therapy_and_the_ruleset_version() -> None:
    for therapy, ruleset in KNOWLEDGE.rulesets.items():
        assert questionnaire_canonical("https://cds.example/", ruleset) == \
            f"https://cds.example/fhir/Questionnaire/hit-{therapy.lower()}|{ruleset.version}"
