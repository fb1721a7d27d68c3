"""Flatten one patient's FHIR resources into small typed facts for the rules.

Facts carry what the criteria read and nothing else (durable-rules refuses facts with more
than 255 properties); codes are normalised and tagged with the value sets that hold them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from itertools import groupby
from decimal import Decimal
from typing import Any, Literal

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import BaseModel, PrivateAttr

from .fhir.dates import day as _day
from .fhir.errors import Problem
from .fhir.record import PatientRecord
from .adjuncts import Drafted, link_keys, served
from .routing import RecordView, claiming
from .spans import days_ago, within
from .ruleset import Adjunct, Course, Ruleset
from .terminology import Coding, DrugClassifier, Terminology, ValueSets
from .terminology.drugs import Timing
from .terminology import icd10cm
from .terminology.pregnancy import pregnancy
from .terminology.pregnancy import settings as pregnancy_settings
from .terminology.units import fold
from .terminology.valuesets import HCPCS_SYSTEMS
from .texts import ResultMatcher, TextMatcher, phrase_flag

ACTIVE_CLINICAL = {"active", "recurrence", "relapse"}
EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}
# A request's end when nothing else gives it (criteria README; the anti-spasmodic oral trial).
ONGOING_STATUSES = {"active", "on-hold"}
# The medication history (criteria README "Medication history statuses"): the drug was given.
# A request besides the orders under evaluation with any other status (cancelled: never started;
# entered-in-error: never happened; a draft not under evaluation; unknown) counts nowhere: it is
# not given to the rules, courses, class counts, first requests or "no history" checks.
HISTORY_STATUSES = ("active", "on-hold", "completed", "stopped")
_DAYS_PER_UNIT = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "mo": 30,
                  "month": 30, "months": 30, "h": Decimal(1) / 24, "hour": Decimal(1) / 24}
_HOURS_PER_UNIT = {"h": 1, "d": 24, "wk": 168, "mo": 720, "min": Decimal(1) / 60, "s": Decimal(1) / 3600}
_ML_PER_UNIT = {"ml": 1, "mL": 1, "L": 1000, "l": 1000, "dL": 100, "cL": 10}
# An onsetAge's UCUM units in days.
_DAYS_PER_AGE_UNIT = {"a": 365.25, "mo": 30.4375, "wk": 7, "d": 1}
_MG_PER_UNIT = {"mg": 1, "g": 1000, "ug": Decimal("0.001"), "mcg": Decimal("0.001")}
# Units of activity (heparin): UCUM U and [iU], and as RxNorm and records print them.
_UNITS_PER_UNIT = {"U": 1, "[iU]": 1, "IU": 1, "UNT": 1, "unit": 1, "units": 1, "[USP'U]": 1}
# The denominator of a dose per kg of body weight (mg/kg), as fold reads it.
_PER_KG = "kg"
# Observation statuses that count (criteria README: never preliminary, cancelled, entered-in-error).
OBSERVATION_STATUSES = {"final", "amended", "corrected"}


class PatientFact(BaseModel):
    t: Literal["patient"] = "patient"
    ref: str
    age_years: int | None = None
    age_days: int | None = None
    # Patient.gender (FHIR administrative gender); None when the record does not say.
    gender: str | None = None
    display: str = "the patient"
    as_of: dt.date


class ConditionFact(BaseModel):
    t: Literal["condition"] = "condition"
    ref: str
    active: bool
    # Not refuted or entered-in-error: an unverified condition counts nowhere, even where a page
    # says "any status" (that widens the clinical status only: criteria README).
    verified: bool = True
    vs: list[str]
    codes: list[str]
    display: str
    onset: str | None = None
    # When it happened (criteria README "When a condition happened"): onsetDateTime, onsetPeriod.start
    # or onsetAge from the birth date, else recordedDate; None: a windowed reading cannot tell.
    date: dt.date | None = None
    # Flags of the rulesets' phrases found in the code's text or displays (cds/texts.py).
    texts: list[str] = []


class MedicationFact(BaseModel):
    t: Literal["medication"] = "medication"
    ref: str
    status: str
    order: bool
    order_for: list[str]
    # The therapies whose routing claims the request, order or history (a history request is
    # judged without the other orders of the request).
    routed_to: list[str] = []
    classes: dict[str, bool]
    ingredients: list[str]
    # A draft order of this call: under evaluation, or drafted beside the selections and not
    # selected (order-select's draftOrders). Read by `order: other` (criteria README "Other
    # pages' orders"); its routed_to is judged beside the call's other drafts.
    drafted: bool = False
    # Read by routing only (cds/routing.py), never by the rules.
    other_words: list[str] = []
    strengths: dict[str, float] = {}
    # Flags of the routing phrases in the dosage text, timing code, route or method (a flush).
    dosage_texts: list[str] = []
    route: str | None
    route_class: str
    # The route read with the product's label (cds/terminology/drugs.py `label_route`): the
    # stated route, "off-label", or with none stated the labelled routes joined by "+".
    label_route: str | None = None
    delivery: Literal["continuous", "intermittent", "unknown"]
    # Injection or infusion (criteria README): see `_given_as`.
    given_as: Literal["injection", "infusion", "unknown"] = "unknown"
    status_reason: bool
    display: str
    # The drug cannot be read: its medicationReference resolves to no Medication with a code
    # (reported as an input warning). Routing then reads only the route and delivery, and the
    # criteria reading the order are unknown (cds/engine/run.py).
    drug_unread: bool = False
    start: dt.date | None = None
    end: dt.date | None = None
    authored: dt.date | None = None
    # Read from the order's dosage (criteria README "Continuous", the pages' Billing sections):
    # hours between doses, mL a day, mg a day, hours one administration lasts. None: cannot be told.
    interval_hours: float | None = None
    daily_volume_ml: float | None = None
    # mL on a day the order is given (a page billing only the days infused: the hydration page).
    infused_day_volume_ml: float | None = None
    daily_dose_mg: float | None = None
    # One dose in mg per kg of body weight: a dose written per kg, else the largest dose in mg
    # divided by the most recent weight (criteria README "Strength, volume and dose"); the
    # weight, in kg, for reasons. None: cannot be told (no dose in mg, no usable weight).
    dose_per_kg_mg: float | None = None
    # The fastest the drug runs, in mg an hour: a mass rate (mg/h, mg/min), else a dose over its
    # administration's duration (a furosemide bolus of 80 mg over 10 min is 480 mg/h).
    rate_mg_per_hour: float | None = None
    weight_kg: float | None = None
    # The product (criteria README "Strength, volume and dose"): units per mL and container mL
    # (Medication.ingredient.strength and Medication.amount, else the name), and units a day (a
    # dose in units x doses a day, or units/h, units/kg/h times the weight, x hours infused a
    # day). None: cannot be told. Routing reads the first two (flushes and locks).
    units_per_ml: float | None = None
    container_ml: float | None = None
    daily_dose_units: float | None = None
    duration_hours: float | None = None
    # Flags of the rulesets' phrases (cds/texts.py) in the dosage text or the timing code.
    timing_texts: list[str] = []
    # Days from the start to the planned end (boundsDuration, boundsPeriod.end or
    # validityPeriod.end); None: the order has no end.
    planned_days: float | None = None
    # The largest dose of one administration in mg; minutes one administration lasts; days of
    # the course (a count of once-daily doses, else its bounds, first and last day counted).
    dose_mg: float | None = None
    # The product's mass the drug's name states ("40 MG ... Injection": the presentation).
    product_mg: float | None = None
    duration_minutes: float | None = None
    course_days: float | None = None
    # The regimen its timing states (criteria README "Regimen from timing").
    regimen: Literal["on-demand", "short-course", "scheduled", "not-stated"] = "not-stated"
    # Administrations a day its timing states, summed over its dosage instructions (the
    # `doses_per_day` term: injections a day of the requests active together); None: not told.
    doses_per_day: float | None = None
    # Why it is ordered (criteria README "Context"): the value sets of its reasonCode codings and of
    # the Conditions its reasonReference names; whether it states a reason at all. Read by routing.
    reasons: list[str] = []
    reason_stated: bool = False
    # Read by routing only: one dose (a premedication, cds/adjuncts.py), the largest dose of one
    # administration in mg, and what links the request to others drafted with it (its
    # groupIdentifier, the requests its basedOn names).
    single_dose: bool = False
    group: str | None = None
    based_on: list[str] = []
    # The therapies whose orders this order serves as an adjunct (premedication, diluent,
    # additive): it is assessed with them, and claimed by no page (order_for is empty).
    adjunct_to: list[str] = []

    @property
    def history(self) -> bool:
        """Part of the medication history: not an order under evaluation, and given."""
        return not self.order and self.status in HISTORY_STATUSES

    @property
    def counts(self) -> bool:
        """What the rules see of the requests: the drafts of the call (the orders under evaluation
        among them) and the history."""
        return self.order or self.drafted or self.history


class ObservationFact(BaseModel):
    """An Observation in some value set, with a usable status (criteria README)."""

    t: Literal["observation"] = "observation"
    ref: str
    vs: list[str]
    date: dt.date | None
    value: float | None = None
    unit: str | None = None
    # valueQuantity.comparator (<, <=, >=, >, ad): the value is a bound (criteria README "Comparators").
    comparator: str | None = None
    coded: bool = False              # the value is a valueCodeableConcept
    answers: list[str] = []          # value sets holding valueCodeableConcept's codes
    interpretation: list[str] = []   # interpretation codes (H, HH, L, LL, ...)
    # The low limits of its reference ranges (value, unit; unit None: the value's own unit),
    # compared with the value after unit conversion by cds/derive.py.
    lows: list[tuple[float, str | None]] = []
    display: str
    # Flags of the rulesets' phrases (cds/texts.py) found in the code's text or displays, in the
    # value as text (valueString, valueCodeableConcept) and in the method.
    texts: list[str] = []
    value_texts: list[str] = []
    method_texts: list[str] = []
    value_text: str | None = None     # the value as text, for reasons
    method: str | None = None         # the method's text or display, for reasons


class ProcedureFact(BaseModel):
    t: Literal["procedure"] = "procedure"
    ref: str
    vs: list[str]
    status: str
    date: dt.date | None
    display: str
    # Flags of the rulesets' phrases (cds/texts.py) in the code's text or displays, and those of
    # every later procedure (a removal after an implantation); the value sets of every later one.
    texts: list[str] = []
    followed_by: list[str] = []
    followed_by_vs: list[str] = []


class ImmunizationFact(BaseModel):
    """A completed Immunization in some value set (criteria README "Immunization": CVX codes,
    dated by occurrenceDateTime)."""

    t: Literal["immunization"] = "immunization"
    ref: str
    vs: list[str]
    date: dt.date | None
    display: str


class ServiceOrderFact(BaseModel):
    """A ServiceRequest for a therapy's service (coded with its HCPCS code, or with a procedure
    code of its routing's `services`): an order with no drug, route or timing."""

    t: Literal["service-order"] = "service-order"
    ref: str
    order_for: list[str]
    # Therapy -> the code the request names (its billing code, criteria README).
    codes: dict[str, str] = {}
    # The value sets its codes are in: what a page reads from the code (a blood component).
    vs: list[str] = []
    authored: dt.date | None = None
    # ServiceRequest.quantityQuantity.value (units of a blood product).
    quantity: float | None = None
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
    immunizations: list[ImmunizationFact] = []
    # Immunizations of any code and status on record: none at all is unknown, as for Procedures.
    immunization_count: int = 0
    courses: dict[str, list[CourseFact]]
    warnings: list[Problem]
    documented: list[DocumentedFact] = []
    # The conditions as plain dicts, the same for every therapy: made once, not once per ruleset.
    _plain_conditions: list[dict[str, Any]] | None = PrivateAttr(default=None)
    # Observations by value set and by phrase flag: each derived fact reads a few sets of many.
    _observations_by: dict[str, list[int]] | None = PrivateAttr(default=None)
    # The patient, medications and procedures as plain dicts, dumped once and copied per therapy.
    _plain_facts: tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]] | None = PrivateAttr(default=None)

    def observations_in(self, valuesets: set[str], flags: set[str]) -> list[ObservationFact]:
        """The observations in any of the value sets or naming any of the phrase flags, in record order."""
        if self._observations_by is None:
            index: dict[str, list[int]] = {}
            for n, observation in enumerate(self.observations):
                for key in {*(f"vs:{v}" for v in observation.vs), *(f"text:{t}" for t in observation.texts)}:
                    index.setdefault(key, []).append(n)
            self._observations_by = index
        found = {n for v in valuesets for n in self._observations_by.get(f"vs:{v}", ())}
        found.update(n for t in flags for n in self._observations_by.get(f"text:{t}", ()))
        return [self.observations[n] for n in sorted(found)]

    def has_order(self, therapy: str) -> bool:
        return any(therapy in o.order_for for o in [*self.medications, *self.service_orders])

    def service_codes(self, therapy: str) -> list[str]:
        """The HCPCS codes that ServiceRequests under evaluation name for this therapy."""
        return [o.codes[therapy] for o in self.service_orders if therapy in o.codes]

    def orders(self) -> dict[str, list[str]]:
        """Each order under evaluation (medication or service) -> the therapies claiming it."""
        return {o.ref: o.order_for for o in [*self.medications, *self.service_orders] if o.order_for}

    def adjuncts(self, therapy: str) -> list[str]:
        """The orders under evaluation that serve this therapy's orders (premedication, diluent,
        additive: cds/adjuncts.py), when it has an order under evaluation to serve."""
        if not self.has_order(therapy):
            return []
        return [m.ref for m in self.medications if m.order and therapy in m.adjunct_to]

    def unread_orders(self, therapy: str) -> list[str]:
        """The therapy's orders whose drug cannot be read."""
        return [m.ref for m in self.medications if therapy in m.order_for and m.drug_unread]

    def order_date(self, therapy: str) -> dt.date | None:
        """The date of the therapy's order: the earliest authoredOn of its draft orders."""
        dates = [m.authored for m in [*self.medications, *self.service_orders] if therapy in m.order_for and m.authored]
        return min(dates) if dates else None

    def conditions_for_engine(self) -> list[dict[str, Any]]:
        """The conditions as plain dicts, the same for every therapy. Every condition term asks
        for a verified condition in some value set or naming a phrase; others could match no rule,
        so they are not asserted (they stay in the facts for the audit trail)."""
        if self._plain_conditions is None:
            self._plain_conditions = []
            for condition in self.conditions:
                if condition.verified and (condition.vs or condition.texts):
                    plain = _plain(condition)
                    # Windows before the as-of date only: the same for every therapy.
                    _windows(plain, condition.date, condition.date, self.patient.as_of, {})
                    self._plain_conditions.append(plain)
        return self._plain_conditions

    def _windowed_conditions(self, as_of: dt.date, order_days: dict[str, dt.date]) -> list[dict[str, Any]]:
        """The engine's conditions with the day counts a condition window compares (a dated one only)."""
        dated = {c.ref: c.date for c in self.conditions if c.date is not None}
        conditions = []
        for plain in self.conditions_for_engine():
            if plain["ref"] in dated:
                plain = dict(plain)
                _windows(plain, dated[plain["ref"]], None, as_of, order_days)
            conditions.append(plain)
        return conditions

    def engine_facts(self, therapies: Sequence[str]) -> list[dict[str, Any]]:
        """Plain dicts for durable-rules, once for every therapy of the evaluation: no None values,
        dates as ISO strings, and the day counts the window terms compare (before the as-of date
        and before each therapy's order)."""
        as_of = self.patient.as_of
        order_days = {t: day for t in therapies if (day := self.order_date(t)) is not None}
        conditions = self._windowed_conditions(as_of, order_days)
        if self._plain_facts is None:
            self._plain_facts = (_plain(self.patient), [_plain(m) for m in self.medications],
                                 [_plain(p) for p in self.procedures])
        patient, plain_medications, plain_procedures = self._plain_facts
        medications = []
        for medication, dumped in zip(self.medications, plain_medications):
            if not medication.counts:
                continue
            plain = dict(dumped)
            _windows(plain, medication.start, medication.end, as_of, order_days)
            medications.append(plain)
        # Procedures and immunizations: entries of one date, windowed alike.
        dated_entries = []
        for dated, dumped in [*zip(self.procedures, plain_procedures),
                              *((i, _plain(i)) for i in self.immunizations)]:
            plain = dict(dumped)
            _windows(plain, dated.date, dated.date, as_of, order_days)
            dated_entries.append(plain)
        summary = {"t": "record", "procedures": self.procedure_count, "immunizations": self.immunization_count,
                   "medication_history": sum(m.history for m in self.medications)}
        chosen = set(therapies)
        # Course ids are named per ruleset: each course fact carries the therapy it was built for.
        courses = [{**_plain(c), "therapy": t} for t in therapies for c in self.courses.get(t, [])]
        return [patient, *conditions, *medications,
                *(_plain(o) for o in self.service_orders if chosen.intersection(o.order_for)),
                *dated_entries, *courses, summary]


