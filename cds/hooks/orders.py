"""Which draft orders start a home infusion therapy, and which therapy.

A MedicationRequest whose drug is in one of a therapy's order classes and whose route is
parenteral; or a ServiceRequest coded with the therapy's HCPCS code (ruleset billing.code).
Every other order gets no card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ..facts import build_facts
from ..fhir.record import PatientRecord
from ..knowledge import Knowledge
from ..terminology.valuesets import HCPCS as HCPCS_SYSTEM
from ..terminology.valuesets import HCPCS_SYSTEMS

PARENTERAL = "parenteral"


def therapy_orders(record: PatientRecord, candidates: Iterable[str], knowledge: Knowledge,
                   as_of: dt.date) -> dict[str, set[str]]:
    """Therapy -> the references of the candidate orders that are orders for it."""
    wanted = set(candidates)
    found: dict[str, set[str]] = {}
    if any(ref in wanted for ref, _ in record.medication_requests):
        facts = build_facts(record, as_of, list(knowledge.rulesets.values()), knowledge.classifier,
                            knowledge.valuesets, order_refs=set())
        for medication in facts.medications:
            if medication.ref not in wanted or medication.route_class != PARENTERAL:
                continue
            for therapy, ruleset in knowledge.rulesets.items():
                if any(medication.classes.get(c) for c in ruleset.order_classes):
                    found.setdefault(therapy, set()).add(medication.ref)
    for ref, request in record.service_requests:
        if ref not in wanted or request.code is None:
            continue
        codes = {c.code for c in request.code.coding or [] if c.system in HCPCS_SYSTEMS}
        for therapy, ruleset in knowledge.rulesets.items():
            if ruleset.billing.code in codes:
                found.setdefault(therapy, set()).add(ref)
    return found
