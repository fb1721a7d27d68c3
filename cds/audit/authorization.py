"""The prior authorization decision an assessment gives, in one place: `Claim/$submit` decides
with it and `cds audit replay` re-decides with it.

The codes are X12 306 review action codes as Da Vinci PAS IG 2.2.1 uses them (A1 certified in
total, A3 not certified, A4 pended, A6 modified: spec-36); they are standard codes of the IG,
not clinical content.
"""

from __future__ import annotations

from typing import Literal

from ..models import Assessment

DecisionCode = Literal["A1", "A3", "A4", "A6"]
# A record that the submitter cancelled the item (PAS Claim Update, certificationType 3 /
# infoCancelled): no decision, so never re-decided and never a decision in the figures.
CANCELLED = "cancelled"
# What a record means for the CMS-0057-F figures (cds/audit/pa_metrics.py).
MEANING: dict[str, str] = {"A1": "approved", "A6": "approved", "A3": "denied", "A4": "pended",
                           CANCELLED: "cancelled"}
# The meanings that are a decision (the figures' time to a decision ends at the first of them).
DECIDED = frozenset({"approved", "denied"})


def decision_code(assessment: Assessment, requested: str | None) -> DecisionCode:
    """eligible -> A1 (A6 when the code asked is not the one the rules pick for the order),
    not-eligible -> A3, insufficient-information and needs-review -> A4."""
    if assessment.status == "eligible":
        return "A1" if requested == assessment.billing.code else "A6"
    if assessment.status == "not-eligible":
        return "A3"
    return "A4"
