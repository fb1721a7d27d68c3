"""Which draft orders start a home infusion therapy, and which therapies claim each.

The rulesets' routing decides (cds/routing.py, through the facts' `order_for`): a claimed
MedicationRequest or a ServiceRequest coded with a therapy's billing code. Every other order
gets no card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .facts import PatientFacts
from .fhir.record import PatientRecord
from .knowledge import Knowledge


def therapy_orders(record: PatientRecord, candidates: Iterable[str], knowledge: Knowledge,
                   as_of: dt.date) -> tuple[PatientFacts, dict[str, set[str]]]:
    """The facts with the candidates as orders, and therapy -> the candidate orders it claims."""
    wanted = set(candidates)
    facts = knowledge.facts(record, as_of, order_refs=wanted)
    found: dict[str, set[str]] = {}
    for order in [*facts.medications, *facts.service_orders]:
        for therapy in order.order_for:
            found.setdefault(therapy, set()).add(order.ref)
    return facts, found
