"""A ruleset condition in words, as a tree a page can render as nested lists.

It reads the parsed form the engine compiles (cds/conditions.py), term by term, naming value
sets and drug classes so the page can link them: what a payer reads is what runs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..conditions import All, Any_, Compare, Node, Not, terms
from ..ruleset import Adjunct, Claim, Context


class Words(BaseModel):
    text: str
    # Value sets the text names, in order: rendered as links after the text.
    valuesets: list[str] = []
    children: list["Words"] = []

    def plain(self, titles: dict[str, str] | None = None, depth: int = 0) -> str:
        """One line per node, indented: for Markdown and for tests."""
        names = [f"{(titles or {}).get(v, v)} ({v})" for v in self.valuesets]
        line = "  " * depth + "- " + self.text + (" " + " or ".join(names) if names else "")
        return "\n".join([line] + [c.plain(titles, depth + 1) for c in self.children])


def describe(node: Node) -> Words:
    if isinstance(node, All):
        if not node.items:
            return Words(text="always")
        return Words(text="all of:", children=[describe(c) for c in node.items])
    if isinstance(node, Any_):
        return Words(text="any of:", children=[describe(c) for c in node.items])
    if isinstance(node, Not):
        inner = describe(node.term)
        return Words(text=_negate(inner.text), valuesets=inner.valuesets)
    return _TERMS[node.kind](node.spec)


def _negate(text: str) -> str:
    text = text.removeprefix("there is ")
    if text.startswith("the patient") or text.startswith("the record"):
        return f"not: {text}"
    for article in ("an ", "a ", "the "):
        if text.startswith(article):
            return "no " + text[len(article):]
    return f"not: {text}"


def _or(values: Any) -> str:
    items = [str(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


_OPS = {"lt": "below", "le": "at most", "gt": "above", "ge": "at least", "eq": "equal to"}


def _compared(compare: Compare, unit: str = "") -> str:
    if compare.unknown:
        return "cannot be told"
    suffix = f" {unit}" if unit else ""
    return " and ".join(f"{_OPS[op]} {number:g}{suffix}" for op, number in compare.bounds)


def _window(spec: dict[str, Any]) -> str:
    if "within_days" not in spec:
        return ""
    anchor = {"as-of": "the as-of date", "order": "the order's date",
              "order-or-as-of": "the order's date (without an order, the as-of date)"}[spec["before"]]
    return f" within {spec['within_days']} days before {anchor}"


def _quoted(phrases: Any) -> str:
    return _or([f'"{p}"' for p in phrases])


def _condition(spec: dict[str, Any]) -> Words:
    kind = "a condition (any status)" if spec.get("any_status") else "an active condition"
    if "within_days" in spec:
        kind += f" dated (onset, else recorded){_window(spec)}"
    if "text" not in spec:
        return Words(text=f"{kind} coded in", valuesets=list(spec["in"]))
    text = f"{kind} whose name (code text or display) contains {_quoted(spec['text'])}"
    children = []
    if "in" in spec:
        children.append(Words(text="coded in", valuesets=list(spec["in"])))
    if "not_in" in spec:
        children.append(Words(text="with no code in", valuesets=list(spec["not_in"])))
    return Words(text=text, children=children)


def _conditions_count(spec: dict[str, Any]) -> Words:
    return Words(text=f"at least {spec['at_least']} active conditions coded in", valuesets=list(spec["in"]))


def _medication(spec: dict[str, Any]) -> Words:
    order = spec.get("order")
    subject = ("an order under evaluation" if order is True
               else "an earlier medication request (history, not the order: active, on-hold, completed or stopped)"
               if order is False
               else "another draft order of the same request that this therapy does not claim"
               if order == "other"
               else "a medication request")
    parts = []
    if "class" in spec:
        parts.append(f"of drug class {_or(spec['class'])}")
    if "not_class" in spec:
        parts.append(f"not of drug class {_or(spec['not_class'])}")
    if "ingredient" in spec:
        parts.append(f"with ingredient or brand {_or(spec['ingredient'])}")
    if "route" in spec:
        parts.append(f"by the {_or(spec['route'])} route")
    if "route_class" in spec:
        parts.append(f"by a route that is {_or(spec['route_class'])}")
    if "route_labelled" in spec:
        parts.append(f"by a route its product's label allows, {_or(spec['route_labelled'])} (no route stated: "
                     f"every route its label names is one of these)")
    if "given_as" in spec:
        parts.append(f"given as {_or([_GIVEN_AS[g] for g in spec['given_as']])}")
    if "delivery" in spec:
        parts.append(f"given {_or([_ADVERB.get(d, d) for d in spec['delivery']])}" if spec["delivery"] != ["unknown"]
                     else "whose delivery (continuous or intermittent) cannot be told")
    if "regimen" in spec:
        parts.append(f"whose timing states {_or([_REGIMEN_WORDS[r] for r in spec['regimen']])}")
    if "status" in spec:
        parts.append(f"with status {_or(spec['status'])}")
    if "status_reason" in spec:
        parts.append("stopped with a reason" if spec["status_reason"] else "without a status reason")
    if "timing_text" in spec:
        parts.append(f"whose dosage text or timing code says {_quoted(spec['timing_text'])}")
    if "routed_to" in spec:
        parts.append(f"that the routing of {_or(spec['routed_to'])} claims")
    for measure, label, unit in _MEASURES:
        if measure in spec:
            compare = spec[measure]
            parts.append(f"whose {label} cannot be told" if compare.unknown else f"whose {label} is {_compared(compare, unit)}")
    if "started_days_before" in spec:
        anchor = {"as-of": "the as-of date", "order": "the order's date",
              "order-or-as-of": "the order's date (without an order, the as-of date)"}[spec["before"]]
        parts.append(f"started at least {spec['started_days_before']} days before {anchor}")
    if "started_within_days" in spec:
        anchor = {"as-of": "the as-of date", "order": "the order's date",
              "order-or-as-of": "the order's date (without an order, the as-of date)"}[spec["before"]]
        parts.append(f"started within {spec['started_within_days']} days before {anchor}")
    text = subject + (" " + ", ".join(parts) if parts else "") + _window(spec)
    if order is True:
        text = "there is " + text
    return Words(text=text)


_GIVEN_AS = {"injection": "an injection (a dose with a frequency and no rate)",
             "infusion": "an infusion (a rate, a pump or a continuous timing)",
             "unknown": "an administration that cannot be told injection or infusion"}
_ADVERB = {"continuous": "continuously", "intermittent": "intermittently"}
_REGIMEN_WORDS = {"on-demand": "an on-demand regimen (as needed)",
                  "short-course": "a short course (bounded to 14 days or less)",
                  "scheduled": "a scheduled regimen (a frequency and period)",
                  "not-stated": "no regimen (no frequency, period, bounds or as-needed)"}
_MEASURES = (("interval_hours", "dosing interval", "h"), ("daily_volume_ml", "daily volume", "mL"),
             ("infused_day_volume_ml", "volume on a day it is infused", "mL"),
             ("daily_dose_mg", "daily dose", "mg"),
             ("dose_per_kg_mg", "dose per kg of body weight (a dose per kg, or the dose over the most recent weight)",
              "mg/kg"), ("rate_mg_per_hour", "fastest mass rate (a rate, or a dose over its duration)", "mg/h"),
             ("duration_hours", "infusion duration", "h"),
             ("planned_days", "planned duration (start to stated end)", "days"),
             ("units_per_ml", "strength (Medication.ingredient.strength, else the name)", "units/mL"),
             ("container_ml", "container volume (Medication.amount, else the name)", "mL"),
             ("daily_dose_units", "daily dose in units", "units"),
             ("dose_mg", "largest single dose", "mg"), ("duration_minutes", "infusion duration", "min"),
             ("course_days", "days of the course (a count of daily doses, or its bounds, both days counted)", "days"),
             ("product_mg", "product presentation (the mass per unit its name states)", "mg"))


def _observation_ratio(spec: dict[str, Any]) -> Words:
    text = (f"the ratio of two observations measured on the same day (the latest such day{_window(spec)}, "
            f"numerator in {spec['numerator_unit']}, denominator in {spec['denominator_unit']})")
    if "value" in spec:
        text += f" is {_compared(spec['value'])}"
    # One list (numerator sets first): a negated term shows no children.
    return Words(text=text + "; numerator, then denominator, coded in",
                 valuesets=[*spec["numerator"], *spec["denominator"]])


def _orders_total(spec: dict[str, Any]) -> Words:
    label, unit = next((lab, u) for m, lab, u in _MEASURES if m == spec["measure"])
    of = f" of drug class {_or(spec['class'])}" if "class" in spec else ""
    compared = "cannot be told" if spec["value"].unknown else f"is {_compared(spec['value'], unit)}"
    return Words(text=f"the {label} summed over this therapy's orders under evaluation{of} {compared}")


def _doses_per_day(spec: dict[str, Any]) -> Words:
    route = f" by the {_or(spec['route'])} route" if "route" in spec else ""
    given = f", given {_or(spec['delivery'])}" if "delivery" in spec else ""
    anchor = "the order's date (without an order, the as-of date)" if spec["before"] == "order" else "the as-of date"
    which = f"the medication history of drug class {_or(spec['class'])}{route}{given}"
    if spec.get("untimed"):
        return Words(text=f"a request of {which} does not tell its administrations a day")
    text = f"requests of {which} active together add up to {spec['at_least']} or more administrations a day"
    if "started_days_before" in spec:
        text += (f", the earliest of such a set starting {spec['started_days_before']} days or more before "
                 f"{anchor}")
    return Words(text=text)


def _medication_classes(spec: dict[str, Any]) -> Words:
    status = f" (status {_or(spec['status'])})" if "status" in spec else ""
    status += f" by route {_or(spec['route'])}" if "route" in spec else ""
    return Words(text=f"the medication history{status}{_window(spec)} covers at least {spec['at_least']} "
                      f"of the drug classes {_or(spec['classes'])}")


def _service_order(spec: dict[str, Any]) -> Words:
    text = "there is a service request of this therapy (the order under evaluation)"
    if "quantity" in spec:
        text += f" whose quantity is {_compared(spec['quantity'])}"
    if "in" in spec:
        return Words(text=text + ", coded in", valuesets=list(spec["in"]))
    return Words(text=text)


def _patient(spec: dict[str, Any]) -> Words:
    parts = []
    if "age_at_least" in spec:
        parts.append(f"is {spec['age_at_least']} years or older on the as-of date")
    if "age_below" in spec:
        parts.append(f"is younger than {spec['age_below']} years on the as-of date")
    if "age_days_at_most" in spec:
        parts.append(f"is {spec['age_days_at_most']} days old or younger on the as-of date")
    if spec.get("age") == "unknown":
        parts.append("has no known age (no birth date)")
    if "gender" in spec:
        parts.append(f"is recorded as {' or '.join(spec['gender'])} (Patient.gender)")
    return Words(text="the patient " + " and ".join(parts))


def _course(spec: dict[str, Any]) -> Words:
    text = f"a course of {spec['id']} (earliest start to latest end of its requests)"
    if "min_days" in spec:
        text += f" spanning {spec['min_days']} days or more"
    if spec.get("stopped_with_reason"):
        text += " in which a request was stopped with a reason"
    return Words(text=text)


def _observation_window(spec: dict[str, Any]) -> str:
    if spec.get("before") != "first-request":
        return _window(spec)
    excluded = f" (not {_or(list(spec['first_request_not']))})" if spec.get("first_request_not") else ""
    start = f"the start of the first {spec['first_request']}{excluded} request in the history"
    if "within_days" in spec:
        return f" within {spec['within_days']} days before {start}"
    return f" on or before {start}"


def _observation(spec: dict[str, Any]) -> Words:
    pick = {"latest": "the most recent", "min": "the lowest", "max": "the highest", "any": "any"}[spec["pick"]]
    window = _observation_window(spec)
    text = f"{pick} observation (final, amended or corrected){window}"
    if "units" in spec:
        text += f" recorded in {_or(spec['units'])}"
    if "value" in spec:
        text += f" has a value {_compared(spec['value'], spec['unit'])}"
    if "loss" in spec:
        text += (f" has lost, against the highest value of the {spec['loss_days']} days before it (in"
                 f" {spec['unit']}), a share {_compared(spec['loss'], 'percent')}")
    if "rise" in spec:
        text += (f" has risen, above the lowest value of the {spec['rise_days']} days before it, by"
                 f" {_compared(spec['rise'], spec['unit'])}")
    if "count_at_least" in spec:
        text = f"at least {spec['count_at_least']} observations{window}"
        if "counted" in spec:
            text += f" with a value {_compared(Compare(tuple(spec['counted'])), spec['unit'])}"
    if "spread" in spec:
        usable = f" (of those with a value in {spec['unit']})" if "value" not in spec and "unit" in spec else ""
        text += f", the first and the last{usable} {_compared(spec['spread'])} days apart"
    if "interpretation" in spec:
        text += f", flagged {_or(spec['interpretation'])}"
    if "change" in spec:
        text += (f" has a value whose change from the baseline (the latest on or before the start of the first "
                 f"{spec['baseline_class']} request in the history; the value dated after it) is "
                 f"{_compared(spec['change'], spec['unit'])}")
    if spec.get("below_reference_low"):
        text += ", below the low limit of its reference range"
    if "low_percent" in spec:
        text += f", a value {_compared(spec['low_percent'], 'percent')} of the low limit of its reference range"
    if "same_day" in spec:
        text += (f", with the highest observation in {_or(list(spec['same_day_in']))} drawn the same day "
                 f"{_compared(spec['same_day'], spec['same_day_unit'])}")
    if "value_text" in spec:
        text += f", its value as text or its interpretation containing {_quoted(spec['value_text'])}"
    if "method_text" in spec:
        text += f", its method containing {_quoted(spec['method_text'])}"
    named = f"named (code text or display) with {_quoted(spec['text'])}" if "text" in spec else ""
    answer = [Words(text="with an answer in", valuesets=list(spec["answer"]))] if "answer" in spec else []
    if "in" not in spec:
        return Words(text=f"{text}, {named}", children=answer)
    children = [Words(text=f"or {named}"), *answer] if named else answer
    return Words(text=text + ", coded in", valuesets=list(spec["in"]), children=children)


def _procedure(spec: dict[str, Any]) -> Words:
    later = (f" with no later procedure whose name contains {_quoted(spec['not_followed_by'])}"
             if "not_followed_by" in spec else "")
    removals = ([Words(text="with no later procedure (a removal) coded in", valuesets=list(spec["not_followed_by_in"]))]
                if "not_followed_by_in" in spec else [])
    return Words(text=f"a completed procedure{_window(spec)}{later}, coded in", valuesets=list(spec["in"]),
                 children=removals)


def _immunization(spec: dict[str, Any]) -> Words:
    return Words(text=f"a completed immunization{_window(spec)}, its vaccine coded in", valuesets=list(spec["in"]))


def _dated_condition(spec: dict[str, Any]) -> Words:
    kind = "a condition (any status)" if spec.get("any_status") else "an active condition"
    if spec.get("undated"):
        return Words(text=f"{kind} with neither onset nor recorded date, coded in", valuesets=list(spec["in"]))
    window = f" dated within {spec['within_days']} days before the as-of date" if "within_days" in spec else ""
    later = ([Words(text="with no condition dated on or after it coded in", valuesets=list(spec["not_followed_by"]))]
             if "not_followed_by" in spec else [])
    return Words(text=f"{kind}{window} (onset, else recorded date), coded in", valuesets=list(spec["in"]),
                 children=later)


def _pregnancy(spec: dict[str, Any]) -> Words:
    children = []
    if "weeks" in spec:
        children.append(Words(text=f"gestational age at the as-of date {_compared(spec['weeks'], 'weeks')} "
                                   "(from the most recent of these observations, else a code stating the weeks)",
                              valuesets=list(spec["gestational_age"])))
    if not spec.get("pregnant"):
        return children[0]
    text = (f"the patient is pregnant at the as-of date: an active condition dated within "
            f"{spec['condition_days']} days, not followed by a delivery or pregnancy-end code, or the most "
            f"recent pregnancy-status observation within {spec['observation_days']} days saying pregnant; coded in")
    return Words(text=text, valuesets=list(spec["in"]),
                 children=[Words(text="ended by", valuesets=list(spec["ended_by"])), *children])


def _record(spec: dict[str, Any]) -> Words:
    names = {"procedures": "no Procedure at all", "immunizations": "no Immunization at all", "medication_history": "no medication history (no active, on-hold, completed or stopped request besides the order)"}
    return Words(text="the record holds " + " and ".join(names[p] for p in spec["empty"]))


def _result(spec: dict[str, Any]) -> Words:
    text = f"criterion {spec['criterion']} is {_or(spec.get('is', ['decided']))}"
    if "category" in spec:
        text += f" ({_or(spec['category'])})"
    return Words(text=text)


def _status(spec: dict[str, Any]) -> Words:
    return Words(text=f"the therapy's status is {_or(spec['is'])}")


_TERMS = {"condition": _condition, "conditions_count": _conditions_count, "medication": _medication,
          "medication_classes": _medication_classes, "service_order": _service_order, "patient": _patient,
          "course": _course, "observation": _observation, "observation_ratio": _observation_ratio,
          "orders_total": _orders_total, "doses_per_day": _doses_per_day, "procedure": _procedure, "immunization": _immunization, "record": _record,
          "pregnancy": _pregnancy, "dated_condition": _dated_condition,
          "result": _result, "status": _status}


_OP_WORDS = {"lt": "below", "le": "at most", "gt": "above", "ge": "at least", "eq": "exactly"}


def adjunct_words(therapy: str, adjuncts: list[Adjunct]) -> list[str]:
    """The platform's adjunct rules (rulesets/routing.yaml) that concern a page: the orders it
    gives up as adjuncts of other pages' orders, and those it keeps as adjuncts of its own."""
    return [f"Adjunct ({a.id}): {a.text.strip()}" for a in adjuncts
            if therapy in a.claimed_by or any(therapy in s.therapies for s in a.with_)]