def _windows(plain: dict[str, Any], start: dt.date | None, end: dt.date | None, as_of: dt.date,
             order_days: dict[str, dt.date]) -> None:
    """Days from the span's start and end back from the as-of date and each therapy's order date
    (cds/conditions/window.py `anchor`): a span lies within N days before an anchor when
    start_ago >= 0 and end_ago <= N."""
    if start is None:
        return
    end = end or start
    plain["asof_start_ago"] = days_ago(as_of, start)
    plain["asof_end_ago"] = days_ago(as_of, end)
    for therapy, order_day in order_days.items():
        plain[f"order_{therapy}_start_ago"] = days_ago(order_day, start)
        plain[f"order_{therapy}_end_ago"] = days_ago(order_day, end)


def build_facts(
    record: PatientRecord,
    as_of: dt.date,
    rulesets: list[Ruleset],
    classifier: DrugClassifier,
    valuesets: ValueSets,
    order_refs: set[str] | None = None,
    texts: TextMatcher | None = None,
    results: ResultMatcher | None = None,
    adjuncts: Sequence[Adjunct] = (),
) -> PatientFacts:
    """Every fact of one patient, once for all therapies; order_refs names the orders under
    evaluation (None: every draft MedicationRequest and ServiceRequest); texts, the rulesets'
    phrases (cds.knowledge.Knowledge.texts), matched here once per Condition, Observation and
    MedicationRequest; results, the phrases results are read for (`value_text`, with word forms);
    adjuncts, the orders that serve others (rulesets/routing.yaml)."""
    warnings = list(record.warnings)
    texts = texts or TextMatcher()
    results = results or ResultMatcher()
    patient = PatientFact(ref=record.reference, age_years=_age(record.patient.birthDate, as_of),
                          age_days=_age_days(record.patient.birthDate, as_of),
                          gender=record.patient.gender, as_of=as_of)
    born = _day(record.patient.birthDate)
    conditions = [_condition(ref, c, valuesets, warnings, texts, born) for ref, c in record.conditions]
    observations = [o for ref, obs in record.observations
                    for o in _observations(ref, obs, valuesets, texts, results, warnings)]
    weight_kg = _weight_kg(observations, classifier.terminology, as_of, warnings)
    medications = [
        _medication(ref, request, record, classifier, rulesets, as_of, order_refs, texts, warnings, weight_kg,
                    {c.ref: c.vs for c in conditions})
        for ref, request in record.medication_requests
    ]
    service_orders = [
        order for ref, request in record.service_requests
        if (order := _service_order(ref, request, rulesets, order_refs, valuesets)) is not None
    ]
    procedures = _followed([p for ref, proc in record.procedures
                            if (p := _procedure(ref, proc, valuesets, texts)) is not None])
    immunizations = [i for ref, given in record.immunizations
                     if (i := _immunization(ref, given, valuesets)) is not None]
    context = RecordView(procedures, len(record.procedures), as_of, conditions,
                         _pregnant(conditions, observations, as_of, classifier.terminology, warnings))
    _route_orders(medications, service_orders, rulesets, adjuncts, context)
    courses = {
        r.therapy: [c for course in r.courses if (c := _course(course, medications)) is not None]
        for r in rulesets
    }
    return PatientFacts(patient=patient, conditions=conditions, medications=medications,
                        service_orders=service_orders, observations=observations, procedures=procedures,
                        procedure_count=len(record.procedures), immunizations=immunizations,
                        immunization_count=len(record.immunizations), courses=courses, warnings=warnings,
                        documented=[DocumentedFact(ref=ref, item=item) for ref, item in record.documented])


