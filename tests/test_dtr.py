"""Da Vinci DTR: each therapy's Questionnaire, `$questionnaire-package`, and completed answers
read back as record entries in the next order-sign of the same order (issue #12, DTR half).

Expected results are written from the criteria pages and the DTR 2.0.1 rules
(../shared/reference/davinci/README.md section 4), not copied from the service's output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.valueset import ValueSet

from cds import knowledge
from cds.audit import AuditTrail
from cds.davinci.canonical import questionnaire_url
from cds.davinci.answers import record_entries
from cds.davinci.items import items as questionnaire_items
from cds.davinci.items import load_data
from cds.davinci.store import StoredResponse
from cds.ruleset import RulesetError
from cds.web import AuthSettings, TrustedIssuer

from .case_support import all_cases
from .hooks_support.checks import CheckedClient, check_cards, make_client
from .hooks_support.crd import coverage_information
from .hooks_support.dtr import (BASE, DTR, LOINC, NYHA_IV, ORDER_SIGN, ORIGIN, PACKAGE, answered, bundles,
                                coverage, dobutamine_infusion, heart_failure_patient, package_for)
from .hooks_support.patients import AS_OF, UCUM, hook_request, medication, patient
from .hooks_support.tokens import ISSUER, REVIEW_SECRET, ClientKeys

RULESETS = sorted(knowledge.default().rulesets)


# ---- what every package must satisfy (DTR 2.0.1 package rules) ----

def check_package(bundle: dict[str, Any], therapy: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Bundle rules of DTR-QPackageBundle and the operation text (oper-12 ... oper-19);
    returns the Questionnaire and the draft QuestionnaireResponse."""
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    assert bundle["meta"]["profile"] == [f"{DTR}/DTR-QPackageBundle"]
    resources = [e["resource"] for e in bundle["entry"]]
    kinds = [r["resourceType"] for r in resources]
    # dtrb-1: the Questionnaire first; exactly one Questionnaire and one QuestionnaireResponse.
    assert kinds[0] == "Questionnaire" and kinds.count("Questionnaire") == 1
    assert kinds.count("QuestionnaireResponse") == 1
    assert set(kinds) <= {"Questionnaire", "QuestionnaireResponse", "ValueSet", "Library"}
    questionnaire = resources[0]
    check_questionnaire(questionnaire, therapy)
    valuesets = {f"{v['url']}|{v['version']}" if v.get("version") else v["url"]: v
                 for v in resources if v["resourceType"] == "ValueSet"}
    for valueset in valuesets.values():
        ValueSet.model_validate(valueset)
        codes = [c for include in valueset["compose"]["include"] for c in include.get("concept", [])]
        # Every ValueSet with fewer than 40 codes is sent expanded.
        if codes and len(codes) < 40 and not any("filter" in i for i in valueset["compose"]["include"]):
            assert len(valueset["expansion"]["contains"]) == len(codes)
    for item in questionnaire["item"]:
        if "answerValueSet" in item:
            # Every ValueSet the Questionnaire names is in the package, version-specific.
            assert item["answerValueSet"] in valuesets, item["answerValueSet"]
    response = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    QuestionnaireResponse.model_validate(response)
    assert response["meta"]["profile"] == [f"{DTR}/dtr-questionnaireresponse"]
    # spec-122: the draft names the Questionnaire by its versioned canonical.
    assert response["questionnaire"] == f"{questionnaire['url']}|{questionnaire['version']}"
    assert response["subject"]["reference"].startswith("Patient/")
    assert any(e["url"] == f"{DTR}/intendedUse" for e in response["extension"])
    questions = {i["linkId"]: i for i in questionnaire["item"]}
    for item in response["item"]:
        assert item["linkId"] in questions
        for answer in item.get("answer", []):
            # Every prefilled answer says the service filled it in (2.0.1 code `auto`, no author: dtrx-1).
            origin = [e for e in answer["extension"] if e["url"] == ORIGIN]
            assert len(origin) == 1 and origin[0]["extension"] == [{"url": "source", "valueCode": "auto"}]
    return questionnaire, response


