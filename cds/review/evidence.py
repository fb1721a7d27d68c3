"""Evidence as a clinician reads it: each reference resolved in the facts stored with the record
(type and id, code, display, dates), since the assessment itself holds references only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from ..facts import ONGOING_STATUSES, MedicationFact, PatientFacts

TYPE_NAMES = {"Condition": "Condition", "MedicationRequest": "Medication request",
              "ServiceRequest": "Service request", "Patient": "Patient", "Observation": "Observation",
              "Procedure": "Procedure"}


@dataclass(frozen=True)
class Evidence:
    reference: str
    kind: str            # "Condition", "Medication request", ...
    id: str
    display: str
    codes: list[str]
    dates: str | None
    notes: list[str]

    @property
    def details(self) -> str:
        """Dates and notes on one line: "2026-08-01 to 2026-11-22 · status active · route oral"."""
        return " · ".join([*([self.dates] if self.dates else []), *self.notes])


def resolve(reference: str, facts: PatientFacts, as_of: dt.date) -> Evidence:
    resource_type, _, resource_id = reference.partition("/")
    kind = TYPE_NAMES.get(resource_type, resource_type)
    base = Evidence(reference=reference, kind=kind, id=resource_id or reference, display="", codes=[],
                    dates=None, notes=[])
    if resource_type == "Patient" and facts.patient.ref == reference:
        age = facts.patient.age_years
        return replace(base, display=f"age {age} years" if age is not None else "age unknown (no birth date)")
    for condition in facts.conditions:
        if condition.ref == reference:
            return replace(base, display=condition.display, codes=list(condition.codes),
                         dates=f"onset {condition.onset}" if condition.onset else None,
                         notes=[] if condition.active else ["not active"])
    for medication in facts.medications:
        if medication.ref == reference:
            notes = [f"status {medication.status}"]
            if medication.route:
                notes.append(f"route {medication.route}")
            if medication.order:
                notes.append("the order assessed")
            return replace(base, display=medication.display, dates=_dates(medication, as_of), notes=notes)
    for order in facts.service_orders:
        if order.ref == reference:
            return replace(base, display=order.display, notes=["the order assessed"])
    # A measurement is cited with what it said and when (a trough level and its date).
    for observation in facts.observations:
        if observation.ref == reference:
            said = (f"{observation.value:g} {observation.unit or ''}".rstrip() if observation.value is not None
                    else observation.value_text)
            return replace(base, display=observation.display, notes=[said] if said else [],
                           dates=observation.date.isoformat() if observation.date else None)
    for procedure in facts.procedures:
        if procedure.ref == reference:
            return replace(base, display=procedure.display,
                           dates=procedure.date.isoformat() if procedure.date else None)
    return base


def _dates(medication: MedicationFact, as_of: dt.date) -> str | None:
    start, end = medication.start, medication.end
    if start is None:
        return None
    if medication.order:
        return f"ordered {start}"
    # The facts cut an ongoing request's end at the as-of date: it has not ended.
    if medication.status in ONGOING_STATUSES and end == as_of:
        return f"since {start}, ongoing"
    if end is None or end == start:
        return f"{start}"
    return f"{start} to {end}"