def _pregnant(conditions: list[ConditionFact], observations: list[ObservationFact], as_of: dt.date,
              terminology: Terminology, warnings: list[Problem]) -> Callable[[Sequence[str]], bool]:
    """Whether the patient is pregnant at the as-of date by a page's pregnancy codes, as the
    `pregnancy` term reads it (criteria README "Pregnancy context"): for a claim's context."""
    model = terminology.pregnancy
    answers: dict[tuple[str, ...], bool] = {}

    def pregnant(sets: Sequence[str]) -> bool:
        if model is None:
            return False
        key = tuple(sets)
        if key not in answers:
            read = pregnancy_settings(model, key)
            status = [o for o in observations if set(read["status_observations"]) & set(o.vs)]
            answers[key] = pregnancy(conditions, status, [], as_of, read, terminology.units, warnings)["pregnant"]
        return answers[key]

    return pregnant


def _route_orders(medications: list[MedicationFact], service_orders: list[ServiceOrderFact],
                  rulesets: list[Ruleset], adjuncts: Sequence[Adjunct], record: RecordView) -> None:
    """Which therapies claim each order: first each alone; then, beside the orders drafted with
    it (criteria README "Adjunct orders"), an order that is another's premedication, diluent or
    additive is claimed by no page and serves that order's therapies instead (cds/adjuncts.py).
    The second look reads the others' first answers, so a bag beside a premedication and a
    chemotherapy order serves the chemotherapy only."""
    # The request's drafts: the orders under evaluation, and drafts not selected (order-select
    # evaluates the selections, yet the draftOrders bundle holds the rest of the order set).
    drafts = [m for m in medications if m.order or m.status == "draft"]
    alone = {id(m): claiming(m, rulesets, record=record) for m in drafts}
    claimed = dict(alone)
    for _ in range(2):
        serves = {id(m): served(m, alone[id(m)], _drafted_with(m, drafts, medications, service_orders, claimed),
                                adjuncts, record) for m in drafts}
        claimed = {key: [] if serves[key] else alone[key] for key in alone}
    for draft in drafts:
        # Every draft, selected or not, is read by other therapies' `order: other` terms with
        # the answer judged beside the call's other drafts.
        draft.drafted = True
        draft.routed_to = claimed[id(draft)]
        if draft.order:
            draft.order_for, draft.adjunct_to = list(draft.routed_to), serves[id(draft)]


