"""The review pages end to end: the real app under uvicorn, driven in Debian's headless Chromium.

Screenshots of one eligible and one not-eligible review go to tests/artifacts/ (the README's
picture is a copy of one, docs/review-eligible.png).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cds.service.feedback import FeedbackStore

from .hooks_support.patients import hook_request, morphine_infusion, pain_patient
from .review_support.browser import launch, require_chromium
from .review_support.pages import fixture_json
from .review_support.server import Running, running

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
ELIGIBLE = "S9326.indication/cancer-related-pain"
NOT_ELIGIBLE = "S9326.infusion-order/meperidine"
PERMALINK = re.compile(r".*/review/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    require_chromium()
    with running(tmp_path_factory.mktemp("review")) as served:
        yield served


@pytest.fixture(scope="module")
def browser(server: Running) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: Running) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    # Offline: every request the page makes must go to this server.
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server.base) else elsewhere.append(r.url))
    yield page
    context.close()
    assert elsewhere == [], f"the page loaded from elsewhere: {elsewhere}"


def _expect() -> Any:
    from playwright.sync_api import expect
    return expect


def _review(page: Any, server: Running, fixture: str) -> None:
    page.goto(server.base + "/review")
    page.get_by_label("Fixture patient").select_option(fixture)
    page.get_by_role("button", name="Assess").click()
    _expect()(page).to_have_url(PERMALINK)
    # The URL changes before the stylesheet is in: measure what the reader sees, once loaded.
    page.wait_for_load_state("load")


def _therapy(page: Any, therapy: str) -> Any:
    return page.locator(f"#therapy-{therapy}")


def test_an_eligible_patient_reads_eligible_with_its_reasons(page: Any, server: Running) -> None:
    expect = _expect()
    _review(page, server, ELIGIBLE)
    s9326, s9363 = _therapy(page, "S9326"), _therapy(page, "S9363")
    expect(s9326.locator(".therapy-head .badge")).to_have_text("✓ Eligible")
    expect(s9363.locator(".therapy-head .badge")).to_have_text("✕ Not eligible")
    expect(s9326.locator(".main-reason")).to_have_text(
        "Eligible: Cancer-related pain on record: Neoplasm related pain (acute) (chronic).")
    expect(s9363.locator(".main-reason")).to_have_text("Not eligible: No spasticity of cerebral or spinal origin on record.")
    indication = s9326.locator("tr", has=page.get_by_role("link", name="S9326.indication"))
    expect(indication).to_contain_text("Met")
    expect(indication).to_contain_text("G89.3")
    expect(s9363.locator("ol.alternatives li").first).to_contain_text("Recommended Physical therapy")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-eligible.png"), full_page=True)


def test_a_not_eligible_patient_reads_not_eligible_with_its_reason(page: Any, server: Running) -> None:
    expect = _expect()
    _review(page, server, NOT_ELIGIBLE)
    s9326 = _therapy(page, "S9326")
    expect(s9326.locator(".therapy-head .badge")).to_have_text("✕ Not eligible")
    order = s9326.locator("tr", has=page.get_by_role("link", name="S9326.infusion-order"))
    expect(order).to_contain_text("Not met")
    expect(order).to_contain_text("meperidine")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-not-eligible.png"), full_page=True)


def test_override_with_a_reason_is_recorded_in_the_feedback_store(page: Any, server: Running) -> None:
    expect = _expect()
    _review(page, server, NOT_ELIGIBLE)
    record_id = page.url.rsplit("/", 1)[1]
    decision = page.locator("#decision-S9326")
    override = decision.get_by_role("button", name="Override the S9326 assessment")
    # Without a reason the browser keeps the form and says what is missing.
    override.click()
    expect(page).to_have_url(PERMALINK)
    assert decision.get_by_label("Override reason").evaluate("e => e.validity.valueMissing")
    decision.get_by_label("Override reason").select_option(label="Already authorised by the payer")
    decision.get_by_label("Comment (optional)").fill("Prior authorisation PA-1234 on file.")
    override.click()
    expect(page.locator("#decision-S9326 .saved")).to_have_text("Your decision on S9326 is recorded.")
    expect(page.locator("#decision-S9326 ul.decisions")).to_contain_text(
        "Overridden: Already authorised by the payer")
    rows = [r for r in FeedbackStore(server.feedback_db).all() if r["outcome"] == "overridden"]
    [row] = [r for r in rows if r.get("user_comment") == "Prior authorisation PA-1234 on file."]
    assert row["override_code"] == "payer-approved"
    assert row["service"] == "review" and row["card"] != record_id


def test_accept_is_recorded(page: Any, server: Running) -> None:
    _review(page, server, ELIGIBLE)
    before = len(FeedbackStore(server.feedback_db).all())
    page.get_by_role("button", name="Accept the S9326 assessment").click()
    _expect()(page.locator("#decision-S9326 ul.decisions")).to_contain_text("Accepted")
    rows = FeedbackStore(server.feedback_db).all()
    assert len(rows) == before + 1 and rows[-1]["outcome"] == "accepted"


def test_a_permalink_opens_the_stored_assessment(page: Any, browser: Any, server: Running) -> None:
    _review(page, server, NOT_ELIGIBLE)
    other = browser.new_page()
    other.goto(page.url)
    _expect()(other.locator("#therapy-S9326 .therapy-head .badge")).to_have_text("✕ Not eligible")
    _expect()(other.locator("h1")).to_have_text("Assessment of Patient/S9326.infusion-order--meperidine")
    other.close()


def test_a_cds_hooks_card_links_to_its_review(page: Any, server: Running) -> None:
    request = hook_request("order-sign", "pt-9", pain_patient("pt-9", "card-link-marker"),
                           orders=[morphine_infusion("o9", "pt-9")])
    [card] = httpx.post(server.base + "/cds-services/home-infusion-order-sign", json=request).json()["cards"]
    page.goto(card["links"][0]["url"])
    _expect()(page.locator("h1")).to_have_text("Assessment of Patient/pt-9")
    _expect()(page.locator("#therapy-S9326")).to_contain_text("card-link-marker")


def test_a_criterion_links_to_its_catalog_entry(page: Any, server: Running) -> None:
    _review(page, server, ELIGIBLE)
    page.get_by_role("link", name="S9326.oral-trial").click()
    _expect()(page).to_have_url(server.base + "/criteria/S9326#S9326.oral-trial")
    _expect()(page.locator("section[id='S9326.oral-trial']")).to_be_visible()


@pytest.mark.parametrize(("typed", "message"), [
    ("this is not json", "This is not JSON"),
    ('{"hello": "world"}', "This is JSON, but not FHIR"),
    ('{"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/x"}}', "No Patient resource"),
])
def test_bad_input_shows_a_message_next_to_the_input(page: Any, server: Running, typed: str, message: str) -> None:
    expect = _expect()
    page.goto(server.base + "/review")
    page.get_by_label("Paste FHIR JSON").fill(typed)
    page.get_by_role("button", name="Assess").click()
    expect(page.locator("#bundle-error")).to_contain_text(message)
    expect(page.get_by_label("Paste FHIR JSON")).to_have_value(typed)
    # The keyboard is put on the field to fix.
    expect(page.get_by_label("Paste FHIR JSON")).to_be_focused()
    assert page.locator("#bundle-error").bounding_box()["y"] > page.get_by_label("Paste FHIR JSON").bounding_box()["y"]


def test_an_uploaded_bundle_is_assessed(page: Any, server: Running, tmp_path: Path) -> None:
    upload = tmp_path / "patient.json"
    upload.write_text(fixture_json(ELIGIBLE), encoding="utf-8")
    page.goto(server.base + "/review")
    page.get_by_label("Upload a file").set_input_files(str(upload))
    page.get_by_role("button", name="Assess").click()
    _expect()(page.locator("#therapy-S9326 .therapy-head .badge")).to_have_text("✓ Eligible")


def test_choosing_a_fixture_sets_its_as_of_date(page: Any, server: Running) -> None:
    page.goto(server.base + "/review")
    page.get_by_label("Assess as of").fill("2020-01-01")
    page.get_by_label("Fixture patient").select_option(ELIGIBLE)
    _expect()(page.get_by_label("Assess as of")).to_have_value("2026-11-22")


def test_the_keyboard_alone_reviews_a_patient(page: Any, server: Running) -> None:
    expect = _expect()
    page.goto(server.base + "/review")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    fixture = page.get_by_label("Fixture patient")
    for _ in range(6):
        if fixture.evaluate("e => e === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(fixture).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(fixture).not_to_have_value("")
    assess = page.get_by_role("button", name="Assess")
    for _ in range(12):
        if assess.evaluate("e => e === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(assess).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(PERMALINK)
    expect(page.locator(".therapy-head .badge").first).to_be_visible()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_readable_without_sideways_scrolling(page: Any, server: Running, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    for path in ["/review", None]:
        if path is None:
            _review(page, server, "S9326.safety.benzodiazepine/active")
        else:
            page.goto(server.base + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The verdicts are in the first screen.
    for badge in page.locator("nav.glance .badge").all():
        box = badge.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width
