"""Claim lines: Claim/ExplanationOfBenefit items coded with a therapy's HCPCS code.

Claims are read as raw JSON (the core does not validate them), and only these elements:
item.sequence, item.productOrService.coding (HCPCS), item.servicedDate / servicedPeriod, the
claim's billablePeriod, patient and status. Each line is judged on its service date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from ..facts import PatientFacts
from ..fhir.dates import day as _day
from ..models import Assessment, Status
from ..routing import claiming
from ..ruleset import Ruleset
from ..terminology.valuesets import HCPCS_SYSTEMS
from .models import Verdict

# Claims that were never real are not audited.
SKIPPED_STATUSES = frozenset({"entered-in-error"})
# A request "in effect" on a service date, for the claim's order.
IN_EFFECT = frozenset({"active", "completed", "on-hold", "stopped"})


class ClaimItem(BaseModel):
    claim: str
    sequence: int | None
    code: str
    service_date: dt.date | None
    patient: str | None          # the claim's patient reference as written


def claim_items(resource: dict[str, Any], codes: set[str]) -> list[ClaimItem]:
    """The lines of one Claim or ExplanationOfBenefit billed with one of codes."""
    if resource.get("status") in SKIPPED_STATUSES:
        return []
    patient = resource.get("patient")
    patient_ref = patient.get("reference") if isinstance(patient, dict) else None
    fallback = _start(resource.get("billablePeriod"))
    found = []
    for item in resource.get("item") or []:
        if not isinstance(item, dict):
            continue
        code = _hcpcs(item.get("productOrService"), codes)
        if code is None:
            continue
        day = _day(item.get("servicedDate")) or _start(item.get("servicedPeriod")) or fallback
        sequence = item.get("sequence")
        found.append(ClaimItem(
            claim=f"{resource['resourceType']}/{resource.get('id')}",
            sequence=sequence if isinstance(sequence, int) else None,
            code=code, service_date=day, patient=patient_ref,
        ))
    return found


def orders_on(facts: PatientFacts, ruleset: Ruleset, day: dt.date) -> set[str]:
    """The therapy's order on a service date: a request the therapy's routing claims, in
    effect that day (a past infusion is an active or completed request, not a draft). Empty
    when there is none; the usual draft-order rule then applies."""
    return {
        m.ref for m in facts.medications
        if m.status in IN_EFFECT and claiming(m, [ruleset])
        and m.start is not None and m.start <= day and (m.end is None or day <= m.end)
    }


def verdict(assessment: Assessment) -> tuple[Verdict, list[str]]:
    """supported / not supported / needs documentation, with the reasons a payer reads."""
    required = [c for c in assessment.criteria if c.required]
    warnings = [f for f in assessment.findings if f.severity == "warning"]
    # The status precedence, with every warning listed counting.
    status = Status.decide([c.result for c in required], bool(warnings))
    if status is Status.NOT_ELIGIBLE:
        return "not supported", [f"{c.id}: {c.reason}" for c in required if c.result == "not-met"]
    if status is Status.INSUFFICIENT_INFORMATION:
        return "needs documentation", [f"{c.id}: {c.reason}" for c in required if c.result == "unknown"]
    if status is Status.NEEDS_REVIEW:
        return "needs documentation", [f"{f.id}: {f.text} Document the prescriber's review." for f in warnings]
    return "supported", [f"{c.id}: {c.reason}" for c in required if c.result == "met"]


def _hcpcs(concept: Any, codes: set[str]) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") in HCPCS_SYSTEMS:
            code = str(coding.get("code") or "").strip().upper()
            if code in codes:
                return code
    return None


def _start(period: Any) -> dt.date | None:
    return _day(period.get("start")) if isinstance(period, dict) else None


