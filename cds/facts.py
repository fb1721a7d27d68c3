"""Flatten one patient's FHIR resources into small typed facts for the rules.

Facts carry what the criteria read and nothing else (durable-rules refuses facts with more
than 255 properties); codes are normalised and tagged with the value sets that hold them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import BaseModel

from .fhir.errors import Problem
from .fhir.record import PatientRecord
from .ruleset import Course, Ruleset
from .terminology import Coding, DrugClassifier, ValueSets
from .terminology import icd10cm
from .terminology.valuesets import HCPCS_SYSTEMS

ACTIVE_CLINICAL = {"active", "recurrence", "relapse"}
EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}
# A request's end when nothing else gives it (criteria README, S9363.oral-trial).
ONGOING_STATUSES = {"active", "on-hold"}
_DAYS_PER_UNIT = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "mo": 30,
                  "month": 30, "months": 30, "h": Decimal(1) / 24, "hour": Decimal(1) / 24}
_HOURS_PER_UNIT = {"h": 1, "d": 24, "wk": 168, "mo": 720}


class PatientFact(BaseModel):
    t: Literal["patient"] = "patient"
    ref: str
    age_years: int | None = None
    display: str = "the patient"


class ConditionFact(BaseModel):
    t: Literal["condition"] = "condition"
    ref: str
    active: bool
    vs: list[str]
    codes: list[str]
    display: str
    onset: str | None = None


class MedicationFact(BaseModel):
    t: Literal["medication"] = "medication"
    ref: str
    status: str
    order: bool
    order_for: list[str]
    classes: dict[str, bool]
    ingredients: list[str]
    route: str | None
    route_class: str
    delivery: Literal["continuous", "intermittent", "unknown"]
    status_reason: bool
    display: str
    start: dt.date | None = None
    end: dt.date | None = None


class ServiceOrderFact(BaseModel):
    """A ServiceRequest for a therapy's service (coded with its HCPCS code): an order with no drug."""

    t: Literal["service-order"] = "service-order"
    ref: str
    order_for: list[str]
    display: str


class CourseFact(BaseModel):
    t: Literal["course"] = "course"
    id: str
    span_days: int
    stopped_with_reason: bool
    evidence: list[str]
    start: dt.date | None
    end: dt.date | None
    display: str


class PatientFacts(BaseModel):
    patient: PatientFact
    conditions: list[ConditionFact]
    medications: list[MedicationFact]
    service_orders: list[ServiceOrderFact] = []
    courses: dict[str, list[CourseFact]]
    warnings: list[Problem]

    def has_order(self, therapy: str) -> bool:
        return any(therapy in o.order_for for o in [*self.medications, *self.service_orders])

    def for_engine(self, therapy: str) -> list[dict[str, Any]]:
        """Plain dicts for durable-rules: no None values, dates as ISO strings."""
        # Every condition term asks for an active condition in some value set; others could
        # match no rule, so they are not asserted (they stay in the facts for the audit trail).
        conditions = [c for c in self.conditions if c.active and c.vs]
        facts: list[BaseModel] = [self.patient, *conditions, *self.medications, *self.service_orders,
                                  *self.courses.get(therapy, [])]
        return [_plain(f) for f in facts]


def build_facts(
    record: PatientRecord,
    as_of: dt.date,
    rulesets: list[Ruleset],
    classifier: DrugClassifier,
    valuesets: ValueSets,
    order_refs: set[str] | None = None,
) -> PatientFacts:
    warnings = list(record.warnings)
    patient = PatientFact(ref=record.reference, age_years=_age(record.patient.birthDate, as_of))
    conditions = [_condition(ref, c, valuesets, warnings) for ref, c in record.conditions]
    medications = [
        _medication(ref, request, record, classifier, rulesets, as_of, order_refs)
        for ref, request in record.medication_requests
    ]
    courses = {
        r.therapy: [c for course in r.courses if (c := _course(course, medications)) is not None]
        for r in rulesets
    }
    service_orders = [
        order for ref, request in record.service_requests
        if (order := _service_order(ref, request, rulesets, order_refs)) is not None
    ]
    return PatientFacts(patient=patient, conditions=conditions, medications=medications,
                        service_orders=service_orders, courses=courses, warnings=warnings)