def _drafted_with(order: MedicationFact, drafts: list[MedicationFact], medications: list[MedicationFact],
                  service_orders: list[ServiceOrderFact], claimed: dict[int, list[str]]) -> list[Drafted]:
    """The orders drafted with one (README "Adjunct orders"): the request's other drafts and
    service orders, and any request sharing its groupIdentifier or named by its basedOn (a
    signed one judged alone, as history is)."""
    found = [Drafted(claimed[id(o)], o) for o in drafts if o is not order]
    found += [Drafted(o.order_for, None) for o in service_orders]
    found += [Drafted(o.routed_to, o) for o in medications
              if id(o) not in claimed and (order.group is not None and o.group == order.group or o.ref in order.based_on)]
    return found


def _service_order(ref: str, request: ServiceRequest, rulesets: list[Ruleset],
                   order_refs: set[str] | None, valuesets: ValueSets) -> ServiceOrderFact | None:
    """A ServiceRequest under evaluation that some therapy claims: by a code it bills, or by a
    procedure code in its routing's `services` (criteria README "ServiceRequest orders")."""
    is_order = request.status == "draft" if order_refs is None else ref in order_refs
    if not is_order:
        return None
    codings = [c for c in (request.code.coding or [] if request.code else []) if c.system and c.code]
    codes = {c.code for c in codings if c.system in HCPCS_SYSTEMS}
    memberships = sorted({v for c in codings for v in valuesets.memberships(c.system, c.code)})
    therapies = [r.therapy for r in rulesets
                 if codes.intersection(r.billing.all_codes) or set(r.routing.services).intersection(memberships)]
    if not therapies:
        return None
    # A procedure code is no billing code: the page picks its code as for any order.
    billed = {r.therapy: code for r in rulesets if r.therapy in therapies
              if (code := next((c for c in r.billing.all_codes if c in codes), None)) is not None}
    quantity = request.quantityQuantity.value if request.quantityQuantity else None
    return ServiceOrderFact(ref=ref, order_for=therapies, codes=billed, vs=memberships,
                            authored=_day(request.authoredOn),
                            quantity=float(quantity) if quantity is not None else None,
                            display=_label(request.code) or ", ".join(therapies))


def _observations(ref: str, observation: Observation, valuesets: ValueSets,
                  texts: TextMatcher, results: ResultMatcher, warnings: list[Problem]) -> list[ObservationFact]:
    """The readings of one Observation: itself, and each of its components, a component being an
    observation of its own code with the parent's status, date and method (criteria README
    "Components": Synthea puts the systolic pressure inside the blood-pressure panel).
    Each reading names the parent as its record entry."""
    if observation.status not in OBSERVATION_STATUSES:
        return []
    period = observation.effectivePeriod
    date = _day(observation.effectiveDateTime) or _day(period.start if period else None) or _day(observation.issued)
    parts = [(observation, "Observation"), *((c, "Observation.component") for c in observation.component or [])]
    return [fact for part, element in parts
            if (fact := _reading(ref, part, element, observation.method, date, valuesets, texts, results, warnings))
            is not None]


def _reading(ref: str, part: Any, element: str, method: Any, date: dt.date | None, valuesets: ValueSets,
             texts: TextMatcher, results: ResultMatcher, warnings: list[Problem]) -> ObservationFact | None:
    """One reading (an Observation or one of its components: both carry code, value[x],
    interpretation and referenceRange) in some value set or naming a phrase."""
    memberships: set[str] = set()
    for coding in _codings(part.code):
        memberships |= valuesets.memberships(coding.system, coding.code)
    named = texts.match(*_texts(part.code))
    if not memberships and not named:
        return None
    if not _has_result(part):
        # No value and no interpretation (a dataAbsentReason, a quantity with no number): no
        # result, so not used: it neither decides a criterion nor stands for a measurement taken
        # (criteria README, "Units as written").
        warnings.append(Problem(source=ref, element=f"{element}.value[x]", severity="warning",
                                message="no value or interpretation: not used"))
        return None
    answers: set[str] = set()
    for coding in _codings(part.valueCodeableConcept):
        answers |= valuesets.memberships(coding.system, coding.code)
    quantity = part.valueQuantity
    value = float(quantity.value) if quantity is not None and quantity.value is not None else None
    unit = (quantity.code or quantity.unit) if quantity is not None else None
    # Coded, or written as the word of a code only ("Low" read as L: criteria README "Results in words").
    interpretation = sorted({c.code for concept in part.interpretation or [] for c in concept.coding or []
                             if c.code} | {code for concept in part.interpretation or []
                                           if not any(c.code for c in concept.coding or [])
                                           for code in results.codes(_texts(concept))})
    # A result read as words (criteria README "Results in words"): the value as text and the
    # interpretation, its codes read as the words they stand for.
    value_texts = results.read([part.valueString, *_texts(part.valueCodeableConcept),
                                *(t for concept in part.interpretation or [] for t in _texts(concept))],
                               interpretation)
    method_texts = texts.match(*_texts(method))
    return ObservationFact(ref=ref, vs=sorted(memberships), date=date, value=value, unit=unit,
                           comparator=quantity.comparator if value is not None else None,
                           coded=part.valueCodeableConcept is not None, answers=sorted(answers), interpretation=interpretation,
                           lows=_lows(part),
                           display=_label(part.code) or "observation", texts=named,
                           value_texts=value_texts, method_texts=method_texts,
                           value_text=part.valueString or _label(part.valueCodeableConcept)
                           or next((t for c in part.interpretation or [] if (t := _label(c))), None),
                           method=_label(method))


_VALUES = ("valueString", "valueCodeableConcept", "valueBoolean", "valueInteger", "valueRange", "valueRatio",
           "valueSampledData", "valueTime", "valueDateTime", "valuePeriod")


def _has_result(observation: Any) -> bool:
    """A value (a quantity with a number, or any other value[x]) or an interpretation (of an
    Observation or a component)."""
    quantity = observation.valueQuantity
    return (quantity is not None and quantity.value is not None) or bool(observation.interpretation) \
        or any(getattr(observation, name, None) is not None for name in _VALUES)


def _lows(observation: Any) -> list[tuple[float, str | None]]:
    """The low limits of the observation's reference ranges, with their units."""
    return [(float(r.low.value), r.low.code or r.low.unit) for r in observation.referenceRange or []
            if r.low is not None and r.low.value is not None]


def _procedure(ref: str, procedure: Procedure, valuesets: ValueSets, texts: TextMatcher) -> ProcedureFact | None:
    memberships: set[str] = set()
    for coding in _codings(procedure.code):
        memberships |= valuesets.memberships(coding.system, coding.code)
    named = texts.match(*_texts(procedure.code))
    if not (memberships or named) or procedure.status != "completed":
        return None
    period = procedure.performedPeriod
    date = _day(procedure.performedDateTime) or _day(period.start if period else None)
    return ProcedureFact(ref=ref, vs=sorted(memberships), status=procedure.status, date=date,
                         display=_label(procedure.code) or "procedure", texts=named)


