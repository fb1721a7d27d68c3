"""The CRD "Coverage Information" response: one ext-coverage-information extension per Coverage
on the draft order, returned as a systemAction of type update.

Emitted as the CRD 2.0.1 StructureDefinition and ValueSets define it (what the Inferno CRD kit
validates against), with the 2.2.1 invariants held as well: info-needed exactly when something
is conditional (2.0.1 and 2.2.1 crd-ci-q3 read opposite ways), pa-needed exactly when the order
is not refused (2.0.1 and 2.2.1 crd-ci-q2), a reason whenever doc-purpose or OTH is sent
(q6, q8). Reasons are text: the 2.0.1 coverageAssertionReasons value set holds only gold-card
and detail-code, neither of which says why this service decided as it did.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..models import Assessment
from ..terminology.valuesets import HCPCS
from .coverage import CoverageOf

EXTENSION_URL = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
# The CRD IG's error outcomes (cards.md resp-44, resp-45), by the Coverage's standing. The 2.2.1
# codes (temp#no-member-found, temp#no-active-coverage) are not in the 2.0.1 CodeSystem, so the
# reason names them in its text.
_STANDING_REASONS = {
    "no-member-found": "No member found (no-member-found)",
    "no-active-coverage": "No active coverage (no-active-coverage)",
}


@dataclass(frozen=True)
class Decision:
    """What the extension asserts, before it is spelled as sub-extensions."""

    covered: str                                    # covered | not-covered | conditional
    pa_needed: str | None = None
    doc_needed: str | None = None                   # clinical, when the payer will want documentation
    doc_purpose: str | None = None
    info_needed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def asks_for_information(self) -> bool:
        return self.doc_needed is not None or bool(self.info_needed)


def decide(assessment: Assessment, coverage: CoverageOf, pa_needed: str) -> Decision:
    """The issue #12 mapping: eligible -> covered (conditional while documentation items remain);
    needs-review and insufficient-information -> conditional, asking for what is missing;
    not-eligible -> not-covered with the unmet criteria. A Coverage that is not the patient's or
    not in force -> not-covered with the IG's error reason."""
    if coverage.standing != "active":
        return Decision("not-covered", reasons=[f"{_STANDING_REASONS[coverage.standing]}: {coverage.why}."])
    required = [c for c in assessment.criteria if c.required]
    if assessment.status == "not-eligible":
        return Decision("not-covered", reasons=[f"{c.id} not met: {c.reason}" for c in required
                                                if c.result == "not-met"])
    reasons: list[str] = []
    if assessment.status == "insufficient-information":
        reasons += [f"{c.id} unknown: {c.reason}" for c in required if c.result == "unknown"]
    elif assessment.status == "needs-review":
        reasons += [f"Needs review ({f.id}): {f.text}" for f in assessment.findings if f.severity == "warning"]
    reasons += [f"Documentation needed ({d.id}): {d.text}" for d in assessment.documentation]
    if not reasons:
        return Decision("covered", pa_needed=pa_needed)
    # Unknown criteria are asked in the therapy's DTR Questionnaire, as are the documentation items.
    documents = assessment.status == "insufficient-information" or bool(assessment.documentation)
    return Decision(
        "conditional", pa_needed=pa_needed,
        doc_needed="clinical" if documents else None,
        # With prior authorization the documentation goes with the request; without, with the claim.
        doc_purpose=("withpa" if pa_needed == "auth-needed" else "withclaim") if documents else None,
        # OTH (v3 NullFlavor "other"): none of performer, location, timeframe or contract-window
        # decides these; the reasons say what does (crd-ci-q6).
        info_needed=["OTH"], reasons=reasons)


def coverage_information(decision: Decision, *, coverage: CoverageOf, billing_code: str, as_of: dt.date,
                         assertion_id: str, questionnaire: str | None) -> dict[str, Any]:
    """The extension, its sub-extensions in the order of the StructureDefinition."""
    parts: list[dict[str, Any]] = [
        {"url": "coverage", "valueReference": {"reference": coverage.reference}},
        {"url": "covered", "valueCode": decision.covered},
    ]
    if decision.pa_needed is not None:
        parts.append({"url": "pa-needed", "valueCode": decision.pa_needed})
    if decision.doc_needed is not None:
        parts.append({"url": "doc-needed", "valueCode": decision.doc_needed})
    if decision.doc_purpose is not None:
        parts.append({"url": "doc-purpose", "valueCode": decision.doc_purpose})
    parts += [{"url": "info-needed", "valueCode": code} for code in decision.info_needed]
    parts.append({"url": "billingCode", "valueCoding": {"system": HCPCS, "code": billing_code}})
    parts += [{"url": "reason", "valueCodeableConcept": {"text": text}} for text in decision.reasons]
    if decision.doc_needed is not None and questionnaire is not None:
        # The DTR Questionnaire that collects the documentation (resp-38; crd-ci-q1).
        parts.append({"url": "questionnaire", "valueCanonical": questionnaire})
    parts += [{"url": "date", "valueDate": as_of.isoformat()},
              {"url": "coverage-assertion-id", "valueString": assertion_id}]
    return {"url": EXTENSION_URL, "extension": parts}


def system_action(order: dict[str, Any], extensions: list[dict[str, Any]], description: str) -> dict[str, Any]:
    """The draft order as the client sent it, its coverage-information extensions replaced by
    these (resp-37: nothing else may change)."""
    resource = copy.deepcopy(order)
    kept = [e for e in resource.get("extension") or [] if not (isinstance(e, dict) and e.get("url") == EXTENSION_URL)]
    resource["extension"] = kept + extensions
    return {"type": "update", "description": description, "resource": resource}


def summary(decision: Decision) -> str:
    """A few words for the systemAction's description."""
    words = {"covered": "covered", "not-covered": "not covered", "conditional": "covered on conditions"}
    text = words[decision.covered]
    if decision.pa_needed is not None:
        text += f", prior authorization {decision.pa_needed}"
    return text
