"""The review pages (cds/review) through the test client: what a clinician sees and records."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cds import knowledge
from cds.web import AuthSettings, TrustedIssuer
from cds.service.overrides import OVERRIDE_REASONS, card_uuid
from cds.service.security import ReviewTokens as AuthTokens

from .hooks_support.crd import check_system_actions
from .hooks_support.patients import hook_request, morphine_infusion, pain_patient
from .hooks_support.tokens import ISSUER, REVIEW_SECRET, ClientKeys
from .review_support.pages import CASES, App, fixture_json, review_app, section, text

ELIGIBLE = "S9326.indication/cancer-related-pain"
WORDS = {"eligible": "Eligible", "needs-review": "Needs review",
         "insufficient-information": "Information missing", "not-eligible": "Not eligible"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with review_app(tmp_path) as running:
        yield running


def _fixture_text(name: str) -> str:
    return fixture_json(name)


def _expected(name: str) -> dict[str, str]:
    return {therapy: a["status"] for therapy, a in CASES[name].expect.items()}


def _badge(page: str, therapy: str) -> str:
    head = section(page, f"therapy-{therapy}")
    return text(re.search(r'<span class="badge[^"]*">.*?</span>\s*</span>|<span class="badge.*?</span>', head,
                          re.S).group(0))  # type: ignore[union-attr]


def test_the_form_offers_every_fixture_patient_with_its_description(app: App) -> None:
    page = app.client.get("/review").text
    assert CASES
    for name, case in CASES.items():
        assert f'value="{name}"' in page
        assert text(case.description) in text(page)


def test_every_form_control_has_a_label(app: App) -> None:
    page = app.client.get("/review").text
    controls = re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', page)
    assert set(controls) == {"fixture", "bundle", "upload", "as_of"}
    for control in controls:
        assert f'<label for="{control}">' in page


def _one_case_per_therapy_and_status() -> list[str]:
    """The first case (by name) expecting each status of each therapy: every therapy's section is
    shown in every status the cases give it. tests/test_fixtures.py checks every case's assessment;
    here the page is what is tested. A known gap is a case where the engine disagrees with the spec
    (the page shows the engine): left out."""
    chosen: dict[tuple[str, str], str] = {}
    for name in sorted(n for n, case in CASES.items() if not case.known_gap):
        for therapy, status in _expected(name).items():
            chosen.setdefault((therapy, status), name)
    return sorted(set(chosen.values()))


@pytest.mark.parametrize("name", _one_case_per_therapy_and_status())
def test_each_fixture_patient_shows_its_expected_status_per_therapy(app: App, name: str) -> None:
    page = app.client.get(app.assess(fixture=name)).text
    for therapy, status in _expected(name).items():
        head = text(section(page, f"therapy-{therapy}"))
        assert f"{WORDS[status]}:" in head, f"{therapy} should read {WORDS[status]}"


def test_the_review_shows_reasons_evidence_and_catalog_links(app: App) -> None:
    page = app.client.get(app.assess(fixture=ELIGIBLE)).text
    s9326, s9363 = section(page, "therapy-S9326"), section(page, "therapy-S9363")
    assert "✓ Eligible" in text(s9326) and "✕ Not eligible" in text(s9363)
    reader = text(s9326)
    assert "Cancer-related pain on record: Neoplasm related pain (acute) (chronic)." in reader
    # Evidence from the stored facts: type, id, code, display, dates.
    assert "Condition S9326.indication--cancer-related-pain-c1 G89.3 Neoplasm related pain" in reader
    assert "acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet since 2026-08-01, ongoing" in reader
    assert "hydromorphone hydrochloride 2 MG/ML Injectable Solution ordered 2026-11-20" in reader
    assert 'href="/criteria/S9326#S9326.indication"' in s9326
    assert "Signed plan of care naming drug, dose, route, rate and duration." in reader
    assert "Per diem: each day the patient has access to the therapy." in reader
    # Ranked alternatives, the recommended one marked.
    alternatives = text(s9363[s9363.index("Alternatives"):s9363.index("Billing")])
    assert alternatives.index("Recommended Physical therapy") < alternatives.index("Optimize oral anti-spasmodics")
    # Each catalog link lands on an entry that exists.
    for link in set(re.findall(r'href="(/criteria/S\d{4})#([^"]+)"', page)):
        assert f'id="{link[1]}"' in app.client.get(link[0]).text


def test_a_cited_observation_shows_its_value_and_date(app: App) -> None:
    """Issue #20 class 9: the vancomycin levels finding cites the latest trough and its date."""
    page = app.client.get(app.assess(fixture="S9494.safety.vancomycin-levels/latest-trough-cited")).text
    s9494 = text(section(page, "therapy-S9494"))
    findings = s9494[s9494.index("Safety findings"):s9494.index("Documentation needed")]
    assert "Latest trough: Vancomycin [Mass/volume] in Serum or Plasma --trough 17 ug/mL on 2026-11-18." in findings
    assert ("Observation S9494.safety.vancomycin-levels--latest-trough-cited-o3 Vancomycin [Mass/volume] in Serum "
            "or Plasma --trough 2026-11-18 · 17 ug/mL") in findings


