"""CDS Hooks cards: one per assessed order, and one listing the candidate therapies (patient-view).

The card rules of CDS Hooks 2.0: summary under 140 characters, indicator info|warning|critical,
detail in GitHub-flavoured markdown, source with a label, suggestions with selectionBehavior,
override reasons with a display, and no element null or empty (absent instead).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from ..listing import SHOWN, listed
from ..models import Assessment
from ..ruleset import Ruleset
from ..service.overrides import CANDIDATES_CARD, OVERRIDE_REASONS, OVERRIDE_SYSTEM, card_uuid
from ..terminology.valuesets import HCPCS as HCPCS_SYSTEM

SUMMARY_LIMIT = 140
# Enough to keep record text literal inside a line or table cell (nothing here starts a line).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def review_link(available_paths: set[str], base_url: str, assessment_id: str) -> dict[str, str] | None:
    """The link to this assessment's review page, when this service serves review pages."""
    if not any(path.startswith("/review/") for path in available_paths):
        return None
    return {"label": "Review this assessment", "url": f"{base_url}/review/{assessment_id}", "type": "absolute"}


def build_card(
    assessment: Assessment,
    ruleset: Ruleset,
    *,
    hook_instance: str,
    patient_ref: str,
    base_url: str,
    as_of: str,
    warnings: list[str],
    available_paths: set[str],
    assessment_id: str | None = None,
) -> dict[str, Any]:
    """assessment_id: the audit record this card's assessment is stored as (its review page)."""
    card_id = card_uuid(hook_instance, assessment.therapy)
    card: dict[str, Any] = {
        "uuid": card_id,
        "summary": summary(assessment, ruleset),
        "indicator": "info" if assessment.status == "eligible" else "warning",
        "detail": detail(assessment, ruleset, as_of, warnings),
        "source": {
            "label": f"Home infusion CDS, {ruleset.billing.code} criteria {ruleset.version}",
            "url": f"{base_url}/criteria/{assessment.therapy}",
            "topic": {"system": HCPCS_SYSTEM, "code": ruleset.billing.code, "display": ruleset.short_title},
        },
        "overrideReasons": [{"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in OVERRIDE_REASONS],
    }
    suggestions = [_suggestion(card_id, alt, patient_ref) for alt in assessment.alternatives]
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    link = review_link(available_paths, base_url, assessment_id) if assessment_id else None
    if link is not None:
        card["links"] = [link]
    return card


def summary(assessment: Assessment, ruleset: Ruleset) -> str:
    text = f"{assessment.billing.code} {ruleset.short_title}: {assessment.status.label}. {assessment.main_reason()}"
    text = " ".join(text.split())
    if len(text) < SUMMARY_LIMIT:
        return text
    cut = text[: SUMMARY_LIMIT - 2].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def detail(assessment: Assessment, ruleset: Ruleset, as_of: str, warnings: list[str]) -> str:
    lines = [f"**{assessment.status.label.capitalize()}**: {md(assessment.title)} ({assessment.therapy}).", ""]
    lines += ["| Criterion | Result | Reason | Evidence |", "|---|---|---|---|"]
    for c in assessment.criteria:
        evidence = listed([md(e) for e in c.evidence]) or "none"
        lines.append(f"| {md(c.id)}{'' if c.required else ' (optional)'} | {c.result} | {md(c.reason)} | {evidence} |")
    if assessment.findings:
        lines += ["", "**Safety findings**", ""]
        for f in assessment.findings:
            evidence = f" (evidence: {listed([md(e) for e in f.evidence])})" if f.evidence else ""
            said = f"{f.text} {f.reason}" if f.reason else f.text
            lines.append(f"- {f.severity}: {md(said)}{evidence}")
    if assessment.documentation:
        lines += ["", "**Documentation needed**", ""]
        lines += [f"- {md(d.text)}" for d in assessment.documentation]
    if assessment.alternatives:
        lines += ["", "**Alternatives**", ""]
        for a in assessment.alternatives:
            flag = "**Recommended:** " if a.recommended else ""
            lines.append(f"{a.rank}. {flag}{md(a.text)} Why: {md(a.reason)}")
    lines += _warnings(warnings)
    lines += ["", f"Ruleset {md(ruleset.therapy)} {md(ruleset.full_version)}, assessed as of {as_of}."]
    return "\n".join(lines)


def build_candidates_card(
    assessments: list[Assessment],
    rulesets: dict[str, Ruleset],
    *,
    hook_instance: str,
    base_url: str,
    as_of: str,
    warnings: list[str],
    available_paths: set[str],
    assessment_id: str | None = None,
) -> dict[str, Any]:
    """patient-view's one card: the therapies whose indication the record meets, each with its
    status and main reason, and one link to their review page (not a wall of cards)."""
    verdicts = "; ".join(f"{a.therapy} {a.status.label}" for a in assessments)
    text = f"Home infusion candidate ({len(assessments)}): {verdicts}"
    if len(text) >= SUMMARY_LIMIT:
        text = text[: SUMMARY_LIMIT - 2].rsplit(";", 1)[0] + " …"
    lines = ["| Therapy | Status | Main reason |", "|---|---|---|"]
    for a in assessments:
        lines.append(f"| {md(a.therapy)} {md(rulesets[a.therapy].short_title)} | {a.status.label} | "
                     f"{md(a.main_reason())} |")
    for a in assessments:
        lines += ["", f"**{md(a.therapy)}: {a.status.label}**", "",
                  "| Criterion | Result | Reason | Evidence |", "|---|---|---|---|"]
        lines += [f"| {md(c.id)} | {c.result} | {md(c.reason)} | {listed([md(e) for e in c.evidence]) or 'none'} |"
                  for c in a.criteria]
    lines += _warnings(warnings)
    versions = ", ".join(f"{md(a.therapy)} {md(rulesets[a.therapy].full_version)}" for a in assessments)
    lines += ["", f"Rulesets {versions}, assessed as of {as_of}."]
    card: dict[str, Any] = {
        "uuid": card_uuid(hook_instance, "", CANDIDATES_CARD),
        "summary": text,
        "indicator": "info" if all(a.status == "eligible" for a in assessments) else "warning",
        "detail": "\n".join(lines),
        "source": {"label": "Home infusion CDS criteria", "url": f"{base_url}/criteria"},
        "overrideReasons": [{"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in OVERRIDE_REASONS],
    }
    link = review_link(available_paths, base_url, assessment_id) if assessment_id else None
    if link is not None:
        card["links"] = [{**link, "label": "Review these assessments"}]
    return card


def md(text: str) -> str:
    """Record text as literal markdown: EHR data must not inject links, HTML or table cells."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _suggestion(card_id: str, alternative: Any, patient_ref: str) -> dict[str, Any]:
    suggestion: dict[str, Any] = {
        "uuid": str(uuid.uuid5(uuid.UUID(card_id), alternative.id)),
        "label": alternative.text,
    }
    if alternative.recommended:
        suggestion["isRecommended"] = True
    # Alternatives are services or referrals, never a specific drug and dose, so a proposed
    # ServiceRequest is the order that fits; a MedicationRequest would need a drug we cannot pick.
    suggestion["actions"] = [{
        "type": "create",
        "description": f"Propose: {alternative.text}",
        "resource": {
            "resourceType": "ServiceRequest",
            "status": "draft",
            "intent": "proposal",
            "subject": {"reference": patient_ref},
            "code": {"text": alternative.text},
            "reasonCode": [{"text": alternative.reason}],
        },
    }]
    return suggestion


def _warnings(warnings: list[str]) -> list[str]:
    if not warnings:
        return []
    lines = ["", "**Record data not used**", ""]
    lines += [f"- {md(w)}" for w in warnings[:SHOWN]]
    if len(warnings) > SHOWN:
        lines.append(f"- and {len(warnings) - SHOWN:,} more")
    return lines
