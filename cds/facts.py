"""Flatten one patient's FHIR resources into small typed facts for the rules.

Facts carry what the criteria read and nothing else (durable-rules refuses facts with more
than 255 properties); codes are normalised and tagged with the value sets that hold them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import BaseModel, PrivateAttr

from .fhir.errors import Problem
from .fhir.record import PatientRecord
from .routing import claiming
from .ruleset import Course, Ruleset
from .terminology import Coding, DrugClassifier, ValueSets
from .terminology import icd10cm
from .terminology.valuesets import HCPCS_SYSTEMS

ACTIVE_CLINICAL = {"active", "recurrence", "relapse"}
EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}
# A request's end when nothing else gives it (criteria README; the anti-spasmodic oral trial).
ONGOING_STATUSES = {"active", "on-hold"}
_DAYS_PER_UNIT = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "mo": 30,
                  "month": 30, "months": 30, "h": Decimal(1) / 24, "hour": Decimal(1) / 24}
_HOURS_PER_UNIT = {"h": 1, "d": 24, "wk": 168, "mo": 720, "min": Decimal(1) / 60, "s": Decimal(1) / 3600}
# FHIR TimingAbbreviation codes that state an interval (hours between doses).
_TIMING_CODES = {"Q1H": 1, "Q2H": 2, "Q3H": 3, "Q4H": 4, "Q6H": 6, "Q8H": 8, "BID": 12, "TID": 8,
                 "QID": 6, "QD": 24, "AM": 24, "PM": 24, "QOD": 48}
_ML_PER_UNIT = {"ml": 1, "mL": 1, "L": 1000, "l": 1000, "dL": 100, "cL": 10}
_MG_PER_UNIT = {"mg": 1, "g": 1000, "ug": Decimal("0.001"), "mcg": Decimal("0.001")}
# Observation statuses that count (criteria README: never preliminary, cancelled, entered-in-error).
OBSERVATION_STATUSES = {"final", "amended", "corrected"}


class PatientFact(BaseModel):
    t: Literal["patient"] = "patient"
    ref: str
    age_years: int | None = None
    age_days: int | None = None
    display: str = "the patient"
    as_of: dt.date


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
    authored: dt.date | None = None
    # Read from the order's dosage (criteria README "Continuous", the pages' Billing sections):
    # hours between doses, mL a day, mg a day, hours one administration lasts. None: cannot be told.
    interval_hours: float | None = None
    daily_volume_ml: float | None = None
    daily_dose_mg: float | None = None
    duration_hours: float | None = None


class ObservationFact(BaseModel):
    """An Observation in some value set, with a usable status (criteria README)."""

    t: Literal["observation"] = "observation"
    ref: str
    vs: list[str]
    date: dt.date | None
    value: float | None = None
    unit: str | None = None
    coded: bool = False              # the value is a valueCodeableConcept
    answers: list[str] = []          # value sets holding valueCodeableConcept's codes
    interpretation: list[str] = []   # interpretation codes (H, HH, L, LL, ...)
    display: str


class ProcedureFact(BaseModel):
    t: Literal["procedure"] = "procedure"
    ref: str
    vs: list[str]
    status: str
    date: dt.date | None
    display: str


class ServiceOrderFact(BaseModel):
    """A ServiceRequest for a therapy's service (coded with its HCPCS code): an order with no drug."""

    t: Literal["service-order"] = "service-order"
    ref: str
    order_for: list[str]
    # Therapy -> the code the request names (its billing code, criteria README).
    codes: dict[str, str] = {}
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


class DocumentedFact(BaseModel):
    """A documentation item a clinician attested (a yes in a DTR QuestionnaireResponse): it is
    no longer listed as needed."""

    item: str                        # the documentation item's id
    ref: str                         # QuestionnaireResponse/<id>#<item>