def test_findings_are_grouped_by_severity(app: App) -> None:
    page = app.client.get(app.assess(fixture="S9326.safety.benzodiazepine/active")).text
    s9326 = text(section(page, "therapy-S9326"))
    assert "Needs review" in s9326
    findings = s9326[s9326.index("Safety findings"):s9326.index("Documentation needed")]
    assert findings.startswith("Safety findings Warnings Active benzodiazepine with an opioid infusion")
    assert "lorazepam 1 MG Oral Tablet" in findings


def test_an_evaluation_is_stored_with_its_facts_and_opens_by_its_permalink(app: App) -> None:
    location = app.assess(fixture=ELIGIBLE, as_of="2026-11-22")
    assert re.fullmatch(rf"/review/{UUID}", location)
    [record] = app.records()
    assert location == f"/review/{record.id}"
    assert record.patient == "Patient/S9326.indication--cancer-related-pain"
    assert record.as_of.isoformat() == "2026-11-22"
    # Every loaded ruleset is assessed, as a candidate when no order is signed.
    assert {a.therapy for a in record.patient_assessment().assessments} == set(knowledge.default().rulesets)
    assert record.patient_facts().conditions[0].codes == ["G89.3"]
    page = app.client.get(location).text
    assert record.id in page and "Patient/S9326.indication--cancer-related-pain" in page


def test_an_evaluation_from_the_page_is_recorded_as_the_review_page(app: App) -> None:
    app.assess(fixture=ELIGIBLE)
    assert app.records()[0].source.kind == "review"


def test_the_as_of_date_is_the_one_assessed(app: App) -> None:
    app.assess(fixture=ELIGIBLE, as_of="2025-01-15")
    assert app.records()[0].as_of.isoformat() == "2025-01-15"


def test_a_pasted_bundle_an_uploaded_file_and_ndjson_are_assessed(app: App) -> None:
    bundle = _fixture_text(ELIGIBLE)
    app.assess(bundle=bundle)
    response = app.client.post("/review", data={"as_of": ""}, files={"upload": ("patient.json", bundle.encode())},
                               follow_redirects=False)
    assert response.status_code == 303
    resources = [e["resource"] for e in json.loads(bundle)["entry"]]
    app.assess(bundle="\n".join(json.dumps(r) for r in resources))
    records = app.records()
    assert len(records) == 3
    # One input, however it came: one hash.
    assert len({r.input_hash for r in records}) == 1