def claim_words(claim: Claim) -> str:
    """One routing claim in words."""
    parts = []
    if claim.classes:
        parts.append(f"of drug class {_or(claim.classes)}")
    if claim.ingredients:
        parts.append(f"with ingredient or brand {_or(claim.ingredients)}")
    if claim.not_classes:
        parts.append(f"not of drug class {_or(claim.not_classes)}")
    if claim.routes:
        parts.append(f"by the {_or(claim.routes)} route")
    if claim.route_classes:
        parts.append(f"by a route that is {_or(claim.route_classes)}")
    if claim.delivery:
        parts.append(f"given {_or([_ADVERB.get(d, d) for d in claim.delivery])}")
    if claim.given_as:
        parts.append(f"given as {_or(claim.given_as)} (injection or infusion)")
    if claim.only_classes:
        parts.append(f"whose every ingredient is of drug class {_or(claim.only_classes)} (no other active ingredient "
                     "named)")
    for name, limit in claim.percent_at_most.items():
        parts.append(f"with {name} at {limit:g}% or less (or no strength stated)")
    if claim.single_dose is not None:
        parts.append("ordered as a single dose" if claim.single_dose else "ordered as several doses")
    for op, limit in claim.dose_mg.items():
        parts.append(f"with one dose {_OP_WORDS[op]} {limit:g} mg")
    if claim.record_procedures is not None:
        shown = [f"a completed procedure coded in {_or(p.in_)}"
                 + (f" within {p.within_days} days before the as-of date" if p.within_days is not None else "")
                 + (f" with no later procedure whose name contains {_quoted(p.not_followed_by)}"
                    if p.not_followed_by else "")
                 for p in claim.record_procedures.any]
        none = ", or no Procedure at all" if claim.record_procedures.or_none_on_record else ""
        parts.append(f"when the record shows {_or(shown)}{none}")
    if claim.context:
        parts.append(f"only {_or([_context_words(c) for c in claim.context])}")
    if claim.not_context:
        parts.append(f"never {_or([_context_words(c) for c in claim.not_context])}")
    for label, bounds, unit in (("strength", claim.units_per_ml, "units/mL"), ("container", claim.container_ml, "mL")):
        if bounds:
            parts.append(f"whose {label} is " + " and ".join(f"{_OP_WORDS[op]} {n:g} {unit}" for op, n in bounds.items()))
    if claim.dosage_text:
        parts.append(f"whose dosage text, timing, route or method says {_quoted(claim.dosage_text)}")
    text = "a draft medication order " + ", ".join(parts)
    if claim.unless:
        text += "; unless it is " + "; or ".join(claim_words(u).removeprefix("a draft medication order ")
                                               for u in claim.unless)
    return text