def check_questionnaire(questionnaire: dict[str, Any], therapy: str) -> None:
    Questionnaire.model_validate(questionnaire)
    ruleset = knowledge.default().rulesets[therapy]
    assert questionnaire["meta"]["profile"] == [f"{DTR}/dtr-std-questionnaire"]
    assert questionnaire["url"] == questionnaire_url(BASE, therapy) == f"{BASE}/fhir/Questionnaire/hit-{therapy.lower()}"
    assert questionnaire["version"] == ruleset.version
    assert questionnaire["subjectType"] == ["Patient"]
    # One question per criterion and per documentation item, each with its text, none hidden.
    expected = [c.id for c in ruleset.criteria] + [d.id for d in ruleset.documentation]
    assert [i["linkId"] for i in questionnaire["item"]] == expected
    texts = {c.id: c.text for c in ruleset.criteria} | {d.id: d.text for d in ruleset.documentation}
    for item in questionnaire["item"]:
        assert item["text"].startswith(" ".join(texts[item["linkId"]].split()))
        assert "enableWhen" not in item
        assert item["type"] in ("boolean", "choice", "quantity", "date")
        if item["type"] == "choice":
            assert "answerValueSet" in item           # dtrq-2
        if item["type"] == "quantity":
            assert item["extension"][0]["url"] == "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption"


def _sign(client: CheckedClient, tmp_path: Path, pid: str = "hf1") -> tuple[dict[str, Any], Any]:
    """order-sign for the dobutamine order: the one card and its audit record (the CRD
    coverage-assertion-id is that record's id)."""
    card, record, _ = _sign_crd(client, tmp_path, pid)
    return card, record


def _sign_crd(client: CheckedClient, tmp_path: Path, pid: str = "hf1") -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """order-sign, with the CRD coverage information of its one systemAction ({url: [values]})."""
    body = client.post(ORDER_SIGN, json=hook_request("order-sign", pid, heart_failure_patient(pid),
                                                     orders=[dobutamine_infusion("dobu", pid)])).json()
    cards = check_cards(body, f"Patient/{pid}")
    assert [c["source"]["topic"]["code"] for c in cards] == ["S9348"]
    record_id = cards[0]["links"][0]["url"].rsplit("/", 1)[1]
    with AuditTrail.open(f"sqlite:///{tmp_path / 'audit.sqlite'}") as trail:
        record = trail.get(record_id)
    assert record is not None and record.id == record_id
    [action] = body["systemActions"]
    [information] = coverage_information(action)
    # The assertion CRD names is the record DTR reads as `context`.
    assert information["coverage-assertion-id"] == [record.id]
    return cards[0], record, information


# ---- tests ----

@pytest.mark.parametrize("therapy", RULESETS)
def test_every_therapy_has_a_questionnaire_and_a_valid_package(tmp_path: Path, therapy: str) -> None:
    with make_client(tmp_path) as client:
        fetched = client.get(f"/fhir/Questionnaire/hit-{therapy.lower()}")
        assert fetched.status_code == 200
        check_questionnaire(fetched.json(), therapy)
        # Without an assessment (coverage + questionnaire only): a blank draft for the beneficiary.
        body = package_for(client, {"name": "coverage", "resource": coverage("p9")},
                           {"name": "questionnaire", "valueCanonical": fetched.json()["url"]})
        [bundle] = bundles(body)
        _, response = check_package(bundle, therapy)
        assert response["subject"] == {"reference": "Patient/p9"}
        assert not any("answer" in i for i in response["item"])
        assert {"url": f"{DTR}/qr-context", "valueReference": {"reference": "Coverage/cov-p9"}} in response["extension"]


