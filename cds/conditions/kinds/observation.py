"""`observation`: an Observation picked in a window (the most recent, the lowest, the highest, any),
its value, answer, flags or words compared; or a count of them. Computed once per evaluation."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ...compare import holds
from ...texts import phrase_flag
from .. import window
from ..kind import Comparison, Flag, Mapping, Names, Phrases, Spec, TermKind, Whole, register
from ..measured import (about, baseline_change, cite_read, date_spread, first_request, flags_of_all, loss_fact,
                        pick_extreme, read_values, rise_fact, same_day_fact, value_bounds)
from ..nodes import Compare, Derived, Term
from ..patterns import Pattern, any_item, bounded, compared, derived
from ..scope import Scope, as_list, check_keys, compare, drug_classes, names, only_true, phrases, unit, valuesets, whole
from ..words import Words, compared as said, either, quoted

if TYPE_CHECKING:
    from ...facts import PatientFacts
    from ...fhir.errors import Problem
    from ...terminology.units import Units

PICKS = {"latest", "min", "max", "any"}


class ObservationSpec(Spec):
    in_: Names | None = Field(default=None, alias="in")
    text: Phrases | None = None
    within_days: Whole | None = None
    before: Annotated[str | dict[str, Any],
                      Field(description="an anchor (as-of, order, order-or-as-of) or {first_request: CLASS}")] | None = None
    pick: str | None = None
    value: Comparison | None = None
    answer: Names | None = None
    interpretation: Annotated[list[str], Field(description="a list of interpretation codes")] | None = None
    count_at_least: Whole | None = None
    units: Annotated[list[str], Field(description="a list of units")] | None = None
    value_text: Mapping | None = None
    method_text: Phrases | None = None
    loss_percent: Comparison | None = None
    rise: Comparison | None = None
    spread_days: Comparison | None = None
    from_baseline: Mapping | None = None
    below_reference_low: Flag | None = None
    reference_low_percent: Comparison | None = None
    same_day: Mapping | None = None


@register
class Observation(TermKind):
    kind = key = "observation"
    spec = ObservationSpec
    fact = "derived"
    reads = frozenset({"Observation"})

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        if "in" not in spec and "text" not in spec:
            raise scope.error("observation: needs in (value sets) or text (phrases)")
        base: dict[str, Any] = {}
        if "in" in spec:
            base["in"] = tuple(valuesets(spec, "in", scope, "observation"))
        if "text" in spec:
            # Also an Observation whose code's text or display names a phrase (no code verified).
            base["text"] = tuple(phrases(spec["text"], scope, "observation.text"))
        _parse_window(spec, base, scope)
        if "units" in spec:
            # Only values recorded in these units are read (others are not candidates, and no
            # warning): a unit with no conversion to the threshold's, e.g. umol/L next to mg/dL.
            listed = as_list(spec["units"], scope, "observation.units")
            unknown = [u for u in listed if not scope.terminology.units.knows(u)]
            if unknown or not listed:
                raise scope.error(f"observation.units: unknown unit(s) {unknown or 'empty list'}; "
                                  f"known: {', '.join(scope.terminology.units.known)}")
            base["units"] = tuple(str(u) for u in listed)
        parsed: dict[str, Any] = {}
        _parse_values(spec, base, parsed, scope)
        if "answer" in spec:
            parsed["answer"] = valuesets(spec, "answer", scope, "observation.answer")
            base["coded"] = True
        if "value_text" in spec:
            matches = check_keys(spec["value_text"], {"matches"}, scope, "observation.value_text", {"matches"})
            parsed["value_text"] = phrases(matches["matches"], scope, "observation.value_text.matches")
        if "method_text" in spec:
            parsed["method_text"] = phrases(spec["method_text"], scope, "observation.method_text")
        if "interpretation" in spec:
            parsed["interpretation"] = [str(v) for v in spec["interpretation"]]
        if "below_reference_low" in spec:
            parsed["below_reference_low"] = only_true(spec, "below_reference_low", scope, "observation")
        if "reference_low_percent" in spec:
            # The picked value as a percentage of the low limit of its reference range ("at or
            # below 110% of the laboratory's lower limit of normal"); no low: neither side holds.
            parsed["low_percent"] = compare(spec["reference_low_percent"], scope,
                                            "observation.reference_low_percent")[0]
        if "same_day" in spec:
            # Another observation drawn the day the picked one was (a fasting glucose beside a
            # C-peptide): the highest of those sets that day, in the unit given. `value: unknown`:
            # none drawn that day (with a value in a unit converting to `unit`).
            same = check_keys(spec["same_day"], {"in", "unit", "value"}, scope, "observation.same_day",
                              {"in", "unit", "value"})
            base["same_day_in"] = tuple(valuesets(same, "in", scope, "observation.same_day"))
            base["same_day_unit"] = unit(same, scope, "observation.same_day")
            parsed["same_day"] = compare(same["value"], scope, "observation.same_day.value")[0]
        if "count_at_least" in spec:
            if {"answer", "loss_percent", "rise"}.intersection(spec):
                raise scope.error("observation.count_at_least: counts observations; no answer or loss")
            if "value" in spec:
                # Counts only the observations whose value is in the comparison ("2 or more fasting
                # glucose values above 200 mg/dL"): the value is then no longer compared itself.
                base["counted"] = parsed.pop("value").bounds
            parsed["count_at_least"] = whole(spec, "count_at_least", scope, "observation")
            base["cite"] = "all"  # every observation counted is evidence
        base["pick"] = _pick(spec, base, scope)
        return Term("observation", {**base, **parsed}, scope.derive("observation", base))

    def pattern(self, term: Term, therapy: str) -> Pattern:
        spec = term.spec
        parts: list[Pattern] = []
        if "value" in spec:
            parts += bounded(spec["value"])
        for key, field in (("loss", "value"), ("rise", "value"), ("spread", "spread_days"), ("change", "change")):
            if key in spec:
                parts += compared(field, spec[key])
        if "answer" in spec:
            parts.append(any_item("answers", spec["answer"]))
        if "interpretation" in spec:
            parts.append(any_item("interpretation", spec["interpretation"]))
        if spec.get("below_reference_low"):
            parts.append({"below_low": True})
        if "low_percent" in spec:
            parts += bounded(spec["low_percent"], "low_percent_")
        if "same_day" in spec:
            parts += bounded(spec["same_day"], "same_day_")
        if "value_text" in spec:
            parts.append(any_item("value_texts", [phrase_flag(p) for p in spec["value_text"]]))
        if "method_text" in spec:
            parts.append(any_item("method_texts", [phrase_flag(p) for p in spec["method_text"]]))
        if "count_at_least" in spec:
            parts.append({"$gte": {"count": spec["count_at_least"]}})
        return derived(term.derived, therapy, *parts)

    def words(self, spec: dict[str, Any]) -> Words:
        pick = {"latest": "the most recent", "min": "the lowest", "max": "the highest", "any": "any"}[spec["pick"]]
        within = _window_words(spec)
        text = f"{pick} observation (final, amended or corrected){within}"
        if "units" in spec:
            text += f" recorded in {either(spec['units'])}"
        if "value" in spec:
            text += f" has a value {said(spec['value'], spec['unit'])}"
        if "loss" in spec:
            text += (f" has lost, against the highest value of the {spec['loss_days']} days before it (in"
                     f" {spec['unit']}), a share {said(spec['loss'], 'percent')}")
        if "rise" in spec:
            text += (f" has risen, above the lowest value of the {spec['rise_days']} days before it, by"
                     f" {said(spec['rise'], spec['unit'])}")
        if "count_at_least" in spec:
            text = f"at least {spec['count_at_least']} observations{within}"
            if "counted" in spec:
                text += f" with a value {said(Compare(tuple(spec['counted'])), spec['unit'])}"
        if "spread" in spec:
            usable = f" (of those with a value in {spec['unit']})" if "value" not in spec and "unit" in spec else ""
            text += f", the first and the last{usable} {said(spec['spread'])} days apart"
        if "interpretation" in spec:
            text += f", flagged {either(spec['interpretation'])}"
        if "change" in spec:
            text += (f" has a value whose change from the baseline (the latest on or before the start of the first "
                     f"{spec['baseline_class']} request in the history; the value dated after it) is "
                     f"{said(spec['change'], spec['unit'])}")
        if spec.get("below_reference_low"):
            text += ", below the low limit of its reference range"
        if "low_percent" in spec:
            text += f", a value {said(spec['low_percent'], 'percent')} of the low limit of its reference range"
        if "same_day" in spec:
            text += (f", with the highest observation in {either(list(spec['same_day_in']))} drawn the same day "
                     f"{said(spec['same_day'], spec['same_day_unit'])}")
        if "value_text" in spec:
            text += f", its value as text or its interpretation containing {quoted(spec['value_text'])}"
        if "method_text" in spec:
            text += f", its method containing {quoted(spec['method_text'])}"
        named = f"named (code text or display) with {quoted(spec['text'])}" if "text" in spec else ""
        answer = [Words(text="with an answer in", valuesets=list(spec["answer"]))] if "answer" in spec else []
        if "in" not in spec:
            return Words(text=f"{text}, {named}", children=answer)
        children = [Words(text=f"or {named}"), *answer] if named else answer
        return Words(text=text + ", coded in", valuesets=list(spec["in"]), children=children)

    def phrases(self, spec: dict[str, Any]) -> list[str]:
        return [*spec.get("text", ()), *spec.get("value_text", ()), *spec.get("method_text", ())]

    def result_words(self, spec: dict[str, Any]) -> list[str]:
        return list(spec.get("value_text", ()))

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        spec = derived.spec
        wanted = set(spec.get("in", ()))
        named = {phrase_flag(p) for p in spec.get("text", ())}
        if spec.get("before") == "first-request":
            # A baseline: on or before the day the first request of the class started.
            anchor = first_request(facts, spec["first_request"], spec.get("first_request_not", ()))
            if anchor is None:
                return None
            anchors = {**anchors, "first-request": anchor}
            # No within_days: any time on or before that day (a pretreatment level does not expire).
            span = {"within_days": spec.get("within_days", (anchor - dt.date.min).days), "before": "first-request"}
        else:
            span = spec
        allowed = {units.code(u) for u in spec.get("units", ())}
        matching = [o for o in facts.observations_in(wanted, named) if not allowed or units.code(o.unit) in allowed]
        candidates = [o for o in matching if window.holds(o.date, o.date, span, anchors)]
        compared_in = spec.get("unit")
        if compared_in is not None:
            valued = read_values(candidates, compared_in, units, warnings)
            if "counted" in spec:
                valued = [(v, o) for v, o in valued if o.comparator is None and holds(v, spec["counted"])]
            if not valued:
                return None
            if "loss_days" in spec:
                return loss_fact(valued, read_values(matching, compared_in, units, warnings), spec["loss_days"], units)
            if "rise_days" in spec:
                return rise_fact(valued, read_values(matching, compared_in, units, warnings), spec["rise_days"], units,
                                 compared_in)
            if spec["pick"] == "latest":
                value, chosen = max(valued, key=lambda item: item[1].date or dt.date.min)
                bounds = value_bounds(value, chosen.comparator)
            else:
                value, chosen, bounds = pick_extreme(valued, spec["pick"])
            fact = about(chosen, units, value=round(value, 6), count=len(valued),
                         spread=date_spread([o for _, o in valued]))
            fact.update(bounds)
            fact.update(same_day_fact(facts, spec, chosen, units, warnings))
            if "baseline_class" in spec:
                fact.update(baseline_change(facts, spec, value, chosen, wanted, named, allowed, units, warnings))
            return cite_read(fact, [o for _, o in valued], spec.get("cite"))
        if spec.get("coded"):
            candidates = [o for o in candidates if o.coded]
        if not candidates:
            # No fact: `none: {observation: ...}` then holds (no observation in the window).
            return None
        if spec["pick"] == "any":
            return flags_of_all(candidates, units)
        chosen = max(candidates, key=lambda o: o.date or dt.date.min)
        fact = about(chosen, units, count=len(candidates), spread=date_spread(candidates))
        fact.update(same_day_fact(facts, spec, chosen, units, warnings))
        return cite_read(fact, candidates, spec.get("cite"))


def _parse_window(spec: dict[str, Any], base: dict[str, Any], scope: Scope) -> None:
    if isinstance(spec.get("before"), dict):
        # A baseline: taken on or before the start of the first request of a drug class in the
        # history; within_days (optional) then counts back from that start.
        anchor = check_keys(spec["before"], {"first_request", "not_class"}, scope, "observation.before",
                            {"first_request"})
        base["before"] = "first-request"
        base["first_request"] = drug_classes(anchor, "first_request", scope, "observation.before")[0]
        if "not_class" in anchor:
            # ... and of none of these classes (a hyperimmune globulin is no immune globulin therapy).
            base["first_request_not"] = tuple(drug_classes(anchor, "not_class", scope, "observation.before"))
        if "within_days" in spec:
            base["within_days"] = whole(spec, "within_days", scope, "observation")
    elif "within_days" not in spec:
        raise scope.error("observation: needs within_days (or before: {first_request: CLASS})")
    else:
        window.parse(spec, base, scope, "observation", window.DERIVED_ANCHORS)


def _parse_values(spec: dict[str, Any], base: dict[str, Any], parsed: dict[str, Any], scope: Scope) -> None:
    """What is compared: the value, the loss or rise over the days before, the spread of dates,
    the change from a baseline (one unit for all of them)."""
    compared_keys = [k for k in ("value", "loss_percent", "rise") if k in spec]
    if len(compared_keys) > 1:
        raise scope.error(f"observation: {' and '.join(compared_keys)} compare different things; one term each")
    if "value" in spec:
        comparison, extra = compare(spec["value"], scope, "observation.value", {"unit"})
        base["unit"] = unit(extra, scope, "observation.value")
        parsed["value"] = comparison
    # The most recent value in the window against the days before it: the share lost from the
    # highest (loss_percent), or the amount risen above the lowest (rise: a weight gain over days,
    # a creatinine rise), in the unit given.
    for key, field, baseline in (("loss_percent", "loss", "highest"), ("rise", "rise", "lowest")):
        if key not in spec:
            continue
        comparison, extra = compare(spec[key], scope, f"observation.{key}", {"unit", "baseline_days"})
        base["unit"] = unit(extra, scope, f"observation.{key}")
        if "baseline_days" not in extra:
            raise scope.error(f"observation.{key}: needs baseline_days (the days before the most recent value "
                              f"in which the {baseline} is taken)")
        base[f"{field}_days"] = whole(extra, "baseline_days", scope, f"observation.{key}")
        parsed[field] = comparison
    if "spread_days" in spec:
        # With a unit, only usable values count (a number in a unit that converts to it): a weight
        # with no number or in an unknown unit is no weight (criteria README).
        comparison, extra = compare(spec["spread_days"], scope, "observation.spread_days", {"unit"})
        if "unit" in extra:
            measured_in = unit(extra, scope, "observation.spread_days")
            if base.get("unit", measured_in) != measured_in:
                raise scope.error("observation.spread_days: the same unit as value's")
            base["unit"] = measured_in
        # The term reads the first observation as well as the last: both are its evidence.
        base["cite"] = "first-and-last"
        parsed["spread"] = comparison
    if "from_baseline" in spec:
        # The picked value's change from a baseline: the latest value of the same observations on
        # or before the start of the first request of a drug class (a later one is compared).
        baseline = check_keys(spec["from_baseline"], {"first_request", "change"}, scope, "observation.from_baseline",
                              {"first_request", "change"})
        base["baseline_class"] = drug_classes(baseline, "first_request", scope, "observation.from_baseline")[0]
        comparison, extra = compare(baseline["change"], scope, "observation.from_baseline.change", {"unit"})
        measured_in = unit(extra, scope, "observation.from_baseline.change")
        if base.get("unit", measured_in) != measured_in:
            raise scope.error("observation.from_baseline.change: the same unit as value's")
        base["unit"] = measured_in
        parsed["change"] = comparison


def _pick(spec: dict[str, Any], base: dict[str, Any], scope: Scope) -> str:
    pick = names(spec, "pick", PICKS, scope, "observation")[0] if "pick" in spec else "latest"
    if pick == "any" and ("unit" in base or "answer" in spec or "count_at_least" in spec):
        raise scope.error("observation.pick: any reads the flags of every observation in the window "
                          "(interpretation, below_reference_low); values are compared with min or max")
    if pick in ("min", "max") and "unit" not in base:
        raise scope.error("observation.pick: min and max compare values; give value")
    return pick


def _window_words(spec: dict[str, Any]) -> str:
    if spec.get("before") != "first-request":
        return window.words(spec)
    excluded = f" (not {either(list(spec['first_request_not']))})" if spec.get("first_request_not") else ""
    start = f"the start of the first {spec['first_request']}{excluded} request in the history"
    if "within_days" in spec:
        return f" within {spec['within_days']} days before {start}"
    return f" on or before {start}"