BAD_INPUTS = [
    ({"bundle": "this is not json"}, "bundle", "This is not JSON (Expecting value at line 1, column 1)"),
    ({"bundle": '{"hello": "world"}'}, "bundle", "This is JSON, but not FHIR"),
    ({"bundle": json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/x"}}}]})},
     "bundle", "No Patient resource: the assessment needs the patient the data is about."),
    ({"bundle": '{"resourceType": "Patient", "id": "p1", "birthDate": "last spring"}'},
     "bundle", "Some resources are not valid FHIR R4: pasted text, Patient.birthDate"),
    ({"bundle": json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "a"}}, {"resource": {"resourceType": "Patient", "id": "b"}}]})},
     "bundle", "The data holds 2 patients"),
    ({}, "patient", "No patient record given"),
    ({"fixture": ELIGIBLE, "bundle": "{}"}, "patient", "Give the record one way only: you gave a fixture patient and pasted text."),
    ({"fixture": "no-such-patient"}, "fixture", "No such fixture patient"),
    ({"fixture": ELIGIBLE, "as_of": "22/11/2026"}, "as_of", "Not a date: '22/11/2026'"),
]


@pytest.mark.parametrize(("form", "field", "message"), BAD_INPUTS, ids=[b[2][:30] for b in BAD_INPUTS])
def test_bad_input_is_a_message_next_to_its_control(app: App, form: dict[str, str], field: str, message: str) -> None:
    response = app.client.post("/review", data={"as_of": "", **form}, files={"upload": ("", b"")})
    assert response.status_code == 422
    page = response.text
    assert message in text(section(page, f"{field}-error"))
    # The form is still there, with what was typed.
    assert '<form class="load"' in page
    if form.get("bundle"):
        assert text(form["bundle"]) in text(section(page, "bundle"))
    if field in ("bundle", "fixture", "as_of"):
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true" aria-describedby="{field}-error', page)
    assert app.records() == []


def test_an_uploaded_binary_file_is_a_message_next_to_the_upload(app: App) -> None:
    response = app.client.post("/review", data={"as_of": ""}, files={"upload": ("scan.pdf", b"%PDF\xff\xfe\x00")})
    assert response.status_code == 422
    assert "scan.pdf is not a text file" in text(section(response.text, "upload-error"))


@pytest.mark.parametrize("key", ["00000000-0000-4000-8000-000000000000", "1", "%231", "{prefix}"])
def test_a_permalink_opens_only_a_whole_record_id(app: App, key: str) -> None:
    record_id = app.assess(fixture=ELIGIBLE).rsplit("/", 1)[1]
    response = app.client.get("/review/" + key.format(prefix=record_id[:8]))
    assert response.status_code == 404
    assert "No stored assessment has this id" in text(response.text)
    assert record_id not in response.text


def test_accept_and_override_are_recorded_in_the_feedback_store(app: App) -> None:
    location = app.assess(fixture=ELIGIBLE)
    record_id = location.rsplit("/", 1)[1]
    accepted = app.client.post(f"{location}/decision", data={"therapy": "S9326", "outcome": "accepted"})
    assert "Your decision on S9326 is recorded." in text(accepted.text)
    overridden = app.client.post(f"{location}/decision", data={
        "therapy": "S9363", "outcome": "overridden", "reason": "payer-approved", "comment": "Prior auth 123"})
    decisions = text(section(overridden.text, "decision-S9363"))
    assert "Overridden: Already authorised by the payer “Prior auth 123”" in decisions.replace('"', "“", 1) \
        or "Overridden: Already authorised by the payer Prior auth 123" in decisions
    rows = app.feedback()
    assert [(r["card"], r["outcome"]) for r in rows] == [(card_uuid(record_id, "S9326"), "accepted"),
                                                         (card_uuid(record_id, "S9363"), "overridden")]
    assert rows[1]["override_code"] == "payer-approved" and rows[1]["user_comment"] == "Prior auth 123"
    assert rows[1]["override_display"] == dict(OVERRIDE_REASONS)["payer-approved"]
    assert {r["service"] for r in rows} == {"review"}


def test_override_without_a_reason_asks_for_one(app: App) -> None:
    location = app.assess(fixture=ELIGIBLE)
    response = app.client.post(f"{location}/decision", data={"therapy": "S9326", "outcome": "overridden", "reason": ""})
    assert response.status_code == 422
    assert "Choose the reason for overriding this assessment." in text(section(response.text, "decision-S9326"))
    assert app.feedback() == []