def test_the_package_from_a_coverage_assertion_is_prefilled_from_its_assessment(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        card, record = _sign(client, tmp_path)
        assessment = record.patient_assessment().assessment("S9348")
        body = package_for(client, {"name": "coverage", "resource": coverage("hf1")},
                           {"name": "context", "valueString": record.id})
        [bundle] = bundles(body)
        _, response = check_package(bundle, "S9348")
    answers = {i["linkId"]: i["answer"][0] for i in response["item"] if "answer" in i}
    # S9348.md, for this record: heart failure, GDMT, inpatient start, continuous IV order and
    # home setting are met (yes); NYHA class missing (unknown: not answered); documentation
    # items are never answered from the record.
    assert {k: a["valueBoolean"] for k, a in answers.items()} == {
        "S9348.indication": True, "S9348.gdmt": True, "S9348.inpatient-start": True,
        "S9348.infusion-order": True, "S9348.home-setting": True}
    assert assessment.criterion("S9348.advanced-hf").result == "unknown"
    assert response["identifier"] == {"system": "urn:home-infusion-cds:coverage-assertion-id", "value": record.id}
    contexts = [e["valueReference"]["reference"] for e in response["extension"] if e["url"] == f"{DTR}/qr-context"]
    assert contexts == ["Coverage/cov-hf1", "MedicationRequest/dobu"]
    assert response["subject"] == {"reference": "Patient/hf1"} and response["authored"] == AS_OF
    # The NYHA question is a choice among the NYHA answers (S9348.md: class IV, class I or II).
    questionnaire = bundle["entry"][0]["resource"]
    nyha = next(i for i in questionnaire["item"] if i["linkId"] == "S9348.advanced-hf")
    assert nyha["type"] == "choice"
    answer_set = next(e["resource"] for e in bundle["entry"]
                      if e["resource"]["resourceType"] == "ValueSet"
                      and nyha["answerValueSet"] == f"{e['resource']['url']}|{e['resource']['version']}")
    assert {c["code"] for c in answer_set["expansion"]["contains"]} == {"LA28404-4", "LA28405-1", "LA28407-7"}


def test_round_trip_an_answer_settles_the_unknown_criterion_at_the_next_order_sign(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        card, record, crd = _sign_crd(client, tmp_path)
        before = record.patient_assessment().assessment("S9348")
        assert before.status == "insufficient-information"
        assert "information missing" in card["summary"]
        # CRD: conditional, documentation asked in this service's Questionnaire.
        assert crd["covered"] == ["conditional"] and crd["doc-needed"] == ["clinical"]
        assert crd["questionnaire"] == [f"{questionnaire_url(BASE, 'S9348')}|2026.1"]
        # Both operation paths answer the same.
        [bundle] = bundles(package_for(client, {"name": "context", "valueString": record.id},
                                       path="/fhir/$questionnaire-package"))
        _, draft = check_package(bundle, "S9348")
        filled = answered(draft, "S9348.advanced-hf", {"valueCoding": NYHA_IV})
        stored = client.post("/fhir/QuestionnaireResponse", json=filled)
        assert stored.status_code == 201
        response_id = stored.headers["location"].rsplit("/", 1)[1]
        assert record.id in stored.json()["issue"][0]["diagnostics"]
        card, again, crd = _sign_crd(client, tmp_path)
        after = again.patient_assessment().assessment("S9348")
        nyha = after.criterion("S9348.advanced-hf")
        # S9348.md: NYHA class IV within 90 days meets advanced-hf; with every other criterion
        # met and no safety finding the order is eligible.
        assert (nyha.result, nyha.category) == ("met", "nyha-iv")
        assert nyha.evidence == [f"QuestionnaireResponse/{response_id}#S9348.advanced-hf"]
        assert after.status == "eligible"
        assert ": eligible." in card["summary"]
        # The answer is a record entry of the audited facts, so a replay reads it too.
        assert any(o.ref == nyha.evidence[0] for o in again.patient_facts().observations)
        # CRD: still conditional while documentation items remain, but no longer for the NYHA class.
        assert crd["covered"] == ["conditional"]
        assert not any("S9348.advanced-hf" in r.get("text", "") for r in crd.get("reason", []))
        assert after.documentation
        # Every documentation item attested in the next response: none remains, so covered.
        [bundle] = bundles(package_for(client, {"name": "context", "valueString": again.id}))
        _, draft = check_package(bundle, "S9348")
        for item in after.documentation:
            draft = answered(draft, item.id, {"valueBoolean": True})
        assert client.post("/fhir/QuestionnaireResponse", json=draft).status_code == 201
        card, last, crd = _sign_crd(client, tmp_path)
    final = last.patient_assessment().assessment("S9348")
    assert final.status == "eligible" and final.documentation == []
    assert {d.item for d in last.patient_facts().documented} == {d.id for d in after.documentation}
    assert crd["covered"] == ["covered"] and "doc-needed" not in crd


def test_answers_count_only_for_their_own_order_and_when_completed(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        _, record = _sign(client, tmp_path)
        [bundle] = bundles(package_for(client, {"name": "context", "valueString": record.id}))
        _, draft = check_package(bundle, "S9348")
        in_progress = answered(draft, "S9348.advanced-hf", {"valueCoding": NYHA_IV}) | {"status": "in-progress"}
        assert client.post("/fhir/QuestionnaireResponse", json=in_progress).status_code == 201
        _, again = _sign(client, tmp_path)
        assert again.patient_assessment().assessment("S9348").criterion("S9348.advanced-hf").result == "unknown"
        # Completed, but about another order of the patient.
        other = answered(draft, "S9348.advanced-hf", {"valueCoding": NYHA_IV})
        for extension in other["extension"]:
            if extension["url"] == f"{DTR}/qr-context":
                extension["valueReference"]["reference"] = "MedicationRequest/another"
        assert client.post("/fhir/QuestionnaireResponse", json=other).status_code == 201
        _, again = _sign(client, tmp_path)
        assert again.patient_assessment().assessment("S9348").criterion("S9348.advanced-hf").result == "unknown"


def test_a_package_from_orders_alone_assesses_them_and_records_the_assertion(tmp_path: Path) -> None:
    order = dobutamine_infusion("dobu", "hf2")
    with make_client(tmp_path) as client:
        body = package_for(client, {"name": "coverage", "resource": coverage("hf2")},
                           {"name": "order", "resource": order},
                           {"name": "referenced", "resource": patient("hf2")})
        [bundle] = bundles(body)
        _, response = check_package(bundle, "S9348")
    answers = {i["linkId"]: i["answer"][0]["valueBoolean"] for i in response["item"] if "answer" in i}
    # Only the order is known: no heart failure on record (indication not met), a continuous
    # IV inotrope ordered (met), no homelessness (met); the rest unknown and unanswered.
    assert answers == {"S9348.indication": False, "S9348.infusion-order": True, "S9348.home-setting": True}
    with AuditTrail.open(f"sqlite:///{tmp_path / 'audit.sqlite'}") as trail:
        record = trail.get(response["identifier"]["value"])
    assert record is not None and record.patient == "Patient/hf2" and set(record.rulesets) == {"S9348"}


def test_an_order_no_therapy_claims_gets_an_outcome_saying_why(tmp_path: Path) -> None:
    """No questionnaire applies, so no conformant PackageBundle exists (it holds exactly one
    Questionnaire): the operation answers a bare OperationOutcome (oper-11) saying why and what
    to do (oper-8). So does a request of questionnaires none of which is ours."""
    oral = medication("amox", "p1", "amoxicillin 500 MG Oral Capsule", status="draft", authored=AS_OF)
    with make_client(tmp_path) as client:
        answer = client.post(PACKAGE, json={"resourceType": "Parameters",
                                            "parameter": [{"name": "order", "resource": oral}]})
        unknown = client.post(PACKAGE, json={"resourceType": "Parameters", "parameter": [
            {"name": "coverage", "resource": coverage("p9")},
            {"name": "questionnaire", "valueCanonical": f"{BASE}/fhir/Questionnaire/MARKER"}]})
    assert answer.status_code == 422 and answer.json()["resourceType"] == "OperationOutcome"
    [issue] = answer.json()["issue"]
    assert "no home infusion therapy of this service claims the orders" in issue["diagnostics"]
    assert "CRD" in issue["diagnostics"] and "amoxicillin" not in answer.text
    assert unknown.status_code == 422 and "MARKER" not in unknown.text
    assert "not Questionnaires of this service" in unknown.json()["issue"][0]["diagnostics"]


def test_questionnaires_asked_for_are_added_and_unknown_ones_are_a_warning(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        _, record = _sign(client, tmp_path)
        body = package_for(client, {"name": "context", "valueString": record.id},
                           {"name": "questionnaire", "valueCanonical": questionnaire_url(BASE, "S9347")},
                           {"name": "questionnaire", "valueCanonical": f"{BASE}/fhir/Questionnaire/MARKER"})
        # Row 299: the union of the context's questionnaire and the one asked for; row 301: the
        # unknown one is a warning in the outcome.
        found = [check_package(b, b["entry"][0]["resource"]["id"][4:].upper())[0]["id"] for b in bundles(body)]
        assert found == ["hit-s9348", "hit-s9347"]
        [outcome] = [p["resource"] for p in body["parameter"] if p["name"] == "operationOutcome"]
        assert [i["severity"] for i in outcome["issue"]] == ["warning"] and "MARKER" not in str(outcome)


def test_the_draft_s_intended_use_follows_the_payer_policy(tmp_path: Path) -> None:
    """Without prior authorization (the policy's no-auth) the documentation goes with the claim,
    as CRD's doc-purpose says; by default (auth-needed) with the prior authorization."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("default: auth-needed\ntherapies: {S9348: no-auth}\n")
    uses = {}
    for name, settings in (("default", {}), ("no-auth", {"payer_policy": policy})):
        with make_client(tmp_path / name, **settings) as client:
            [bundle] = bundles(package_for(client, {"name": "coverage", "resource": coverage("p9")},
                                           {"name": "questionnaire",
                                            "valueCanonical": questionnaire_url(BASE, "S9348")}))
        _, response = check_package(bundle, "S9348")
        [use] = [e["valueCodeableConcept"]["coding"][0]["code"] for e in response["extension"]
                 if e["url"] == f"{DTR}/intendedUse"]
        uses[name] = use
    assert uses == {"default": "withpa", "no-auth": "withclaim"}


def test_the_quantity_answer_is_recorded_in_its_unit(tmp_path: Path) -> None:
    """S9347.hemodynamics asks for mean pulmonary artery pressure in mm[Hg] (S9347.md, L33794)."""
    with make_client(tmp_path) as client:
        questionnaire = client.get("/fhir/Questionnaire/hit-s9347").json()
    item = next(i for i in questionnaire["item"] if i["linkId"] == "S9347.hemodynamics")
    assert item["type"] == "quantity"
    assert item["extension"][0]["valueCoding"]["code"] == "mm[Hg]"
    # A completed answer becomes the Observation the criterion reads: LOINC 8414-5 (S9347.md),
    # valued in mm[Hg], dated when the response was authored.
    pressure = {"value": 38, "unit": "mm Hg", "system": UCUM, "code": "mm[Hg]"}
    stored = StoredResponse(id="r1", patient="Patient/p1", therapy="S9347", assertion_id="a1", orders=[],
                            status="completed", authored=dt.date(2026, 11, 20), resource={"item": [
                                {"linkId": "S9347.hemodynamics", "answer": [{"valueQuantity": pressure}]},
                                {"linkId": "S9347.indication", "answer": [{"valueBoolean": True}]}]})
    [(ref, observation)] = record_entries(knowledge.default(), [stored], "Patient/p1")
    assert ref == "QuestionnaireResponse/r1#S9347.hemodynamics"
    assert [(c.system, c.code) for c in observation.code.coding] == [(LOINC, "8414-5")]
    assert (float(observation.valueQuantity.value), observation.valueQuantity.code) == (38.0, "mm[Hg]")
    assert observation.status == "final" and str(observation.effectiveDateTime)[:10] == "2026-11-20"


BAD_CONTEXT = "no-such-assertion-MARKER"


@pytest.mark.parametrize(("parameters", "status"), [
    ([{"name": "context", "valueString": BAD_CONTEXT}], 404),
    ([{"name": "coverage", "resource": coverage("p1")}], 400),                      # dtr-1
    ([{"name": "order", "resource": dobutamine_infusion("d", "p1")},
      {"name": "coverage", "resource": coverage("someone-else")}], 422),
    ([{"name": "order", "resource": dobutamine_infusion("d", "p1")},
      {"name": "coverage", "resource": coverage("p1", status="cancelled")}], 422),
    ([{"name": "order", "resource": {"resourceType": "Patient", "id": "MARKER"}}], 400),
])
def test_bad_package_input_is_a_4xx_operation_outcome_that_echoes_nothing(
        tmp_path: Path, parameters: list[dict[str, Any]], status: int) -> None:
    with make_client(tmp_path) as client:
        response = client.post(PACKAGE, json={"resourceType": "Parameters", "parameter": parameters})
        assert response.status_code == status
        assert response.json()["resourceType"] == "OperationOutcome"
        assert "MARKER" not in response.text
        assert client.post(PACKAGE, json={"resourceType": "Bundle"}).status_code == 400
        assert client.post(PACKAGE, content=b"{not json", headers={"content-type": "application/json"}).status_code == 400


def test_a_response_that_does_not_fit_its_questionnaire_is_refused(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        _, record = _sign(client, tmp_path)
        [bundle] = bundles(package_for(client, {"name": "context", "valueString": record.id}))
        _, draft = check_package(bundle, "S9348")
        good = answered(draft, "S9348.advanced-hf", {"valueCoding": NYHA_IV})
        class_iii = {"system": LOINC, "code": "LA28406-9"}     # not an offered answer
        bad = {
            "not an option": answered(draft, "S9348.advanced-hf", {"valueCoding": class_iii}),
            "wrong type": answered(draft, "S9348.advanced-hf", {"valueBoolean": True}),
            "unknown questionnaire": good | {"questionnaire": f"{BASE}/fhir/Questionnaire/MARKER|1"},
            "old version": good | {"questionnaire": good["questionnaire"].split("|")[0] + "|1900.1"},
            "no assertion": {k: v for k, v in good.items() if k != "identifier"},
            "unknown assertion": good | {"identifier": {"system": good["identifier"]["system"], "value": "MARKER"}},
            "another patient": good | {"subject": {"reference": "Patient/MARKER"}},
            "unknown item": good | {"item": [{"linkId": "MARKER", "answer": [{"valueBoolean": True}]}]},
        }
        for name, body in bad.items():
            response = client.post("/fhir/QuestionnaireResponse", json=body)
            assert response.status_code == 422, name
            assert "MARKER" not in response.text, name
        for invalid in (good | {"status": "MARKER"}, good | {"authored": "MARKER"}, good | {"item": "MARKER"}, good | {"MARKER": 1}):
            response = client.post("/fhir/QuestionnaireResponse", json=invalid)
            assert response.status_code == 400 and "MARKER" not in response.text
        assert client.post("/fhir/QuestionnaireResponse", json=good).status_code == 201


def test_metadata_and_unknown_resources(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        statement = client.get("/fhir/metadata").json()
        CapabilityStatement.model_validate(statement)
        [questionnaire] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Questionnaire"]
        assert questionnaire["operation"][0]["name"] == "questionnaire-package"
        assert client.get("/fhir/Questionnaire/MARKER").status_code == 404
        assert client.get("/fhir/ValueSet/nyha-class-iv").json()["expansion"]["contains"][0]["code"] == "LA28407-7"


def test_the_fhir_endpoints_need_the_hooks_authentication(tmp_path: Path) -> None:
    keys = ClientKeys()
    auth = AuthSettings(issuers={ISSUER: TrustedIssuer(jwks_file=keys.write_jwks(tmp_path))},
                        review_secret=REVIEW_SECRET)
    with make_client(tmp_path, auth=auth) as client:
        parameters = {"resourceType": "Parameters", "parameter": [{"name": "context", "valueString": "x"}]}
        assert client.post(PACKAGE, json=parameters).status_code == 401
        assert client.post("/fhir/QuestionnaireResponse", json={"resourceType": "QuestionnaireResponse"}).status_code == 401
        assert client.get("/fhir/Questionnaire/hit-s9348").status_code == 401
        token = keys.token(BASE + PACKAGE)
        answered = client.post(PACKAGE, json=parameters, headers={"Authorization": f"Bearer {token}"})
        assert answered.status_code == 404       # authenticated; the context is unknown


@pytest.mark.parametrize(("data", "problem"), [
    ("therapy: S9348\nitems:\n  - {id: S9348.nothing, sources: [criteria S9348]}\n", "no criterion"),
    ("therapy: S9348\nitems:\n  - {id: S9348.advanced-hf, type: choice, options: [no-such-set], "
     "sources: [criteria S9348]}\n", "unknown value set"),
    ("therapy: S9348\nitems:\n  - {id: S9348.advanced-hf, type: boolean, records: {condition: heart-failure},"
     " sources: [criteria S9348]}\n", "exactly one concept"),
    ("therapy: S9348\nitems:\n  - {id: S9348.advanced-hf, type: choice, options: [nyha-class-iv], "
     "sources: [not a source]}\n", "not listed"),
    ("therapy: S9348\nitems:\n  - {id: S9348.advanced-hf, type: quantity, sources: [criteria S9348]}\n", "unit"),
])
def test_questionnaire_data_is_checked_against_its_ruleset(tmp_path: Path, data: str, problem: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    known = knowledge.default()
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    (folder / "S9348.yaml").write_text(data)
    monkeypatch.setattr(known, "folder", tmp_path)
    with pytest.raises(RulesetError, match=problem):
        load_data(known, known.rulesets["S9348"])


def test_every_shipped_questionnaire_data_file_loads() -> None:
    known = knowledge.default()
    for ruleset in known.rulesets.values():
        load_data(known, ruleset)
    files = sorted(p.stem for p in (known.folder / "questionnaires").glob("*.yaml"))
    assert files and set(files) <= set(known.rulesets)


def test_cds_questionnaire_prints_the_questionnaire(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from cds.cli import main

    assert main(["questionnaire", "s9348", "--base-url", BASE]) == 0
    check_questionnaire(json.loads(capsys.readouterr().out), "S9348")
    assert main(["questionnaire", "S9348", "--base-url", BASE, "--with-valuesets"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [e["resource"]["resourceType"] for e in printed["entry"]][0] == "Questionnaire"
    assert {e["resource"]["id"] for e in printed["entry"][1:]} >= {"nyha-class-iv", "nyha-class-i-ii"}
    assert main(["questionnaire", "NOPE"]) == 2
    assert "no ruleset" in capsys.readouterr().err


def test_the_criteria_catalog_links_each_therapy_to_its_questionnaire(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        for therapy in RULESETS:
            page = client.get(f"/criteria/{therapy}").text
            path = f"/fhir/Questionnaire/hit-{therapy.lower()}"
            assert f"<code>{path}</code> on the service" in page
            # The link answers: the catalog and the service name the same Questionnaire.
            assert client.get(path).json()["version"] == knowledge.default().rulesets[therapy].version


def test_the_readme_package_call_answers_as_shown(tmp_path: Path) -> None:
    import json
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Da Vinci DTR"):readme.index("## Payers")]
    body = re.search(r"<<'JSON'\n(.*?)\nJSON\n", section, re.S).group(1)
    hooks = readme[readme.index("### Example"):readme.index("### Conformance")]
    request = json.loads(re.search(r"<<'JSON'\n(.*?)\nJSON\n", hooks, re.S).group(1))
    with make_client(tmp_path) as client:
        cards = check_cards(client.post(ORDER_SIGN, json=request).json())
        assertion = cards[0]["links"][0]["url"].rsplit("/", 1)[1]
        answer = package_for(client, *json.loads(body.replace("<coverage-assertion-id>", assertion))["parameter"])
    [bundle] = bundles(answer)
    questionnaire, response = check_package(bundle, cards[0]["source"]["topic"]["code"])
    assert questionnaire["id"] in section and response["status"] == "in-progress"
    assert "cds questionnaire THERAPY" in section


def _order_case(therapy: str) -> Any:
    """A test case of the therapy (fixtures/cases, written from its page) with an order and no
    known gap: a status case first."""
    found = [c for c in all_cases().values() if c.ruleset == therapy and "order" in c.record
             and not c.known_gap and therapy in c.expect]
    return sorted(found, key=lambda c: (not c.name.startswith(f"{therapy}.status/"), c.name))[0]


def _loose(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's resources as an EHR sends them: references `Type/id`, not the Bundle's urn:uuid."""
    import json

    text = json.dumps([e["resource"] for e in bundle["entry"]])
    for entry in bundle["entry"]:
        text = text.replace(entry["fullUrl"], f"{entry['resource']['resourceType']}/{entry['resource']['id']}")
    return json.loads(text)


def _case_package(tmp_path: Path, case: Any, therapy: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A case's order and the QuestionnaireResponse of the therapy's package for it."""
    from cds import cases

    resources = _loose(cases.build(case, cases.route_codes(knowledge.default().terminology.routes.snomed)))
    order = next(r for r in resources if r["id"] == f"{case.slug}-order")
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    with make_client(tmp_path, as_of=case.as_of) as client:
        body = package_for(client, {"name": "coverage", "resource": coverage(pid)},
                           {"name": "order", "resource": order},
                           *({"name": "referenced", "resource": r} for r in resources if r is not order))
    by_therapy = {b["entry"][0]["resource"]["id"]: b for b in bundles(body)}
    _, response = check_package(by_therapy[f"hit-{therapy.lower()}"], therapy)
    return order, response


@pytest.mark.parametrize("therapy", RULESETS)
def test_every_therapy_s_package_for_its_order_is_prefilled_as_its_page_says(tmp_path: Path, therapy: str) -> None:
    case = _order_case(therapy)
    order, response = _case_package(tmp_path, case, therapy)
    assert f"{order['resourceType']}/{order['id']}" in [
        e["valueReference"]["reference"] for e in response["extension"] if e["url"] == f"{DTR}/qr-context"]
    # The yes/no answers are the case's expected criterion results (met: yes, not met: no);
    # criteria expected unknown or not applicable stay unanswered.
    questions = {i.link_id: i for i in questionnaire_items(knowledge.default(), therapy)}
    expected = {c: r == "met" for c, r in case.expect[therapy]["criteria"].items()
                if r in ("met", "not-met") and questions[c].type == "boolean"}
    answered = {i["linkId"]: i["answer"][0].get("valueBoolean") for i in response["item"] if "answer" in i}
    assert {k: v for k, v in answered.items() if questions[k].type == "boolean"} == expected, case.name
    unsettled = {c for c, r in case.expect[therapy]["criteria"].items() if r in ("unknown", "not-applicable")}
    assert not unsettled & set(answered), case.name


def test_a_quantity_printed_in_another_spelling_is_prefilled_in_the_item_s_unit(tmp_path: Path) -> None:
    """Issue #20 class 4: an mPAP printed "mmHg" prefills the hemodynamics answer in mm[Hg]."""
    _, response = _case_package(tmp_path, all_cases()["S9347.hemodynamics/printed-mmhg"], "S9347")
    answers = {i["linkId"]: i["answer"][0] for i in response["item"] if "answer" in i}
    quantity = answers["S9347.hemodynamics"]["valueQuantity"]
    assert (quantity["value"], quantity["code"]) == (38, "mm[Hg]")


def test_a_yes_answer_records_the_declared_condition_and_a_no_records_nothing(tmp_path: Path) -> None:
    """The `condition` mapping (rulesets/questionnaires/README.md), on a rulesets folder whose
    data declares one: a yes becomes an active Condition coded with the value set's concept."""
    import shutil

    folder = tmp_path / "rulesets"
    shutil.copytree(knowledge.default().folder, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (folder / "questionnaires" / "S9348.yaml").write_text(
        "therapy: S9348\nitems:\n  - {id: S9348.doc.bridge-or-palliative, type: boolean, "
        "records: {condition: awaiting-transplant}, sources: [criteria S9348]}\n")
    loaded = knowledge.load(folder)
    item = next(i for i in questionnaire_items(loaded, "S9348") if i.link_id == "S9348.doc.bridge-or-palliative")
    assert (item.kind, item.type, item.records.condition) == ("documentation", "boolean", "awaiting-transplant")

    def answered(value: bool, rid: str) -> StoredResponse:
        return StoredResponse(id=rid, patient="Patient/p1", therapy="S9348", assertion_id="a1", orders=[],
                              status="completed", authored=dt.date(2026, 11, 20), resource={"item": [
                                  {"linkId": "S9348.doc.bridge-or-palliative", "answer": [{"valueBoolean": value}]}]})

    [(ref, recorded)] = record_entries(loaded, [answered(True, "yes")], "Patient/p1")
    assert ref == "QuestionnaireResponse/yes#S9348.doc.bridge-or-palliative"
    # Z76.82: the one concept of rulesets/valuesets/awaiting-transplant.json.
    assert [(c.system, c.code) for c in recorded.code.coding] == [("http://hl7.org/fhir/sid/icd-10-cm", "Z76.82")]
    assert recorded.clinicalStatus.coding[0].code == "active"
    assert record_entries(loaded, [answered(False, "no")], "Patient/p1") == []
    # The later response counts: a yes then a no records nothing.
    later = answered(False, "later").model_copy(update={"authored": dt.date(2026, 11, 21)})
    assert record_entries(loaded, [answered(True, "yes"), later], "Patient/p1") == []