class PatientFacts(BaseModel):
    patient: PatientFact
    conditions: list[ConditionFact]
    medications: list[MedicationFact]
    service_orders: list[ServiceOrderFact] = []
    observations: list[ObservationFact] = []
    procedures: list[ProcedureFact] = []
    # Procedures of any code and status on record: "no Procedure at all" makes a criterion
    # that needs one unknown (criteria README).
    procedure_count: int = 0
    courses: dict[str, list[CourseFact]]
    warnings: list[Problem]
    documented: list[DocumentedFact] = []
    # The conditions as plain dicts, the same for every therapy: made once, not once per ruleset.
    _plain_conditions: list[dict[str, Any]] | None = PrivateAttr(default=None)

    def has_order(self, therapy: str) -> bool:
        return any(therapy in o.order_for for o in [*self.medications, *self.service_orders])

    def service_codes(self, therapy: str) -> list[str]:
        """The HCPCS codes that ServiceRequests under evaluation name for this therapy."""
        return [o.codes[therapy] for o in self.service_orders if therapy in o.codes]

    def order_date(self, therapy: str) -> dt.date | None:
        """The date of the therapy's order: the earliest authoredOn of its draft orders."""
        dates = [m.authored for m in self.medications if therapy in m.order_for and m.authored]
        return min(dates) if dates else None

    def for_engine(self, therapy: str) -> list[dict[str, Any]]:
        """Plain dicts for durable-rules: no None values, dates as ISO strings, and the day
        counts the window terms compare (before the as-of date and before the order)."""
        as_of = self.patient.as_of
        order_day = self.order_date(therapy)
        # Every condition term asks for a condition in some value set (active unless it says
        # any status); others could match no rule, so they are not asserted (they stay in the
        # facts for the audit trail).
        if self._plain_conditions is None:
            self._plain_conditions = [_plain(c) for c in self.conditions if c.vs]
        conditions = self._plain_conditions
        medications = []
        for medication in self.medications:
            plain = _plain(medication)
            if therapy not in medication.order_for:
                plain.pop("order_for", None)
            _windows(plain, medication.start, medication.end, as_of, order_day)
            medications.append(plain)
        procedures = []
        for procedure in self.procedures:
            plain = _plain(procedure)
            _windows(plain, procedure.date, procedure.date, as_of, order_day)
            procedures.append(plain)
        summary = {"t": "record", "procedures": self.procedure_count,
                   "medication_history": sum(not m.order for m in self.medications)}
        return [_plain(self.patient), *conditions, *medications,
                *(_plain(o) for o in self.service_orders if therapy in o.order_for),
                *procedures, *(_plain(c) for c in self.courses.get(therapy, [])), summary]


def _windows(plain: dict[str, Any], start: dt.date | None, end: dt.date | None, as_of: dt.date,
             order_day: dt.date | None) -> None:
    """Days from the span's start and end back from the as-of date and the order's date: a
    span lies within N days before an anchor when start_ago >= 0 and end_ago <= N."""
    if start is None:
        return
    end = end or start
    plain["asof_start_ago"] = (as_of - start).days
    plain["asof_end_ago"] = (as_of - end).days
    if order_day is not None:
        plain["order_start_ago"] = (order_day - start).days
        plain["order_end_ago"] = (order_day - end).days


def build_facts(
    record: PatientRecord,
    as_of: dt.date,
    rulesets: list[Ruleset],
    classifier: DrugClassifier,
    valuesets: ValueSets,
    order_refs: set[str] | None = None,
) -> PatientFacts:
    """Every fact of one patient, once for all therapies; order_refs names the orders under
    evaluation (None: every draft MedicationRequest and ServiceRequest)."""
    warnings = list(record.warnings)
    patient = PatientFact(ref=record.reference, age_years=_age(record.patient.birthDate, as_of),
                          age_days=_age_days(record.patient.birthDate, as_of), as_of=as_of)
    conditions = [_condition(ref, c, valuesets, warnings) for ref, c in record.conditions]
    medications = [
        _medication(ref, request, record, classifier, rulesets, as_of, order_refs)
        for ref, request in record.medication_requests
    ]
    observations = [o for ref, obs in record.observations
                    if (o := _observation(ref, obs, valuesets)) is not None]
    procedures = [p for ref, proc in record.procedures if (p := _procedure(ref, proc, valuesets)) is not None]
    courses = {
        r.therapy: [c for course in r.courses if (c := _course(course, medications)) is not None]
        for r in rulesets
    }
    service_orders = [
        order for ref, request in record.service_requests
        if (order := _service_order(ref, request, rulesets, order_refs)) is not None
    ]
    return PatientFacts(patient=patient, conditions=conditions, medications=medications,
                        service_orders=service_orders, observations=observations, procedures=procedures,
                        procedure_count=len(record.procedures), courses=courses, warnings=warnings,
                        documented=[DocumentedFact(ref=ref, item=item) for ref, item in record.documented])


def _service_order(ref: str, request: ServiceRequest, rulesets: list[Ruleset],
                   order_refs: set[str] | None) -> ServiceOrderFact | None:
    is_order = request.status == "draft" if order_refs is None else ref in order_refs
    codes = {c.code for c in (request.code.coding or [] if request.code else []) if c.system in HCPCS_SYSTEMS}
    therapies = [r.therapy for r in rulesets if codes.intersection(r.billing.all_codes)]
    if not is_order or not therapies:
        return None
    billed = {r.therapy: next(c for c in r.billing.all_codes if c in codes) for r in rulesets if r.therapy in therapies}
    return ServiceOrderFact(ref=ref, order_for=therapies, codes=billed,
                            display=_label(request.code) or ", ".join(therapies))


