"""Business errors of a PAS request: items the rules cannot decide, answered in the response
(`ClaimResponse.error` with `errorPath`, PAS 2.2.1 spec-38 and the IG's error example) instead
of failing the request. An item names an order the Bundle does not hold, or asks for a code
that is no HCPCS code of a therapy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..knowledge import Knowledge
from . import x12
from .pas_codes import Coding
from .pas_request import Item


@dataclass(frozen=True)
class BusinessError:
    sequence: int
    path: str      # FHIRPath from the request Bundle (the errorPath extension)
    text: str      # what the provider reads (a processNote); never quotes the request


def therapy_codes(knowledge: Knowledge) -> frozenset[str]:
    """Every HCPCS code a therapy bills: its general code and the codes it picks from orders."""
    return frozenset(code for r in knowledge.rulesets.values() for code in [r.billing.code, *(c.code for c in r.billing.codes)])


def business_error(item: Item, codes: frozenset[str]) -> BusinessError | None:
    if item.cancelled:
        return None   # nothing is decided for a cancelled item: what it names no longer matters
    if item.unknown_order is not None:
        return BusinessError(item.sequence, item.unknown_order,
                             "Not decided: the item's requestedService names no MedicationRequest or ServiceRequest "
                             "of the request Bundle; send the order with the request.")
    if item.code not in codes:
        return BusinessError(item.sequence, f"Bundle.entry[0].resource.item[{item.index}].productOrService",
                             "Not decided: the item asks for no HCPCS code of a home infusion therapy this payer "
                             "authorizes here.")
    return None


def error_element(error: BusinessError, reason: Coding) -> dict[str, Any]:
    """One ClaimResponse.error: the item, the X12 reject reason and the path of the bad element."""
    return {"extension": [{"url": x12.ERROR_PATH, "valueString": error.path}],
            "itemSequence": error.sequence,
            "code": {"coding": [{"system": reason.system, "code": reason.code}]}}


def outcome(errors: int, items: int) -> str:
    """ClaimResponse.outcome (ClaimResponseOutcome): complete, partial (some items in error) or error."""
    if errors == 0:
        return "complete"
    return "error" if errors == items else "partial"