def _immunization(ref: str, given: Immunization, valuesets: ValueSets) -> ImmunizationFact | None:
    """A completed Immunization whose vaccine code (CVX) is in some value set; dated by
    occurrenceDateTime (an occurrenceString is no date: a windowed term does not hold)."""
    memberships: set[str] = set()
    for coding in _codings(given.vaccineCode):
        memberships |= valuesets.memberships(coding.system, coding.code)
    if not memberships or given.status != "completed":
        return None
    return ImmunizationFact(ref=ref, vs=sorted(memberships), date=_day(given.occurrenceDateTime),
                            display=_label(given.vaccineCode) or "immunization")


def _procedure_day(procedure: ProcedureFact) -> dt.date:
    return procedure.date or dt.date.min


def _followed(procedures: list[ProcedureFact]) -> list[ProcedureFact]:
    """Each procedure learns the phrases and value sets of the procedures that may come after it
    (latest first, so a record of many procedures costs a sort, not a comparison of every pair):
    a removal cancels only the devices placed before it. An undated one may come before or after
    any other, so it counts as later than every procedure and is followed by every other: a
    device is in place only when the record shows no removal that may follow it."""
    undated = [p for p in procedures if p.date is None]
    later = {t for p in undated for t in p.texts}
    later_vs = {v for p in undated for v in p.vs}
    dated = sorted((p for p in procedures if p.date is not None), key=_procedure_day, reverse=True)
    for _, group in groupby(dated, key=_procedure_day):
        same = list(group)
        for procedure in same:
            procedure.followed_by = sorted(later)
            procedure.followed_by_vs = sorted(later_vs)
        later |= {t for p in same for t in p.texts}
        later_vs |= {v for p in same for v in p.vs}
    for procedure in undated:
        others = [p for p in procedures if p is not procedure]
        procedure.followed_by = sorted({t for p in others for t in p.texts})
        procedure.followed_by_vs = sorted({v for p in others for v in p.vs})
    return procedures


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


def _condition(ref: str, condition: Condition, valuesets: ValueSets, warnings: list[Problem],
               texts: TextMatcher, born: dt.date | None = None) -> ConditionFact:
    clinical = _first_code(condition.clinicalStatus)
    verification = _first_code(condition.verificationStatus)
    verified = verification not in EXCLUDED_VERIFICATION
    active = (clinical is None or clinical in ACTIVE_CLINICAL) and verified
    memberships: set[str] = set()
    codes: list[str] = []
    # The FHIR codings themselves: a record can hold 20,000 conditions, a copy of each costs.
    for coding in (condition.code.coding or []) if condition.code is not None else []:
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
    return ConditionFact(ref=ref, active=active, verified=verified, vs=sorted(memberships), codes=codes, display=display,
                         onset=str(onset)[:10] if onset else None, date=_condition_day(condition, born),
                         texts=texts.match(*_texts(condition.code)))


def _condition_day(condition: Condition, born: dt.date | None) -> dt.date | None:
    """When the condition happened: its onset (a dateTime, a period's start, or an age counted
    from the birth date), else the day it was recorded."""
    onset = _day(condition.onsetDateTime, "first") or (
        _day(condition.onsetPeriod.start, "first") if condition.onsetPeriod is not None else None)
    age = condition.onsetAge
    if onset is None and age is not None and age.value is not None and born is not None:
        per = _DAYS_PER_AGE_UNIT.get(age.code or age.unit or "a")
        if per is not None:
            onset = born + dt.timedelta(days=int(float(age.value) * per))
    return onset or _day(condition.recordedDate, "first")


def _texts(concept: Any, codes: bool = False) -> list[str]:
    """A CodeableConcept's text and its codings' displays (and codes, where a code is a word:
    a timing code "CONTINUOUS"): what a phrase is looked for in."""
    if concept is None:
        return []
    words = [concept.text, *(c.display for c in concept.coding or [])]
    if codes:
        words += [c.code for c in concept.coding or []]
    return [t for t in words if t]


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
    texts: TextMatcher,
    warnings: list[Problem],
    weight_kg: float | None = None,
    condition_sets: dict[str, list[str]] | None = None,
) -> MedicationFact:
    concept = request.medicationCodeableConcept
    unread = None
    if concept is None and request.medicationReference is not None:
        concept, unread = _referenced_medication(request, record)
        if unread is not None:
            warnings.append(Problem(source=ref, element="MedicationRequest.medicationReference",
                                    message=unread, severity="warning"))
    dosage = request.dosageInstruction or []
    route_concept = next((d.route for d in dosage if d.route is not None), None)
    drug = classifier.classify(
        _codings(concept), concept.text if concept is not None else None,
        _codings(route_concept), route_concept.text if route_concept is not None else None,
    )
    is_order = request.status == "draft" if order_refs is None else ref in order_refs
    start, end = _span(request, as_of)
    timing = classifier.terminology.timing
    timing_texts = texts.match(*(d.text for d in dosage),
                               *(t for d in dosage if d.timing is not None for t in _texts(d.timing.code, codes=True)))
    dosage_texts = sorted({*timing_texts, *texts.match(*(t for d in dosage for t in [*_texts(d.route), *_texts(d.method)]))})
    delivery = _delivery(dosage, {phrase_flag(w) for w in timing.continuous}.intersection(timing_texts))
    # A pump may be named in the dosage text, the timing code, the method or an additional
    # instruction (a page reading "its dosage text, method or additionalInstruction names a pump").
    pump_texts = texts.match(*(t for d in dosage for t in [*_texts(d.method),
                                                            *(x for a in d.additionalInstruction or [] for x in _texts(a))]))
    given_as = _given_as(dosage, delivery, drug.route in timing.injection_routes,
                         bool({phrase_flag(w) for w in timing.infusion}.intersection({*timing_texts, *pump_texts})))
    # A continuous or 24-hour infusion states no dosing interval (the anti-infective page's Billing).
    interval = None if delivery == "continuous" else _interval_hours(dosage, timing.interval_codes)
    duration = _duration_hours(dosage)
    units_per_ml, container_ml = _product(
        _medication_resource(request, record)[0] if request.medicationReference is not None else None, drug)
    fact = MedicationFact(
        ref=ref, status=request.status, order=is_order, order_for=[],
        classes={name: name in drug.classes for name in classifier.terminology.drug_classes},
        ingredients=drug.ingredients, other_words=drug.other_words, strengths=drug.strengths,
        route=drug.route, route_class=drug.route_class, label_route=drug.label_route,
        delivery=delivery, given_as=given_as, status_reason=request.statusReason is not None,
        display=drug.name, drug_unread=unread is not None, start=start, end=end, authored=_day(request.authoredOn),
        interval_hours=interval, duration_hours=duration,
        daily_volume_ml=_daily_volume_ml(dosage, container_ml),
        infused_day_volume_ml=_daily_volume_ml(dosage, container_ml, per_infused_day=True),
        daily_dose_mg=_daily_dose_mg(dosage, drug.unit_mg, timing.interval_codes, weight_kg),
        units_per_ml=units_per_ml, container_ml=container_ml, dosage_texts=dosage_texts,
        daily_dose_units=_daily_amount(dosage, lambda q: _amount(q, _UNITS_PER_UNIT, weight_kg)),
        dose_per_kg_mg=_dose_per_kg(dosage, weight_kg), weight_kg=weight_kg, rate_mg_per_hour=_rate_mg_per_hour(dosage),
        planned_days=_planned_days(request), timing_texts=timing_texts, regimen=_regimen(dosage, timing.short_course_days),
        doses_per_day=_doses_per_day(dosage, timing, texts),
        single_dose=_single_dose(dosage, {c.casefold() for c in timing.once_codes}),
        duration_minutes=None if duration is None else round(duration * 60, 6), course_days=_course_days(request),
        product_mg=drug.unit_mg,
        dose_mg=max((mg for d in dosage for r in d.doseAndRate or [] if (mg := _milligrams(r.doseQuantity)) is not None),
                    default=None),
    )
    fact.reasons, fact.reason_stated = _reasons(request, classifier.valuesets, record, condition_sets or {})
    fact.group, fact.based_on = link_keys(request.groupIdentifier, request.basedOn or [])
    # Judged alone here; an order is judged again beside the request's other orders (_route_orders).
    fact.routed_to = claiming(fact, rulesets)
    return fact