def _observation(ref: str, observation: Observation, valuesets: ValueSets) -> ObservationFact | None:
    if observation.status not in OBSERVATION_STATUSES:
        return None
    memberships: set[str] = set()
    for coding in _codings(observation.code):
        memberships |= valuesets.memberships(coding.system, coding.code)
    if not memberships:
        return None
    answers: set[str] = set()
    for coding in _codings(observation.valueCodeableConcept):
        answers |= valuesets.memberships(coding.system, coding.code)
    quantity = observation.valueQuantity
    value = float(quantity.value) if quantity is not None and quantity.value is not None else None
    unit = (quantity.code or quantity.unit) if quantity is not None else None
    interpretation = sorted({c.code for concept in observation.interpretation or [] for c in concept.coding or []
                             if c.code})
    period = observation.effectivePeriod
    date = _day(observation.effectiveDateTime) or _day(period.start if period else None) or _day(observation.issued)
    return ObservationFact(ref=ref, vs=sorted(memberships), date=date, value=value, unit=unit,
                           coded=observation.valueCodeableConcept is not None, answers=sorted(answers), interpretation=interpretation,
                           display=_label(observation.code) or "observation")


def _procedure(ref: str, procedure: Procedure, valuesets: ValueSets) -> ProcedureFact | None:
    memberships: set[str] = set()
    for coding in _codings(procedure.code):
        memberships |= valuesets.memberships(coding.system, coding.code)
    if not memberships or procedure.status != "completed":
        return None
    period = procedure.performedPeriod
    date = _day(procedure.performedDateTime) or _day(period.start if period else None)
    return ProcedureFact(ref=ref, vs=sorted(memberships), status=procedure.status, date=date,
                         display=_label(procedure.code) or "procedure")


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


def _age_days(birth: Any, as_of: dt.date) -> int | None:
    """Age in days, only for a full birth date (neonatal criteria count days)."""
    if isinstance(birth, dt.date):
        return max((as_of - birth).days, 0)
    return None


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
    start, end = _span(request, as_of)
    interval = _interval_hours(dosage)
    duration = _duration_hours(dosage)
    fact = MedicationFact(
        ref=ref, status=request.status, order=is_order, order_for=[],
        classes={name: name in drug.classes for name in classifier.terminology.drug_classes},
        ingredients=drug.ingredients, route=drug.route, route_class=drug.route_class,
        delivery=_delivery(dosage), status_reason=request.statusReason is not None,
        display=drug.name, start=start, end=end, authored=_day(request.authoredOn),
        interval_hours=interval, duration_hours=duration,
        daily_volume_ml=_daily_volume_ml(dosage), daily_dose_mg=_daily_amount(dosage, _milligrams),
    )
    if is_order:
        fact.order_for = claiming(fact, rulesets)
    return fact


def _referenced_medication(request: MedicationRequest, record: PatientRecord) -> Any:
    reference = request.medicationReference.reference or ""
    if reference.startswith("#"):
        for contained in request.contained or []:
            if contained.id == reference[1:] and contained.get_resource_type() == "Medication":
                return contained.code
        return None
    medication = record.medications.get(reference)
    return medication.code if medication is not None else None


def _delivery(dosage: list[Any]) -> Literal["continuous", "intermittent", "unknown"]:
    """Continuous: a rate with no repeat frequency, or a duration of 24 h or more. A frequency
    whose administrations last under 24 h is intermittent even with a rate (criteria README)."""
    intermittent = False
    for instruction in dosage:
        rate = any(dose.rateQuantity is not None or dose.rateRatio is not None or dose.rateRange is not None
                   for dose in instruction.doseAndRate or [])
        repeat = instruction.timing.repeat if instruction.timing is not None else None
        if repeat is not None and repeat.duration is not None and repeat.durationUnit in _HOURS_PER_UNIT:
            if Decimal(repeat.duration) * _HOURS_PER_UNIT[repeat.durationUnit] >= 24:
                return "continuous"
        repeats = repeat is not None and (repeat.frequency is not None or repeat.period is not None)
        if rate and not repeats:
            return "continuous"
        intermittent = intermittent or repeats
    return "intermittent" if intermittent else "unknown"


def _repeat(dosage: list[Any]) -> Any:
    """The timing.repeat of the first dosage instruction that has a timing."""
    for instruction in dosage:
        if instruction.timing is not None:
            return instruction.timing.repeat
    return None


def _hours(value: Any, unit: str | None) -> Decimal | None:
    if value is None or unit not in _HOURS_PER_UNIT:
        return None
    return Decimal(str(value)) * Decimal(_HOURS_PER_UNIT[unit])