def _service_order(ref: str, request: ServiceRequest, rulesets: list[Ruleset],
                   order_refs: set[str] | None) -> ServiceOrderFact | None:
    is_order = request.status == "draft" if order_refs is None else ref in order_refs
    codes = {c.code for c in (request.code.coding or [] if request.code else []) if c.system in HCPCS_SYSTEMS}
    therapies = [r.therapy for r in rulesets if r.billing.code in codes]
    if not is_order or not therapies:
        return None
    return ServiceOrderFact(ref=ref, order_for=therapies, display=_label(request.code) or ", ".join(therapies))


def _age(birth: Any, as_of: dt.date) -> int | None:
    if birth is None:
        return None
    if isinstance(birth, dt.date):
        born = birth
    else:
        # A partial date (YYYY or YYYY-MM): the earliest day it can mean gives the oldest age,
        # the latest the youngest; use the youngest so an age threshold is never overstated.
        parts = str(birth).split("-")
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 12
        born = dt.date(year, month, 28)
    years = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
    return max(years, 0)


def _codings(concept: Any) -> list[Coding]:
    if concept is None:
        return []
    return [Coding(system=c.system, code=c.code, display=c.display) for c in concept.coding or []]


def _first_code(concept: Any) -> str | None:
    for coding in (concept.coding or []) if concept is not None else []:
        if coding.code:
            return coding.code
    return None


def _condition(ref: str, condition: Condition, valuesets: ValueSets, warnings: list[Problem]) -> ConditionFact:
    clinical = _first_code(condition.clinicalStatus)
    verification = _first_code(condition.verificationStatus)
    active = (clinical is None or clinical in ACTIVE_CLINICAL) and verification not in EXCLUDED_VERIFICATION
    memberships: set[str] = set()
    codes: list[str] = []
    for coding in _codings(condition.code):
        if not coding.code:
            continue
        if coding.system == icd10cm.SYSTEM and not icd10cm.exists(coding.code):
            warnings.append(Problem(
                source=ref, element="Condition.code",
                message=f"ICD-10-CM code {coding.code} does not exist; it matches nothing", severity="warning",
            ))
            continue
        code = icd10cm.normalise(coding.code) if coding.system == icd10cm.SYSTEM else coding.code
        codes.append(code)
        memberships |= valuesets.memberships(coding.system, coding.code)
    display = _label(condition.code) or "condition"
    onset = condition.onsetDateTime
    return ConditionFact(ref=ref, active=active, vs=sorted(memberships), codes=codes, display=display,
                         onset=str(onset)[:10] if onset else None)


def _label(concept: Any) -> str | None:
    if concept is None:
        return None
    if concept.text:
        return str(concept.text)
    for coding in concept.coding or []:
        if coding.display:
            return str(coding.display)
    return None


def _medication(
    ref: str,
    request: MedicationRequest,
    record: PatientRecord,
    classifier: DrugClassifier,
    rulesets: list[Ruleset],
    as_of: dt.date,
    order_refs: set[str] | None,
) -> MedicationFact:
    concept = request.medicationCodeableConcept
    if concept is None and request.medicationReference is not None:
        concept = _referenced_medication(request, record)
    dosage = request.dosageInstruction or []
    route_concept = next((d.route for d in dosage if d.route is not None), None)
    drug = classifier.classify(
        _codings(concept), concept.text if concept is not None else None,
        _codings(route_concept), route_concept.text if route_concept is not None else None,
    )
    is_order = request.status == "draft" if order_refs is None else ref in order_refs
    order_for = _order_for(drug.classes, rulesets) if is_order else []
    start, end = _span(request, as_of)
    return MedicationFact(
        ref=ref, status=request.status, order=is_order, order_for=order_for,
        classes={name: name in drug.classes for name in classifier.terminology.drug_classes},
        ingredients=drug.ingredients, route=drug.route, route_class=drug.route_class,
        delivery=_delivery(dosage), status_reason=request.statusReason is not None,
        display=drug.name, start=start, end=end,
    )


