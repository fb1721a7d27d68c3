"""`medication`: a MedicationRequest (the order under evaluation, history, or another draft)."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import Field

from ...facts import HISTORY_STATUSES
from ...texts import phrase_flag
from .. import window
from ..kind import Anchor, Comparison, Flag, Names, Phrases, Reference, Spec, TermKind, Whole, register
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
    reference = (
        Reference(
            '`medication: {...}`',
            'a MedicationRequest with all of: `class`, `not_class`, `ingredient` (ingredient or brand), `route`, '
            '`route_class`, `status` (narrows the history statuses, below), `delivery` (continuous, '
            'intermittent, unknown: continuous when the timing says so, the dosage text or timing code naming a '
            'word of `terminology.yaml` `timing.continuous`, when a rate has no repeat frequency, or when an '
            'administration lasts 24 h or more; intermittent only when administrations last under 24 h, a '
            'duration under 24 h, doses less than 24 h apart or a dose with no rate; a rate given once a day '
            'with no duration is unknown; several dosage instructions, a basal rate and boluses, are continuous '
            'when any instruction is), `given_as` (injection, infusion, unknown: criteria README "Injection or '
            'infusion": a rate, a pump or infusion named in the dosage text or timing code (`terminology.yaml` '
            '`timing.infusion`) or a continuous delivery is an infusion; by a route of `timing.injection_routes` '
            '(subcutaneous) a dose with a frequency and no rate is an injection; anything else cannot be told), '
            "`route_labelled` (the routes a page claims: the order's stated route is one of them and one its "
            "product's label allows (`terminology.yaml` `labelled_routes` of its classes), or, with no route "
            'stated, every route its label names is one of them: criteria README "No route given, several '
            'labelled routes"; a label allowing a route the list lacks holds neither this nor a `route` term, so '
            'the criterion falls to `unknown`), `regimen` (on-demand, short-course, scheduled, not-stated: '
            'criteria README "Regimen from timing": `asNeeded` is on demand, `repeat.boundsDuration` or '
            '`boundsPeriod` of 14 days or less (`terminology.yaml` `timing.short_course_days`) a short course, a '
            'frequency and period otherwise scheduled, none of these not stated; several instructions state the '
            'first of scheduled, short course, on demand that one of them states, so a schedule with as-needed '
            'rescue doses is scheduled), `status_reason` (true/false), `timing_text: [phrases]` (the dosage text '
            "or the timing code's text or display names a phrase, matched as words like `condition: {text}`), "
            "`order` (true: this therapy's order under evaluation; false: history; `other`: another draft order "
            "of the same call, under evaluation or drafted beside the selections, that this therapy's routing "
            'does not claim, criteria README "Other pages\' orders": with `class`, `ingredient` or `routed_to` '
            '(the page that claims it), and in an `any` with a history term, `{any: [{medication: {order: other, '
            'ingredient: [apixaban]}}, {medication: {order: false, status: [active], ingredient: [apixaban]}}]}` '
            "(S9336's duplicate anticoagulant); a bolus drafted with this therapy's infusion is its own course, "
            "not another order), a window `within_days: N` + `before: as-of \\| order` (the request's span "
            "overlaps the N days before the as-of date or the order's authoredOn), `started_days_before: N` (the "
            "request's start, the earliest of authoredOn, boundsPeriod.start and validityPeriod.start, is at "
            'least N days before the same anchor; a request without a start never matches), '
            '`started_within_days: N` (that start lies within the N days before the anchor, whatever the '
            'request\'s end: a page saying "authored within 30 days", where an ongoing request started earlier '
            'does not count; `within_days` instead asks that the request\'s span overlap the window, "authored '
            'or active within"), `routed_to: [ruleset ids]` (the request, order or history, is one those '
            "rulesets' routing claims: an active home PN bag; a draft of the call is judged beside the call's "
            "other drafts, as its order is), and the order's `interval_hours` (period / frequency, else a timing "
            'code of `terminology.yaml` `timing.interval_codes`; none for a continuous or 24-hour infusion), '
            '`daily_volume_ml` (dose volume x administrations per day: 2,500 mL five times a week is 1,786 mL, '
            '2,000 mL every 48 h is 1,000 mL; a dose of "1 bag" counts the one product volume the name states, '
            '"1000 ML ... Injection"), `infused_day_volume_ml` (mL on a day it is given: a schedule longer than '
            'a day counts the days infused, for a page billing only those days), `daily_dose_mg` (dose in mg, g '
            'or ug, or in tablets or capsules times the one mass per unit the drug\'s name states, "40 MG Oral '
            'Tablet", x doses a day, from the repeat or else a timing code of `terminology.yaml` '
            '`timing.interval_codes` (BID: 2), or a mass rate per hour x hours infused a day; read for history '
            "requests as for orders: S9361's oral diuretic dose; a dose written per kg, 5 mg/kg, counts only "
            'times the weight below, never as 5 mg), `dose_per_kg_mg` (one dose in mg per kg of body weight, '
            'criteria README "Strength, volume and dose": a dose written per kg as written, else the order\'s '
            'largest dose in mg over the most recent weight that `terminology.yaml` `dose_per_kg` reads: its '
            '`weight` value sets, dated within its `within_days` (30) before the as-of date, converted to kg '
            "(pounds too); `unknown` without a usable weight), `units_per_ml`, `container_ml` (the product's "
            'strength and container, as the routing keys read them), `daily_dose_units` (units a day: a dose in '
            'U, [iU] or UNT x doses a day, or units/h x hours infused a day, units/kg/h times the weight '
            '`dose_per_kg_mg` reads; `unknown` without one), `rate_mg_per_hour` (the fastest mass rate of the '
            'order: a rate in mg, g or ug per hour or minute, else a mass dose over its `repeat.duration`: '
            "S9361's furosemide above 4 mg/min), `duration_hours`, `planned_days` (start to the stated end: "
            'boundsDuration, boundsPeriod.end or validityPeriod.end; `unknown` when the order has no end) '
            'compared with `lt`, `le`, `gt`, `ge`, `eq` or `unknown` (cannot be told)',
            '`{medication: {order: true, interval_hours: {eq: 8}}}`; `{medication: {order: true, route: '
            '[subcutaneous], daily_dose_mg: {gt: 2000}}}`; `{medication: {order: false, ingredient: [milrinone], '
            'route: [intravenous], within_days: 30, before: order}}`; `{medication: {order: false, class: '
            '[ert-imiglucerase], started_days_before: 28}}`; `{medication: {order: true, regimen: [on-demand, '
            'short-course]}}` (S9345: not prophylaxis); `{medication: {order: true, class: [infliximab], '
            'dose_per_kg_mg: {gt: 5}}}` (S9359: above 5 mg/kg)'),
    )

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