def _interval_hours(dosage: list[Any]) -> float | None:
    """Hours between doses: period / frequency from timing.repeat, else timing.code (S9494.md,
    Billing). None when the order does not tell: no timing, a range, as needed, continuous."""
    for instruction in dosage:
        timing = instruction.timing
        if timing is None:
            continue
        if instruction.asNeededBoolean or instruction.asNeededCodeableConcept is not None:
            return None
        repeat = timing.repeat
        if repeat is not None and (repeat.periodMax is not None or repeat.frequencyMax is not None):
            return None
        if repeat is not None and repeat.period is not None:
            period = _hours(repeat.period, repeat.periodUnit)
            if period is None or not repeat.frequency and repeat.frequency is not None:
                return None
            return float(period / Decimal(repeat.frequency or 1))
        code = next((c.code for c in (timing.code.coding or []) if c.code), None) if timing.code else None
        if code in _TIMING_CODES:
            return float(_TIMING_CODES[code])
        return None
    return None


def _duration_hours(dosage: list[Any]) -> float | None:
    """Hours one administration lasts (the chemotherapy page): repeat.duration; else boundsDuration of a
    single administration; else dose volume / rate; None when it cannot be told."""
    for instruction in dosage:
        repeat = instruction.timing.repeat if instruction.timing is not None else None
        if repeat is not None and repeat.duration is not None:
            return _float(_hours(repeat.duration, repeat.durationUnit))
        if repeat is not None and repeat.boundsDuration is not None and repeat.frequency is None \
                and repeat.period is None:
            bounds = repeat.boundsDuration
            return _float(_hours(bounds.value, bounds.code or bounds.unit))
        for dose in instruction.doseAndRate or []:
            volume = _millilitres(dose.doseQuantity)
            rate = dose.rateQuantity
            per_hour = _millilitres(rate) if rate is not None and (rate.code or rate.unit or "").endswith("/h") else None
            if volume and per_hour:
                return volume / per_hour
    return None


def _amount(quantity: Any, per_unit: dict[str, Any]) -> float | None:
    """A quantity in the unit of a table (mL, mg), also the numerator of a rate (mL/h, mg/h)."""
    if quantity is None or quantity.value is None:
        return None
    unit = (quantity.code or quantity.unit or "").split("/")[0]
    factor = per_unit.get(unit)
    return float(Decimal(str(quantity.value)) * factor) if factor is not None else None


def _millilitres(quantity: Any) -> float | None:
    return _amount(quantity, _ML_PER_UNIT)


def _milligrams(quantity: Any) -> float | None:
    return _amount(quantity, _MG_PER_UNIT)


def _daily_volume_ml(dosage: list[Any]) -> float | None:
    """mL a day (the nutrition and hydration pages, Billing)."""
    return _daily_amount(dosage, _millilitres)


def _daily_amount(dosage: list[Any], amount: Callable[[Any], float | None]) -> float | None:
    """An amount a day (mL, or mg for a page's dose limit): dose x doses a day, or rate (per hour) x hours
    infused a day (repeat.duration x frequency, else 24 h when continuous)."""
    total = 0.0
    found = False
    for instruction in dosage:
        if instruction.asNeededBoolean or instruction.asNeededCodeableConcept is not None:
            # "As needed": how much a day is given cannot be told from the order.
            return None
        repeat = instruction.timing.repeat if instruction.timing is not None else None
        for dose in instruction.doseAndRate or []:
            rate = dose.rateQuantity
            if rate is not None and (rate.code or rate.unit or "").endswith("/h"):
                per_hour = amount(rate)
                if per_hour is None:
                    continue
                hours = 24.0
                if repeat is not None and repeat.duration is not None:
                    one = _hours(repeat.duration, repeat.durationUnit)
                    per_day = _per_day(repeat)
                    if one is None or per_day is None:
                        continue
                    hours = float(one) * per_day
                elif repeat is not None and (repeat.frequency is not None or repeat.period is not None):
                    continue
                total += per_hour * hours
                found = True
                continue
            volume = amount(dose.doseQuantity)
            per_day = _per_day(repeat) if repeat is not None else None
            if volume is not None and per_day is not None:
                total += volume * per_day
                found = True
    return total if found else None


def _per_day(repeat: Any) -> float | None:
    period = _hours(repeat.period, repeat.periodUnit) if repeat.period is not None else None
    if period is None or period == 0:
        return None
    return float(Decimal(repeat.frequency or 1) * 24 / period)


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _span(request: MedicationRequest, as_of: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """A request's start and end as the anti-spasmodic page's oral trial defines them."""
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