def _course_days(request: MedicationRequest) -> float | None:
    """Days the order's course runs (a page's course length): a count of doses given once a day,
    else boundsDuration in days, else boundsPeriod from start to end with both days counted;
    None when the order states none of these."""
    for dosage in request.dosageInstruction or []:
        repeat = dosage.timing.repeat if dosage.timing is not None else None
        if repeat is None:
            continue
        if repeat.count is not None and (repeat.frequency or 1) == 1 and repeat.period is not None \
                and _hours(repeat.period, repeat.periodUnit) == 24:
            return float(repeat.count)
        if (days := _bounds_days(repeat.boundsDuration)) is not None:
            return days
        period = repeat.boundsPeriod
        start, end = (_day(period.start), _day(period.end)) if period is not None else (None, None)
        if start is not None and end is not None:
            return float((end - start).days + 1)
    return None


def _doses_per_day(dosage: list[Any], timing: Timing, texts: TextMatcher) -> float | None:
    """Administrations a day, summed over the instructions: frequency / period, else a timing code
    of `timing.per_day_codes`, else a dose with meals (`timing.meal_events` or `meal_words`) counts
    `timing.meal_doses`. None when an instruction tells none of these, is as needed, or there is
    no instruction: how many a day cannot be told."""
    meal_words = {phrase_flag(w) for w in timing.meal_words}
    total = 0.0
    for instruction in dosage:
        if instruction.asNeededBoolean or instruction.asNeededCodeableConcept is not None:
            return None
        found = instruction.timing
        repeat = found.repeat if found is not None else None
        if repeat is not None and repeat.period is not None and (per_day := _per_day(repeat)) is not None:
            total += per_day
            continue
        codes = [c.code for c in found.code.coding or [] if c.code] if found is not None and found.code else []
        code = next((c for c in codes if c in timing.per_day_codes), None)
        if code is not None:
            total += timing.per_day_codes[code]
            continue
        said = texts.match(instruction.text, *(_texts(found.code, codes=True) if found is not None else []))
        with_meals = (repeat is not None and set(repeat.when or []).intersection(timing.meal_events)) \
            or meal_words.intersection(said)
        if with_meals and timing.meal_doses is not None:
            total += timing.meal_doses
            continue
        return None
    return total if dosage else None
def _reasons(request: MedicationRequest, valuesets: ValueSets, record: PatientRecord,
             condition_sets: dict[str, list[str]]) -> tuple[list[str], bool]:
    """The value sets the order's reasons are coded in (a reasonCode, or a Condition of the record
    a reasonReference names, by any name it goes by), and whether it states a reason."""
    found: set[str] = set()
    for concept in request.reasonCode or []:
        for coding in concept.coding or []:
            found |= valuesets.memberships(coding.system, coding.code)
    for reference in request.reasonReference or []:
        own = record.condition_names.get(reference.reference or "")
        found.update(condition_sets.get(own or "", ()))
    return sorted(found), bool(request.reasonCode or request.reasonReference)


def _single_dose(dosage: list[Any], once_codes: set[str]) -> bool:
    """One dose (the pages' premedication rule): timing.repeat.count 1, a timing code meaning
    once, or no frequency, period, rate or "as needed" at all."""
    if len(dosage) > 1:
        return False
    for instruction in dosage:
        timing = instruction.timing
        repeat = timing.repeat if timing is not None else None
        if repeat is not None and repeat.count == 1:
            return True
        code = timing.code if timing is not None else None
        said = [code.text, *(c.code for c in code.coding or [])] if code is not None else []
        if once_codes.intersection(w.casefold() for w in said if w):
            return True
        if instruction.asNeededBoolean or instruction.asNeededCodeableConcept is not None:
            return False
        if repeat is not None and (repeat.frequency is not None or repeat.period is not None):
            return False
        if any(r.rateQuantity is not None or r.rateRatio is not None for r in instruction.doseAndRate or []):
            return False
    return True


def _bounds_days(bounds: Any) -> float | None:
    """A timing's boundsDuration in days; None when absent, without a value or in a unit of no days."""
    if bounds is None or bounds.value is None:
        return None
    per_day = _DAYS_PER_UNIT.get(bounds.code or bounds.unit or "")
    return float(Decimal(str(bounds.value)) * Decimal(per_day)) if per_day is not None else None


def _planned_days(request: MedicationRequest) -> float | None:
    """Days from the start to the planned end: boundsDuration, else boundsPeriod.end, else
    validityPeriod.end (from its start, else authoredOn); None when the order states no end."""
    authored = _day(request.authoredOn)
    for dosage in request.dosageInstruction or []:
        repeat = dosage.timing.repeat if dosage.timing is not None else None
        if repeat is None:
            continue
        if (days := _bounds_days(repeat.boundsDuration)) is not None:
            return days
        period = repeat.boundsPeriod
        if period is not None and period.end is not None:
            start = _day(period.start) or authored
            end = _day(period.end)
            if start is not None and end is not None:
                return float((end - start).days)
    validity = request.dispenseRequest.validityPeriod if request.dispenseRequest else None
    if validity is not None and validity.end is not None:
        start = _day(validity.start) or authored
        end = _day(validity.end)
        if start is not None and end is not None:
            return float((end - start).days)
    return None


def _medication_resource(request: MedicationRequest, record: PatientRecord) -> tuple[Any, str]:
    """The Medication a medicationReference names (None: none), and where it was looked for."""
    reference = request.medicationReference.reference or "" if request.medicationReference else ""
    if not reference:
        return None, "no reference"
    if reference.startswith("#"):
        return next((c for c in request.contained or []
                     if c.id == reference[1:] and c.get_resource_type() == "Medication"), None), "no contained Medication"
    # An absolute reference names the Medication by its last two segments as well.
    return record.medications.get(reference) or record.medications.get(
        "/".join(reference.split("/_history/")[0].rstrip("/").split("/")[-2:])), "no Medication in the input"


def _product(medication: Any, drug: Any) -> tuple[float | None, float | None]:
    """The strength in units per mL and the container volume in mL (criteria README "Strength,
    volume and dose"): Medication.ingredient.strength and Medication.amount, else what the
    drug's name states ("25000 UNT / 250 ML", "3 ML ... Cartridge")."""
    strength = container = None
    if medication is not None:
        for ingredient in medication.ingredient or []:
            ratio = ingredient.strength
            if ratio is not None and strength is None:
                units = _amount(ratio.numerator, _UNITS_PER_UNIT)
                volume = _millilitres(ratio.denominator)
                strength = round(units / volume, 6) if units is not None and volume else None
        if medication.amount is not None:
            container = _millilitres(medication.amount.numerator)
    return (strength if strength is not None else drug.units_per_ml,
            container if container is not None else drug.pack_ml)


def _referenced_medication(request: MedicationRequest, record: PatientRecord) -> tuple[Any, str | None]:
    """The drug a medicationReference names, and what is wrong when it names none: a
    reference that does not resolve is reported, never a silently dropped order (issue 20)."""
    pointer = request.medicationReference
    reference = pointer.reference or ""
    medication, where = _medication_resource(request, record)
    if medication is not None and medication.code is not None:
        return medication.code, None
    if pointer.display:
        # A reference with only a display names the drug in words, as a text-only drug does.
        return CodeableConcept(text=pointer.display), None
    if not reference:
        return None, "medicationReference has no reference: the drug cannot be read; its criteria are unknown"
    if medication is not None:
        return None, f"medicationReference {reference}: the Medication has no code: the drug cannot be read; its criteria are unknown"
    return None, f"medicationReference {reference} resolves to {where}: the drug cannot be read; its criteria are unknown"