def test_a_hook_card_and_its_review_page_share_one_feedback_record(app: App) -> None:
    request = hook_request("order-sign", "p1", pain_patient("p1"), orders=[morphine_infusion("o1", "p1")],
                           hook_instance="hi-7")
    answer = app.client.post("/cds-services/home-infusion-order-sign", json=request).json()
    check_system_actions(answer, request)
    [card] = answer["cards"]
    review = card["links"][0]["url"].split("testserver", 1)[1]
    app.client.post("/cds-services/home-infusion-order-sign/feedback", json={"feedback": [{
        "card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-22T10:00:00Z",
        "overrideReason": {"reason": {"system": "urn:home-infusion-cds:override-reason",
                                      "code": "patient-preference", "display": "Patient or caregiver preference"}}}]})
    page = app.client.get(review).text
    assert "CDS Hooks order-sign call hi-7" in text(page)
    assert "Overridden: Patient or caregiver preference" in text(section(page, "decision-S9326"))
    app.client.post(f"{review}/decision", data={"therapy": "S9326", "outcome": "accepted"})
    rows = app.feedback()
    assert [r["card"] for r in rows] == [card["uuid"], card["uuid"]]
    assert {r["service"] for r in rows} == {"home-infusion-order-sign"}


def test_forms_from_another_site_are_refused(app: App) -> None:
    location = app.assess(fixture=ELIGIBLE)
    response = app.client.post(f"{location}/decision", data={"therapy": "S9326", "outcome": "accepted"},
                               headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    response = app.client.post("/review", data={"fixture": ELIGIBLE}, headers={"Origin": "null"})
    assert response.status_code == 403
    assert app.feedback() == [] and len(app.records()) == 1


def test_pages_load_nothing_from_elsewhere_and_are_never_cached(app: App) -> None:
    for path in ["/review", app.assess(fixture=ELIGIBLE)]:
        response = app.client.get(path)
        assert response.headers["cache-control"] == "no-store"
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assets = re.findall(r'<(?:link|script|img)\b[^>]*(?:href|src)="([^"]+)"', response.text)
        assert assets and all(a.startswith("/review/static/") for a in assets)
        for asset in assets:
            assert app.client.get(asset).status_code == 200
    assert app.client.get("/review/static/../routes.py").status_code == 404


def test_an_override_reason_without_a_display_shows_its_code(app: App) -> None:
    request = hook_request("patient-view", "p1", pain_patient("p1"))
    [card] = app.client.post("/cds-services/home-infusion-patient-view", json=request).json()["cards"]
    app.client.post("/cds-services/home-infusion-patient-view/feedback", json={"feedback": [{
        "card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-22T10:00:00Z",
        "overrideReason": {"reason": {"system": "urn:example:other-reasons", "code": "formulary-exception"}}}]})
    page = app.client.get(card["links"][0]["url"].split("testserver", 1)[1]).text
    decisions = text(section(page, "decision-S9326"))
    assert "Overridden: formulary-exception" in decisions and "None" not in decisions


# With --auth-config: every review page needs a signed card link's session or a bearer JWT.

BASE = "https://cds.example.org"
VIEW = "/cds-services/home-infusion-patient-view"


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


@pytest.fixture
def secured(tmp_path: Path, keys: ClientKeys) -> Iterator[App]:
    auth = AuthSettings(issuers={ISSUER: TrustedIssuer(jwks_file=keys.write_jwks(tmp_path))},
                        review_secret=REVIEW_SECRET)
    with review_app(tmp_path, auth=auth, public_base_url=BASE) as running:
        # As a browser sees the service: over HTTPS, so Secure cookies are sent back.
        running.client.base_url = "https://testserver"  # type: ignore[assignment]
        yield running


def _bearer(keys: ClientKeys, path: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.token(BASE + path)}"}


def _card_link(app: App, keys: ClientKeys) -> str:
    """The review link (path and query) of a card from an authenticated hook call."""
    request = hook_request("patient-view", "p1", pain_patient("p1"))
    response = app.client.post(VIEW, json=request, headers=_bearer(keys, VIEW))
    assert response.status_code == 200
    url = response.json()["cards"][0]["links"][0]["url"]
    assert url.startswith(BASE + "/review/") and "?token=" in url
    return url[len(BASE):]


def _unauthorized(response: object) -> bool:
    return response.status_code == 401 and response.text == "unauthorized"  # type: ignore[attr-defined]


def test_without_a_token_no_review_page_or_form_answers(secured: App, keys: ClientKeys) -> None:
    record = _card_link(secured, keys).split("?")[0]
    attempts = [secured.client.get("/review"), secured.client.get(record),
                secured.client.post("/review", data={"fixture": ELIGIBLE}, files={"upload": ("", b"")}),
                secured.client.post(f"{record}/decision", data={"therapy": "S9326", "outcome": "accepted"}),
                secured.client.get(f"/review/{'0' * 8}-0000-0000-0000-{'0' * 12}")]
    assert all(_unauthorized(r) for r in attempts), [r.status_code for r in attempts]
    assert secured.feedback() == [] and len(secured.records()) == 1
    # Public: the criteria catalog (no patient data) and the pages' static files.
    assert secured.client.get("/criteria/S9326").status_code == 200
    assert secured.client.get("/review/static/review.css").status_code == 200


def test_a_card_link_opens_its_record_and_its_forms_record_decisions(secured: App, keys: ClientKeys) -> None:
    link = _card_link(secured, keys)
    record = link.split("?")[0]
    opened = secured.client.get(link, follow_redirects=False)
    # The token leaves the URL at once; a cookie for this one record stands in for it.
    assert opened.status_code == 303 and opened.headers["location"] == record
    cookie = opened.headers["set-cookie"]
    for part in ("HttpOnly", f"Path={record}", "SameSite=lax", "Secure"):
        assert part in cookie
    page = secured.client.get(record)
    assert page.status_code == 200 and "Accept the S9326 assessment" in page.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf is not None
    decision = {"therapy": "S9326", "outcome": "accepted"}
    assert _unauthorized(secured.client.post(f"{record}/decision", data=decision))
    assert _unauthorized(secured.client.post(f"{record}/decision", data={**decision, "csrf": "0" * 64}))
    saved = secured.client.post(f"{record}/decision", data={**decision, "csrf": csrf.group(1)})
    assert "Your decision on S9326 is recorded." in text(saved.text)
    assert [r["outcome"] for r in secured.feedback()] == ["accepted"]


def test_a_link_opens_only_its_own_record_and_only_while_fresh(secured: App, keys: ClientKeys) -> None:
    first, second = _card_link(secured, keys), _card_link(secured, keys)
    token = first.split("?token=")[1]
    other = second.split("?")[0]
    expires, signature = token.split(".")
    stale = AuthTokens(REVIEW_SECRET, link_lifetime=-1).link(first.split("?")[0].rsplit("/", 1)[1])
    for bad in (f"{other}?token={token}",  # another record's token
                f"{first.split('?')[0]}?token={int(expires) + 3600}.{signature}",  # expiry moved
                f"{first.split('?')[0]}?token={stale}",  # expired
                f"{first.split('?')[0]}?token="):
        assert _unauthorized(secured.client.get(bad, follow_redirects=False)), bad
    # A session for one record opens no other.
    assert secured.client.get(first).status_code == 200
    assert _unauthorized(secured.client.get(other))


def test_a_bearer_jwt_opens_the_form_and_its_assessment(secured: App, keys: ClientKeys) -> None:
    assert secured.client.get("/review", headers=_bearer(keys, "/review")).status_code == 200
    # A token for another URL of this service is not one for the form.
    assert _unauthorized(secured.client.get("/review", headers=_bearer(keys, VIEW)))
    response = secured.client.post("/review", data={"fixture": ELIGIBLE, "as_of": ""}, files={"upload": ("", b"")},
                                   headers=_bearer(keys, "/review"), follow_redirects=False)
    assert response.status_code == 303 and "?token=" in response.headers["location"]
    page = secured.client.get(response.headers["location"])
    assert page.status_code == 200 and "Accept the S9326 assessment" in page.text
