"""Cards from assessments: the card rules, checked on assessments made to stress them."""

from __future__ import annotations

from typing import Any

from cds import knowledge
from cds.hooks.cards import build_card, md, review_link
from cds.service.overrides import card_uuid
from cds.models import AlternativeResult, Assessment, Billing, CriterionResult, FindingResult

from .hooks_support.checks import check_card, check_cards

BASE = "https://cds.example.org"


def _assessment(status: str, *, reason: str = "Chronic pain on record: Chronic pain syndrome.",
                findings: list[FindingResult] = (), alternatives: list[AlternativeResult] | None = None,
                oral: str = "met") -> Assessment:
    criteria = [
        CriterionResult(id="S9326.indication", kind="indication", required=True, result="met", text="t",
                        reason=reason, evidence=["Condition/c1"]),
        CriterionResult(id="S9326.oral-trial", kind="eligibility", required=True, result=oral, text="t",
                        reason="No oral or transdermal opioid trial on record.", evidence=[]),
    ]
    if alternatives is None:
        alternatives = [AlternativeResult(id="pain-clinic-referral", rank=1, recommended=status != "eligible",
                                          text="Refer to a pain management clinic.", reason="Always an option.")]
    return Assessment(therapy="S9326", title="Home infusion therapy, continuous (24 hours or more) pain "
                      "management infusion, per diem", status=status, criteria=criteria, findings=list(findings),
                      documentation=[], alternatives=alternatives,
                      billing=Billing(code="S9326", unit="per diem", notes=[]))


def _card(assessment: Assessment, paths: set[str] = frozenset(), warnings: list[str] = (),
          assessment_id: str | None = None) -> dict[str, Any]:
    ruleset = knowledge.default().rulesets["S9326"]
    card = build_card(assessment, ruleset, hook_instance="h-1", patient_ref="Patient/p1", base_url=BASE,
                      as_of="2026-11-22", warnings=list(warnings), available_paths=set(paths),
                      assessment_id=assessment_id)
    check_cards({"cards": [card]}, "Patient/p1")
    return card


def test_summary_names_therapy_verdict_and_main_reason() -> None:
    assert _card(_assessment("eligible"))["summary"] == (
        "S9326 continuous pain management infusion: eligible. Chronic pain on record: Chronic pain syndrome.")
    not_eligible = _card(_assessment("not-eligible", oral="not-met"))
    assert not_eligible["summary"] == ("S9326 continuous pain management infusion: not eligible. "
                                       "No oral or transdermal opioid trial on record.")
    finding = FindingResult(id="S9326.safety.benzodiazepine", severity="warning", text="Active benzodiazepine.",
                            evidence=["MedicationRequest/b1"])
    assert _card(_assessment("needs-review", findings=[finding]))["summary"].endswith(
        "needs review. Active benzodiazepine.")


def test_a_long_reason_is_cut_to_fit_under_140_characters() -> None:
    long_reason = "Chronic pain on record: " + "very long condition text " * 20
    summary = _card(_assessment("eligible", reason=long_reason))["summary"]
    assert len(summary) < 140 and summary.endswith("…")
    assert summary.startswith("S9326 continuous pain management infusion: eligible. Chronic pain on record")


def test_indicator_is_info_only_when_eligible() -> None:
    assert _card(_assessment("eligible"))["indicator"] == "info"
    for status in ("needs-review", "insufficient-information", "not-eligible"):
        oral = "not-met" if status == "not-eligible" else "met"
        assert _card(_assessment(status, oral=oral))["indicator"] == "warning"


def test_detail_lists_criteria_findings_and_alternatives_in_markdown() -> None:
    finding = FindingResult(id="S9326.safety.benzodiazepine", severity="warning", text="Active benzodiazepine.",
                            evidence=["MedicationRequest/b1"])
    detail = _card(_assessment("needs-review", findings=[finding]), warnings=["prefetch.x: ignored"])["detail"]
    assert "| S9326.indication | met | Chronic pain on record: Chronic pain syndrome. | Condition/c1 |" in detail
    assert "| S9326.oral-trial | met | No oral or transdermal opioid trial on record. | none |" in detail
    assert "- warning: Active benzodiazepine. (evidence: MedicationRequest/b1)" in detail
    assert "1. **Recommended:** Refer to a pain management clinic. Why: Always an option." in detail
    assert "**Record data not used**" in detail


def test_record_text_cannot_inject_markdown() -> None:
    hostile = "Pain | [click](https://evil.example) <img src=x> **bold**"
    detail = _card(_assessment("eligible", reason=hostile))["detail"]
    # Escaped: a markdown renderer shows the characters instead of a link, an image or a new cell.
    assert "Pain \\| \\[click\\](https://evil.example) \\<img src=x\\> \\*\\*bold\\*\\*" in detail
    assert md("a|b") == "a\\|b"


def test_no_alternatives_means_no_suggestions_and_no_selection_behavior() -> None:
    card = _card(_assessment("eligible", alternatives=[]))
    assert "suggestions" not in card and "selectionBehavior" not in card


def test_suggestions_propose_a_service_request_for_the_patient() -> None:
    card = _card(_assessment("not-eligible", oral="not-met"))
    (suggestion,) = card["suggestions"]
    assert card["selectionBehavior"] == "at-most-one" and suggestion["isRecommended"] is True
    resource = suggestion["actions"][0]["resource"]
    assert resource["resourceType"] == "ServiceRequest" and resource["intent"] == "proposal"
    assert resource["code"] == {"text": "Refer to a pain management clinic."}


def test_source_links_the_criteria_and_names_the_hcpcs_code() -> None:
    source = _card(_assessment("eligible"))["source"]
    assert source["url"] == f"{BASE}/criteria/S9326"
    assert source["topic"] == {"system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
                               "code": "S9326", "display": "continuous pain management infusion"}


def test_override_reasons_each_have_a_display() -> None:
    reasons = _card(_assessment("not-eligible", oral="not-met"))["overrideReasons"]
    assert reasons and all(r["display"] and r["system"] and r["code"] for r in reasons)


def test_links_to_the_review_page_only_when_it_exists() -> None:
    assert "links" not in _card(_assessment("eligible"), assessment_id="a1")
    assert review_link(set(), BASE, "a1") is None
    # No stored assessment, nothing to review.
    assert "links" not in _card(_assessment("eligible"), paths={"/review/{assessment_id}"})
    card = _card(_assessment("eligible"), paths={"/review/{assessment_id}"}, assessment_id="a1")
    assert card["links"] == [{"label": "Review this assessment", "url": f"{BASE}/review/a1", "type": "absolute"}]
    check_card(card)


def test_card_uuid_depends_on_hook_instance_and_therapy_only() -> None:
    assert card_uuid("h-1", "S9326") == card_uuid("h-1", "S9326")
    assert len({card_uuid("h-1", "S9326"), card_uuid("h-2", "S9326"), card_uuid("h-1", "S9363")}) == 3
