"""`medication`: a MedicationRequest (the order under evaluation, history, or another draft)."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import Field

from ...facts import HISTORY_STATUSES
from ...texts import phrase_flag
from .. import window
from ..kind import Anchor, Comparison, Flag, Names, Phrases, Spec, TermKind, Whole, register
from ..nodes import Term
from ..patterns import Pattern, absent, any_item, compared, one_of, one_of_flags
from ..scope import Scope, compare, drug_classes, names, phrases
from ..words import Words, compared as said, either, quoted

# A `status` narrows the medication history, which holds only these (cds/facts.py): a cancelled or
# entered-in-error request counts nowhere, so a term naming one is a load error.
STATUSES = set(HISTORY_STATUSES)
DELIVERY = {"continuous", "intermittent", "unknown"}
REGIMENS = {"on-demand", "short-course", "scheduled", "not-stated"}
GIVEN_AS = {"injection", "infusion", "unknown"}
ROUTE_CLASSES = {"non-invasive", "parenteral", "other", "unknown"}
# Order facts read from the dosage (cds/facts.py), compared with numbers: what each is, in words,
# and its unit.
MEASURES: dict[str, tuple[str, str]] = {
    "interval_hours": ("dosing interval", "h"),
    "daily_volume_ml": ("daily volume", "mL"),
    "infused_day_volume_ml": ("volume on a day it is infused", "mL"),
    "daily_dose_mg": ("daily dose", "mg"),
    "dose_per_kg_mg": ("dose per kg of body weight (a dose per kg, or the dose over the most recent weight)", "mg/kg"),
    "rate_mg_per_hour": ("fastest mass rate (a rate, or a dose over its duration)", "mg/h"),
    "duration_hours": ("infusion duration", "h"),
    "planned_days": ("planned duration (start to stated end)", "days"),
    "units_per_ml": ("strength (Medication.ingredient.strength, else the name)", "units/mL"),
    "container_ml": ("container volume (Medication.amount, else the name)", "mL"),
    "daily_dose_units": ("daily dose in units", "units"),
    "dose_mg": ("largest single dose", "mg"),
    "duration_minutes": ("infusion duration", "min"),
    "course_days": ("days of the course (a count of daily doses, or its bounds, both days counted)", "days"),
    "product_mg": ("product presentation (the mass per unit its name states)", "mg"),
}
# What a medication term asks of the drug itself (not of its route, timing or dates).
_DRUG_KEYS = ("class", "not_class", "ingredient", "routed_to", "route_labelled")
# Keys naming one of a fixed list, and the fact property each is matched on.
_CHOICES = {"route_class": ROUTE_CLASSES, "status": STATUSES, "delivery": DELIVERY, "regimen": REGIMENS,
            "given_as": GIVEN_AS}
_GIVEN_AS_WORDS = {"injection": "an injection (a dose with a frequency and no rate)",
                   "infusion": "an infusion (a rate, a pump or a continuous timing)",
                   "unknown": "an administration that cannot be told injection or infusion"}
ADVERB = {"continuous": "continuously", "intermittent": "intermittently"}
_REGIMEN_WORDS = {"on-demand": "an on-demand regimen (as needed)",
                  "short-course": "a short course (bounded to 14 days or less)",
                  "scheduled": "a scheduled regimen (a frequency and period)",
                  "not-stated": "no regimen (no frequency, period, bounds or as-needed)"}


class MedicationSpec(Spec):
    class_: Names | None = Field(default=None, alias="class")
    not_class: Names | None = None
    ingredient: Names | None = None
    route: Names | None = None
    route_class: Names | None = None
    route_labelled: Names | None = None
    status: Names | None = None
    order: Annotated[bool | Literal["other"], Field(description="true, false or other")] | None = None
    delivery: Names | None = None
    regimen: Names | None = None
    given_as: Names | None = None
    status_reason: Flag | None = None
    within_days: Whole | None = None
    started_days_before: Whole | None = None
    started_within_days: Whole | None = None
    before: Anchor | None = None
    timing_text: Phrases | None = None
    routed_to: Names | None = None
    interval_hours: Comparison | None = None
    daily_volume_ml: Comparison | None = None
    infused_day_volume_ml: Comparison | None = None
    daily_dose_mg: Comparison | None = None
    dose_per_kg_mg: Comparison | None = None
    rate_mg_per_hour: Comparison | None = None
    duration_hours: Comparison | None = None
    planned_days: Comparison | None = None
    units_per_ml: Comparison | None = None
    container_ml: Comparison | None = None
    daily_dose_units: Comparison | None = None
    dose_mg: Comparison | None = None
    duration_minutes: Comparison | None = None
    course_days: Comparison | None = None
    product_mg: Comparison | None = None


@register
class Medication(TermKind):
    kind = key = "medication"
    spec = MedicationSpec
    fact = "medication"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        term = scope.terminology
        parsed: dict[str, Any] = {}
        for key in ("class", "not_class"):
            if key in spec:
                parsed[key] = drug_classes(spec, key, scope, "medication")
        if "ingredient" in spec:
            parsed["ingredient"] = names(spec, "ingredient", term.names(), scope, "medication")
        if "route" in spec:
            parsed["route"] = names(spec, "route", set(term.routes.classes), scope, "medication")
        if "route_labelled" in spec:
            # The routes a page claims: the order's route read with its product's label is one of them.
            parsed["route_labelled"] = names(spec, "route_labelled", set(term.routes.classes), scope, "medication")
        for key, allowed in _CHOICES.items():
            if key in spec:
                parsed[key] = names(spec, key, allowed, scope, "medication")
        if "order" in spec:
            # other: another draft order of the same call that this therapy does not claim (criteria
            # README "Other pages' orders": a duplicate drug drafted with the order).
            parsed["order"] = spec["order"]
        if "status_reason" in spec:
            parsed["status_reason"] = bool(spec["status_reason"])
        if "timing_text" in spec:
            # The dosage's text or its timing code (text or display) names a phrase ("continuous").
            parsed["timing_text"] = phrases(spec["timing_text"], scope, "medication.timing_text")
        if "routed_to" in spec:
            # Therapy ids: checked against the folder's rulesets once all are loaded (cds/knowledge.py).
            routed = spec["routed_to"] if isinstance(spec["routed_to"], list) else [spec["routed_to"]]
            if not routed or not all(isinstance(r, str) and r for r in routed):
                raise scope.error("medication.routed_to: a list of ruleset ids")
            parsed["routed_to"] = [str(r) for r in routed]
        window.parse(spec, parsed, scope, "medication")
        for measure in MEASURES:
            if measure in spec:
                parsed[measure] = compare(spec[measure], scope, f"medication.{measure}")[0]
        return Term("medication", parsed)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        spec = term.spec
        parts: list[Pattern] = [{"t": "medication"}]
        # Classes are flags present for every class (class_<name>: true/false), so that
        # not_class can test a flag instead of negating a pattern.
        if "class" in spec:
            parts.append(one_of_flags([f"class_{n}" for n in spec["class"]]))
        for name in spec.get("not_class", []):
            parts.append({f"class_{name}": False})
        if "ingredient" in spec:
            parts.append(any_item("ingredients", spec["ingredient"]))
        for key in ("route", "route_class", "status", "delivery", "regimen", "given_as"):
            if key in spec:
                parts.append(one_of(key, spec[key]))
        if "route_labelled" in spec:
            parts.append(one_of("label_route", _labelled(spec["route_labelled"])))
        # Drafts of the call that are not under evaluation (order-select's other draftOrders) are
        # facts only for `order: other`: they are neither an order nor history.
        if spec.get("order") is True:
            parts.append(any_item("order_for", [therapy]))
        elif spec.get("order") is False:
            parts += [{"order": False}, {"drafted": False}]
        elif spec.get("order") == "other":
            # Neither this therapy's order nor a draft its routing claims (a bolus drafted with the
            # infusion is the same course).
            parts += [{"drafted": True}, absent("order_for", therapy), absent("routed_to", therapy)]
        else:
            parts.append({"$or": [{"order": True}, {"drafted": False}]})
        if "status_reason" in spec:
            parts.append({"status_reason": spec["status_reason"]})
        if "timing_text" in spec:
            parts.append(any_item("timing_texts", [phrase_flag(p) for p in spec["timing_text"]]))
        if "routed_to" in spec:
            parts.append(any_item("routed_to", spec["routed_to"]))
        parts += window.pattern(spec, therapy)
        for measure in MEASURES:
            if measure in spec:
                parts += compared(measure, spec[measure])
        return {"$and": parts}

    def words(self, spec: dict[str, Any]) -> Words:
        order = spec.get("order")
        subject = ("an order under evaluation" if order is True
                   else "an earlier medication request (history, not the order: active, on-hold, completed or stopped)"
                   if order is False
                   else "another draft order of the same request that this therapy does not claim"
                   if order == "other"
                   else "a medication request")
        parts = []
        if "class" in spec:
            parts.append(f"of drug class {either(spec['class'])}")
        if "not_class" in spec:
            parts.append(f"not of drug class {either(spec['not_class'])}")
        if "ingredient" in spec:
            parts.append(f"with ingredient or brand {either(spec['ingredient'])}")
        if "route" in spec:
            parts.append(f"by the {either(spec['route'])} route")
        if "route_class" in spec:
            parts.append(f"by a route that is {either(spec['route_class'])}")
        if "route_labelled" in spec:
            parts.append(f"by a route its product's label allows, {either(spec['route_labelled'])} (no route "
                         f"stated: every route its label names is one of these)")
        if "given_as" in spec:
            parts.append(f"given as {either([_GIVEN_AS_WORDS[g] for g in spec['given_as']])}")
        if "delivery" in spec:
            parts.append(f"given {either([ADVERB.get(d, d) for d in spec['delivery']])}"
                         if spec["delivery"] != ["unknown"]
                         else "whose delivery (continuous or intermittent) cannot be told")
        if "regimen" in spec:
            parts.append(f"whose timing states {either([_REGIMEN_WORDS[r] for r in spec['regimen']])}")
        if "status" in spec:
            parts.append(f"with status {either(spec['status'])}")
        if "status_reason" in spec:
            parts.append("stopped with a reason" if spec["status_reason"] else "without a status reason")
        if "timing_text" in spec:
            parts.append(f"whose dosage text or timing code says {quoted(spec['timing_text'])}")
        if "routed_to" in spec:
            parts.append(f"that the routing of {either(spec['routed_to'])} claims")
        for measure, (label, unit) in MEASURES.items():
            if measure in spec:
                compare = spec[measure]
                parts.append(f"whose {label} cannot be told" if compare.unknown
                             else f"whose {label} is {said(compare, unit)}")
        parts += window.started_words(spec)
        text = subject + (" " + ", ".join(parts) if parts else "") + window.words(spec)
        if order is True:
            text = "there is " + text
        return Words(text=text)

    def drug_classes(self, spec: dict[str, Any]) -> list[str]:
        return [*spec.get("class", ()), *spec.get("not_class", ())]

    def phrases(self, spec: dict[str, Any]) -> list[str]:
        return list(spec.get("timing_text", ()))

    def types_read(self, spec: dict[str, Any]) -> set[str]:
        # A dose in mg is per kg over the most recent body weight (terminology.yaml dose_per_kg).
        return {"Observation"} if "dose_per_kg_mg" in spec else set()

    def reads_order_drug(self, spec: dict[str, Any]) -> bool:
        return spec.get("order") is True and any(k in spec for k in _DRUG_KEYS)

    def rulesets_named(self, spec: dict[str, Any]) -> list[str]:
        return list(spec.get("routed_to", ()))


def _labelled(routes: list[str]) -> list[str]:
    """The `label_route` values a page claiming `routes` accepts: a stated route among them, or,
    with none stated, labelled routes all among them (every combination, joined as
    cds/terminology/drugs.py `label_route` joins them)."""
    ordered = sorted(set(routes))
    return ["+".join(c) for n in range(1, len(ordered) + 1) for c in itertools.combinations(ordered, n)]