def _delivery(dosage: list[Any], says_continuous: set[str]) -> Literal["continuous", "intermittent", "unknown"]:
    """Continuous (criteria README): the timing says so (`says_continuous`: the continuous words
    found in the dosage text or timing code), a rate with no repeat frequency, or administrations
    of 24 h or more. Intermittent only when the administrations last under 24 h: a stated (or
    volume / rate) duration under 24 h, doses less than 24 h apart, or a dose with no rate. A
    rate with a frequency whose administrations could last a day (once a day, no duration) is
    unknown. Several instructions: continuous when any is."""
    if says_continuous:
        return "continuous"
    intermittent = unknown = False
    for instruction in dosage:
        rate = _rated(instruction)
        repeat = instruction.timing.repeat if instruction.timing is not None else None
        lasts = _one_duration(instruction)
        if lasts is not None and lasts >= 24:
            return "continuous"
        repeats = repeat is not None and (repeat.frequency is not None or repeat.period is not None)
        if rate and not repeats:
            return "continuous"
        if not repeats:
            continue
        apart = _hours(repeat.period, repeat.periodUnit) if repeat.period is not None else None
        if apart is not None and repeat.frequency:
            apart = apart / Decimal(repeat.frequency)
        if lasts is not None or not rate or (apart is not None and apart < 24):
            intermittent = True
        else:
            unknown = True
    return "intermittent" if intermittent and not unknown else "unknown"


def _rated(instruction: Any) -> bool:
    return any(dose.rateQuantity is not None or dose.rateRatio is not None or dose.rateRange is not None
               for dose in instruction.doseAndRate or [])


def _given_as(dosage: list[Any], delivery: str, injection_route: bool,
              says_infusion: bool) -> Literal["injection", "infusion", "unknown"]:
    """Injection or infusion (criteria README): a rate, an infusion time (`repeat.duration`: an
    administration lasting a while), a pump or infusion named in the dosage text, timing,
    method or an additional instruction, or a continuous delivery make an infusion; by an injection
    route (terminology.yaml `timing.injection_routes`: subcutaneous), a dose with a frequency and
    no rate is an injection; anything else cannot be told."""
    timed = any(d.timing is not None and d.timing.repeat is not None and d.timing.repeat.duration is not None
                for d in dosage)
    if any(_rated(instruction) for instruction in dosage) or timed or says_infusion or delivery == "continuous":
        return "infusion"
    repeats = any(d.timing is not None and d.timing.repeat is not None and d.timing.repeat.frequency is not None
                  for d in dosage)
    return "injection" if injection_route and repeats else "unknown"


# Several instructions state one regimen: the first of these that one of them states (a scheduled
# basal with as-needed boluses is scheduled, as it is continuous when any instruction is).
_REGIMENS = ("scheduled", "short-course", "on-demand")


def _regimen(dosage: list[Any], short_days: float | None) -> Literal["on-demand", "short-course", "scheduled",
                                                                     "not-stated"]:
    """From the timing (criteria README "Regimen from timing"): `asNeeded` is on demand; bounds
    (boundsDuration, or boundsPeriod start to end) of `short_days` or less (terminology.yaml
    `timing.short_course_days`: 14) a short course; a frequency and period otherwise a scheduled
    regimen; none of these "not stated"."""
    stated = {_one_regimen(instruction, short_days) for instruction in dosage}
    return next((r for r in _REGIMENS if r in stated), "not-stated")  # type: ignore[return-value]


def _one_regimen(instruction: Any, short_days: float | None) -> str:
    if instruction.asNeededBoolean or instruction.asNeededCodeableConcept is not None:
        return "on-demand"
    repeat = instruction.timing.repeat if instruction.timing is not None else None
    if repeat is None:
        return "not-stated"
    days: float | None = None
    if repeat.boundsDuration is not None and repeat.boundsDuration.value is not None:
        days = _bounds_days(repeat.boundsDuration)
    elif repeat.boundsPeriod is not None:
        start, end = _day(repeat.boundsPeriod.start), _day(repeat.boundsPeriod.end)
        days = float((end - start).days) if start is not None and end is not None else None
    if days is not None and short_days is not None and days <= short_days:
        return "short-course"
    if repeat.frequency is not None and repeat.period is not None:
        return "scheduled"
    return "not-stated"


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


def _interval_hours(dosage: list[Any], codes: dict[str, float]) -> float | None:
    """Hours between doses: period / frequency from timing.repeat, else timing.code, only the
    codes listed (the pages' Billing sections). None when the order does not tell: no timing, a range, as
    needed (and, decided by the caller, a continuous or 24-hour infusion)."""
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
        if code in codes:
            return float(codes[code])
        return None
    return None


def _duration_hours(dosage: list[Any]) -> float | None:
    """Hours one administration lasts (the chemotherapy page), from the first instruction that tells."""
    for instruction in dosage:
        repeat = instruction.timing.repeat if instruction.timing is not None else None
        if repeat is not None and repeat.duration is not None:
            return _one_duration(instruction)
        if (lasts := _one_duration(instruction)) is not None:
            return lasts
    return None


def _one_duration(instruction: Any) -> float | None:
    """Hours one administration of an instruction lasts: repeat.duration; else boundsDuration of a
    single administration; else dose volume / rate; None when it cannot be told."""
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


def _amount(quantity: Any, per_unit: dict[str, Any], weight_kg: float | None = None) -> float | None:
    """A quantity in the unit of a table (mL, mg), also the numerator of a rate (mL/h, mg/h). A
    quantity per kg of body weight (5 mg/kg, 0.1 mg/kg/h) is an amount only times the weight:
    read without one, "5 mg/kg" would be 5 mg."""
    if quantity is None or quantity.value is None:
        return None
    # As printed: "ML" (RxNorm style) or "µg" read as mL and ug (criteria README, "Units as written").
    unit, *per = (fold(part) for part in (quantity.code or quantity.unit or "").split("/"))
    factor = next((f for name, f in per_unit.items() if fold(name) == unit), None)
    if factor is None:
        return None
    amount = Decimal(str(quantity.value)) * factor
    if _PER_KG in per:
        if weight_kg is None:
            return None
        amount *= Decimal(str(weight_kg))
    return float(amount)


def _millilitres(quantity: Any) -> float | None:
    return _amount(quantity, _ML_PER_UNIT)


def _milligrams(quantity: Any, weight_kg: float | None = None) -> float | None:
    return _amount(quantity, _MG_PER_UNIT, weight_kg)


def _dose_per_kg(dosage: list[Any], weight_kg: float | None) -> float | None:
    """One dose in mg/kg (criteria README "Strength, volume and dose"): the largest dose of the
    order, written per kg (5 mg/kg) or in mg over the weight; None when no dose tells it."""
    found: list[float] = []
    for instruction in dosage:
        for dose in instruction.doseAndRate or []:
            quantity = dose.doseQuantity
            written = (quantity.code or quantity.unit or "") if quantity is not None else ""
            if _PER_KG in (fold(p) for p in written.split("/")[1:]):
                per_kg = _amount(quantity, _MG_PER_UNIT, 1.0)
            else:
                milligrams = _milligrams(quantity)
                per_kg = milligrams / weight_kg if milligrams is not None and weight_kg else None
            if per_kg is not None:
                found.append(per_kg)
    return round(max(found), 6) if found else None