def _referenced_medication(request: MedicationRequest, record: PatientRecord) -> Any:
    reference = request.medicationReference.reference or ""
    if reference.startswith("#"):
        for contained in request.contained or []:
            if contained.id == reference[1:] and contained.get_resource_type() == "Medication":
                return contained.code
        return None
    medication = record.medications.get(reference)
    return medication.code if medication is not None else None


def _order_for(classes: list[str], rulesets: list[Ruleset]) -> list[str]:
    """The therapies whose order this is: by drug class, or every therapy for an unknown drug."""
    claimed = [r.therapy for r in rulesets if set(r.order_classes) & set(classes)]
    return claimed or [r.therapy for r in rulesets]


def _delivery(dosage: list[Any]) -> Literal["continuous", "intermittent", "unknown"]:
    """Continuous: a rate, or a duration of 24 h or more; a frequency without a rate is not."""
    intermittent = False
    for instruction in dosage:
        for dose in instruction.doseAndRate or []:
            if dose.rateQuantity is not None or dose.rateRatio is not None or dose.rateRange is not None:
                return "continuous"
        repeat = instruction.timing.repeat if instruction.timing is not None else None
        if repeat is None:
            continue
        if repeat.duration is not None and repeat.durationUnit in _HOURS_PER_UNIT:
            if Decimal(repeat.duration) * _HOURS_PER_UNIT[repeat.durationUnit] >= 24:
                return "continuous"
        if repeat.frequency is not None or repeat.period is not None:
            intermittent = True
    return "intermittent" if intermittent else "unknown"


def _span(request: MedicationRequest, as_of: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """A request's start and end as S9363.oral-trial defines them (criteria/S9363.md)."""
    validity = request.dispenseRequest.validityPeriod if request.dispenseRequest else None
    bounds = [
        d.timing.repeat.boundsPeriod
        for d in request.dosageInstruction or []
        if d.timing and d.timing.repeat and d.timing.repeat.boundsPeriod
    ]
    authored = _day(request.authoredOn)
    starts = [d for d in [authored, _day(validity.start if validity else None),
                          *(_day(b.start) for b in bounds)] if d]
    start = min(starts) if starts else None
    if start is None:
        return None, None
    if validity is not None and validity.end is not None:
        end = min(_day(validity.end) or as_of, as_of)
    elif request.status in ONGOING_STATUSES:
        end = as_of
    elif request.dispenseRequest and request.dispenseRequest.expectedSupplyDuration and authored:
        supply = request.dispenseRequest.expectedSupplyDuration
        per_unit = _DAYS_PER_UNIT.get(supply.code or supply.unit or "d", 1)
        end = authored + dt.timedelta(days=int(Decimal(supply.value or 0) * per_unit))
    else:
        end = authored or start
    return start, max(end, start)


def _day(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    try:
        return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _course(course: Course, medications: list[MedicationFact]) -> CourseFact | None:
    """The span from the earliest start to the latest end of the course's requests.

    A request without dates still belongs to the course (a stopped one with a reason counts);
    it adds no days.
    """
    members = [
        m for m in medications
        if not m.order and m.classes.get(course.drug_class) and m.route_class == course.route_class
        and m.status in course.statuses
    ]
    if not members:
        return None
    starts = [m.start for m in members if m.start is not None]
    ends = [m.end for m in members if m.end is not None]
    start, end = (min(starts), max(ends)) if starts and ends else (None, None)
    return CourseFact(
        id=course.id, span_days=(end - start).days if start and end else 0,
        stopped_with_reason=any(m.status == "stopped" and m.status_reason for m in members),
        evidence=[m.ref for m in members], start=start, end=end,
        display="; ".join(dict.fromkeys(m.display for m in members)),
    )


def _plain(fact: BaseModel) -> dict[str, Any]:
    data = fact.model_dump(mode="json", exclude_none=True)
    if isinstance(data.get("classes"), dict):
        data.update({f"class_{k}": v for k, v in data.pop("classes").items()})
    return data