def services_words(services: list[str]) -> list[str]:
    """A routing's `services`: the ServiceRequests it claims by procedure code."""
    return [f"a draft service request coded in {_or(services)}"] if services else []


def _context_words(context: Context) -> str:
    """A claim's context in words (criteria README "Context")."""
    said = []
    if context.reasons:
        said.append(f"its reason coded in {_or(context.reasons)}")
    if context.no_reason:
        said.append("it states no reason")
    if context.conditions:
        window = f" dated within {context.within_days} days before the as-of date" if context.within_days is not None else ""
        later = f" and not followed by a condition coded in {_or(context.not_followed_by)}" if context.not_followed_by else ""
        said.append(f"the record holds an active condition coded in {_or(context.conditions)}{window}{later}")
    if context.no_conditions:
        said.append(f"the record holds no active condition coded in {_or(context.no_conditions)}")
    if context.pregnancy:
        said.append(f"the patient is pregnant at the as-of date (pregnancy codes {_or(context.pregnancy)})")
    return "when " + " and ".join(said)


def valuesets_in(node: Node) -> list[str]:
    """Value set ids a condition names, in order, once each."""
    found: list[str] = []
    for term in terms(node):
        for key in ("in", "answer", "numerator", "denominator"):
            found.extend(v for v in term.spec.get(key, ()) if v not in found)
    return found


def drug_classes_in(node: Node) -> list[str]:
    """Drug classes a condition names (they lead to the value sets that define them)."""
    found: list[str] = []
    for term in terms(node):
        for key in ("class", "not_class", "classes"):
            if term.kind in ("medication", "medication_classes", "orders_total", "doses_per_day"):
                found.extend(c for c in term.spec.get(key, ()) if c not in found)
    return found