def _weight_kg(observations: list[ObservationFact], terminology: Terminology, as_of: dt.date,
               warnings: list[Problem]) -> float | None:
    """The most recent body weight within the window (terminology.yaml `dose_per_kg`) before the
    as-of date, in kg (pounds converted); a value in a unit that is no weight is not used."""
    reading = terminology.dose_per_kg
    if reading is None:
        return None
    wanted = set(reading.weight)
    usable: list[tuple[dt.date, float]] = []
    for observation in observations:
        if not wanted.intersection(observation.vs) or observation.date is None or observation.value is None \
                or observation.comparator or not within(observation.date, None, as_of, reading.within_days):
            continue
        kg = terminology.units.convert(observation.value, observation.unit, "kg", observation.vs)
        if kg is None:
            warnings.append(Problem(source=observation.ref, element="Observation.valueQuantity", severity="warning",
                                    message="a body weight in a unit that is no weight: not used"))
        elif kg > 0:
            usable.append((observation.date, kg))
    return max(usable, key=lambda dated: dated[0])[1] if usable else None


# Dose units that count tablets or capsules ("2 {tbl}"): the dose is then the mass per unit in the name.
_SOLID_UNITS = {"tab", "tabs", "tablet", "tablets", "{tbl}", "tbl", "{tab}", "{tablet}", "{tablets}",
                "cap", "caps", "capsule", "capsules", "{cap}", "{capsule}", "{capsules}"}


def _daily_dose_mg(dosage: list[Any], unit_mg: float | None, codes: dict[str, float],
                   weight_kg: float | None = None) -> float | None:
    """mg a day (a page's dose limit or dose history): a dose in mass units, or in tablets times
    the mass per tablet the drug's name states, x administrations a day (a timing code such as
    BID when the timing has no period)."""

    def milligrams(quantity: Any) -> float | None:
        mass = _milligrams(quantity, weight_kg)
        if mass is None and unit_mg is not None and quantity is not None and quantity.value is not None \
                and (quantity.code or quantity.unit or "").lower() in _SOLID_UNITS:
            return float(quantity.value) * unit_mg
        return mass

    return _daily_amount(dosage, milligrams, codes=codes)


# Dose units that count product units ("1 bag"): the volume is then the product volume in the name.
_PACK_UNITS = {"bag", "{bag}", "bags", "{bags}", "ea", "{each}", "each"}


def _daily_volume_ml(dosage: list[Any], pack_ml: float | None = None, per_infused_day: bool = False) -> float | None:
    """mL a day (the nutrition page, Billing): dose volume x administrations per day, so 2,000 mL
    every 48 h is 1,000 mL a day; `per_infused_day`: mL on a day it is given instead (the
    hydration page bills only the days infused); "1 bag" counts the product volume the drug's
    name states (the hydration page, curated)."""

    def millilitres(quantity: Any) -> float | None:
        volume = _millilitres(quantity)
        if volume is None and pack_ml is not None and quantity is not None and quantity.value is not None \
                and (quantity.code or quantity.unit or "") in _PACK_UNITS:
            return float(quantity.value) * pack_ml
        return volume

    return _daily_amount(dosage, millilitres, per_infused_day)


def _daily_amount(dosage: list[Any], amount: Callable[[Any], float | None],
                  per_infused_day: bool = False, codes: dict[str, float] | None = None) -> float | None:
    """An amount a day (mL, or mg for a page's dose limit): dose x administrations a day, or rate
    (per hour) x hours infused a day (repeat.duration x frequency, else 24 h when continuous).
    `per_infused_day`: a schedule over more than a day counts a day it is given (one dose)."""
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
                    per_day = _per_day(repeat, per_infused_day)
                    if one is None or per_day is None:
                        continue
                    hours = float(one) * per_day
                elif repeat is not None and (repeat.frequency is not None or repeat.period is not None):
                    continue
                total += per_hour * hours
                found = True
                continue
            volume = amount(dose.doseQuantity)
            per_day = _per_day(repeat, per_infused_day) if repeat is not None else None
            if per_day is None and codes:
                per_day = _per_day_from_code(instruction.timing, codes)
            if volume is not None and per_day is not None:
                total += volume * per_day
                found = True
    return total if found else None


def _rate_mg_per_hour(dosage: list[Any]) -> float | None:
    """The fastest mass rate of the order's instructions in mg/h: a rateQuantity or rateRatio in a
    mass per hour or minute, else a mass dose over repeat.duration; None when none tells it."""
    rates: list[float] = []
    for instruction in dosage:
        repeat = instruction.timing.repeat if instruction.timing is not None else None
        for dose in instruction.doseAndRate or []:
            rate = dose.rateQuantity
            if rate is not None and (per := (rate.code or rate.unit or "").split("/")[1:]):
                hours = _hours(1, per[0])
                mass = _milligrams(rate)
                if mass is not None and hours:
                    rates.append(mass / float(hours))
                continue
            ratio = dose.rateRatio
            if ratio is not None and ratio.numerator is not None and ratio.denominator is not None:
                mass = _milligrams(ratio.numerator)
                hours = _hours(ratio.denominator.value, ratio.denominator.code or ratio.denominator.unit)
                if mass is not None and hours:
                    rates.append(mass / float(hours))
                continue
            mass = _milligrams(dose.doseQuantity)
            if mass is not None and repeat is not None and repeat.duration:
                hours = _hours(repeat.duration, repeat.durationUnit)
                if hours:
                    rates.append(mass / float(hours))
    return max(rates) if rates else None


def _per_day_from_code(timing: Any, codes: dict[str, float]) -> float | None:
    """Administrations a day a timing code states (terminology.yaml `timing.interval_codes`: BID
    every 12 h is 2 a day), when its repeat gives no period."""
    if timing is None or timing.code is None:
        return None
    # The code, or a text that is one ("BID" written as text, as order entry often leaves it).
    written = [c.code for c in timing.code.coding or []] + [(timing.code.text or "").strip().upper()]
    hours = next((codes[w] for w in written if w in codes), None)
    return 24 / hours if hours else None


def _per_day(repeat: Any, per_infused_day: bool = False) -> float | None:
    """Administrations a day: five a week is 5/7 (the nutrition page: dose x administrations per
    day); `per_infused_day`: at least one on a day it is given."""
    period = _hours(repeat.period, repeat.periodUnit) if repeat.period is not None else None
    if period is None or period == 0:
        return None
    per_day = float(Decimal(repeat.frequency or 1) * 24 / period)
    return max(per_day, 1.0) if per_infused_day and period > 24 else per_day


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


def _course(course: Course, medications: list[MedicationFact]) -> CourseFact | None:
    """The span from the earliest start to the latest end of the course's requests.

    A request without dates still belongs to the course (a stopped one with a reason counts);
    it adds no days.
    """
    members = [
        m for m in medications
        if m.history and m.classes.get(course.drug_class) and m.route_class == course.route_class
        and not any(m.classes.get(c) for c in course.not_drug_classes)
        and (not course.statuses or m.status in course.statuses)
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


# What routing reads and no rule does: kept out of the engine's facts.
_ROUTING_ONLY = {"other_words", "strengths", "single_dose", "group", "based_on", "adjunct_to"}


def _plain(fact: BaseModel) -> dict[str, Any]:
    data = fact.model_dump(mode="json", exclude_none=True, exclude=_ROUTING_ONLY if isinstance(fact, MedicationFact) else None)
    if isinstance(data.get("classes"), dict):
        data.update({f"class_{k}": v for k, v in data.pop("classes").items()})
    return data
