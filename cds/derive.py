"""Derived facts: what a condition reads that is computed over many entries of the record.

A measurement picked in a window (the most recent, the lowest, the highest), a count of
observations, of drug classes in the medication history or of active conditions: durable-rules
does not aggregate, so each distinct one (cds/conditions.py `Derived`) is computed here once per
evaluation and asserted as one fact that the rules compare.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from .conditions import Derived
from .facts import MedicationFact, ObservationFact, PatientFacts
from .fhir.errors import Problem
from .terminology.pregnancy import pregnancy
from .terminology.units import Units
from .texts import phrase_flag


def derived_facts(facts: PatientFacts, therapy: str, specs: Iterable[Derived], units: Units,
                  warnings: list[Problem], memo: dict[Any, dict[str, Any] | None] | None = None) -> list[dict[str, Any]]:
    """One fact per spec that found something (a count is asserted even when 0). `memo`, shared by
    the therapies of one evaluation: a spec that several rulesets read is computed once per order
    date (its only dependence on the therapy; warnings are kept once anyway)."""
    order = facts.order_date(therapy)
    anchors = {"as-of": facts.patient.as_of, "order": order, "order-or-as-of": order or facts.patient.as_of}
    memo = {} if memo is None else memo
    found: list[dict[str, Any]] = []
    for spec in specs:
        if spec.kind == "orders_total":
            fact = _orders_total(facts, spec, therapy)
        elif (spec.key, anchors["order"]) in memo:
            fact = memo[(spec.key, anchors["order"])]
        else:
            fact = memo[(spec.key, anchors["order"])] = _COMPUTE[spec.kind](facts, spec, anchors, units, warnings)
        if fact is not None:
            found.append({"t": "derived", "key": spec.key, "therapy": therapy, **fact})
    return found


def _within(start: dt.date | None, end: dt.date | None, spec: dict[str, Any],
            anchors: dict[str, dt.date | None]) -> bool:
    if "within_days" not in spec:
        return True
    anchor = anchors[spec["before"]]
    if anchor is None or start is None:
        return False
    end = end or start
    return (anchor - start).days >= 0 and (anchor - end).days <= spec["within_days"]


def first_request(facts: PatientFacts, drug_class: str, excluded: tuple[str, ...] = ()) -> dt.date | None:
    """The start of the first request of a drug class (and of none of `excluded`) in the
    medication history (not the order): what came before it is pretreatment."""
    starts = [m.start for m in facts.medications
              if m.history and m.classes.get(drug_class) and not any(m.classes.get(c) for c in excluded)
              and m.start]
    return min(starts) if starts else None


def _observation(facts: PatientFacts, spec: Derived, anchors: dict[str, dt.date | None], units: Units,
                 warnings: list[Problem]) -> dict[str, Any] | None:
    wanted = set(spec.spec.get("in", ()))
    named = {phrase_flag(p) for p in spec.spec.get("text", ())}
    if spec.spec.get("before") == "first-request":
        # A baseline: on or before the day the first request of the class started.
        anchor = first_request(facts, spec.spec["first_request"], spec.spec.get("first_request_not", ()))
        if anchor is None:
            return None
        anchors = {**anchors, "first-request": anchor}
        # No within_days: any time on or before that day (a pretreatment level does not expire).
        window = {"within_days": spec.spec.get("within_days", (anchor - dt.date.min).days),
                  "before": "first-request"}
    else:
        window = spec.spec
    allowed = {units.code(u) for u in spec.spec.get("units", ())}
    matching = [o for o in facts.observations_in(wanted, named) if not allowed or units.code(o.unit) in allowed]
    candidates = [o for o in matching if _within(o.date, o.date, window, anchors)]
    unit = spec.spec.get("unit")
    if unit is not None:
        valued = _valued(candidates, unit, units, warnings)
        if "counted" in spec.spec:
            valued = [(v, o) for v, o in valued if o.comparator is None and _holds(v, spec.spec["counted"])]
        if not valued:
            return None
        if "loss_days" in spec.spec:
            return _loss(valued, _valued(matching, unit, units, warnings), spec.spec["loss_days"], units)
        if "rise_days" in spec.spec:
            return _rise(valued, _valued(matching, unit, units, warnings), spec.spec["rise_days"], units, unit)
        pick = spec.spec["pick"]
        if pick == "latest":
            value, chosen = max(valued, key=lambda item: item[1].date or dt.date.min)
            bounds = _bounds(value, chosen.comparator)
        else:
            value, chosen, bounds = _extreme(valued, pick)
        fact = _about(chosen, units, value=round(value, 6), count=len(valued), spread=_spread([o for _, o in valued]))
        fact.update(bounds)
        fact.update(_same_day(facts, spec.spec, chosen, units, warnings))
        if "baseline_class" in spec.spec:
            fact.update(_change(facts, spec.spec, value, chosen, wanted, named, allowed, units, warnings))
        return _cite(fact, [o for _, o in valued], spec.spec.get("cite"))
    if spec.spec.get("coded"):
        candidates = [o for o in candidates if o.coded]
    if not candidates:
        # No fact: `none: {observation: ...}` then holds (no observation in the window).
        return None
    if spec.spec["pick"] == "any":
        return _any_flagged(candidates, units)
    chosen = max(candidates, key=lambda o: o.date or dt.date.min)
    fact = _about(chosen, units, count=len(candidates), spread=_spread(candidates))
    fact.update(_same_day(facts, spec.spec, chosen, units, warnings))
    return _cite(fact, candidates, spec.spec.get("cite"))


# A value's bounds (criteria README "Comparators"): `<` or `<=` means at most the number, `>` or
# `>=` at least it; a bound that is open excludes the number itself. A value with no comparator
# is both bounds, closed. The rules compare the bounds (cds/engine/compile.py), so a comparison
# the comparator leaves undecided holds neither way and the criterion falls to `unknown`.
_UPPER = {"<": True, "<=": False}
_LOWER = {">": True, ">=": False}


_HOLDS = {"lt": float.__lt__, "le": float.__le__, "gt": float.__gt__, "ge": float.__ge__, "eq": float.__eq__}


def _holds(value: float, bounds: tuple[tuple[str, float], ...]) -> bool:
    """A plain value (no comparator) in every bound of a comparison."""
    return all(_HOLDS[op](float(value), number) for op, number in bounds)


def _bounds(value: float, comparator: str | None) -> dict[str, Any]:
    """The bounds a value with its comparator gives (none for `ad`, which bounds nothing)."""
    bounds: dict[str, Any] = {}
    if comparator is None or comparator in _UPPER:
        bounds.update(upper=round(value, 6), upper_open=_UPPER.get(comparator or "", False))
    if comparator is None or comparator in _LOWER:
        bounds.update(lower=round(value, 6), lower_open=_LOWER.get(comparator or "", False))
    return bounds


def _extreme(valued: list[tuple[float, ObservationFact]],
             pick: str) -> tuple[float, ObservationFact, dict[str, Any]]:
    """The lowest (or highest) of several values, some of them bounds only ("<1 %"): its bounds
    are the lowest of the lower bounds and the lowest of the upper bounds (an absent lower bound
    is minus infinity, an absent upper one plus infinity; "the highest" the other way round).
    The observation shown is the one that bounds it on the side that decides: for the lowest
    the one with the lowest upper bound, for the highest the one with the highest lower bound."""
    each = [(v, o, _bounds(v, o.comparator)) for v, o in valued]

    def upper(item: tuple[float, ObservationFact, dict[str, Any]]) -> tuple[float, int]:
        b = item[2]
        return (b["upper"], 0 if b["upper_open"] else 1) if "upper" in b else (float("inf"), 1)

    def lower(item: tuple[float, ObservationFact, dict[str, Any]]) -> tuple[float, int]:
        b = item[2]
        return (b["lower"], 1 if b["lower_open"] else 0) if "lower" in b else (float("-inf"), 0)

    if pick == "min":
        chosen, low = min(each, key=upper), min(each, key=lower)
        high = chosen
        upper_known, lower_known = "upper" in chosen[2], all("lower" in b for _, _, b in each)
    else:
        chosen, high = max(each, key=lower), max(each, key=upper)
        low = chosen
        upper_known, lower_known = all("upper" in b for _, _, b in each), "lower" in chosen[2]
    bounds: dict[str, Any] = {}
    if upper_known:
        bounds.update(upper=high[2]["upper"], upper_open=high[2]["upper_open"])
    if lower_known:
        bounds.update(lower=low[2]["lower"], lower_open=low[2]["lower_open"])
    return chosen[0], chosen[1], bounds


def _cite(fact: dict[str, Any], observations: list[ObservationFact], how: str | None) -> dict[str, Any]:
    """Every observation a term read is its evidence, not only the one picked: the first one
    too for a spread of dates, each one counted for a count."""
    if how == "all":
        cited = observations
    elif how == "first-and-last":
        dated = [o for o in observations if o.date is not None]
        cited = [min(dated, key=lambda o: o.date or dt.date.min)] if dated else []
    else:
        return fact
    fact["evidence"] = [*fact.get("evidence", []), *(o.ref for o in cited if o.ref != fact["ref"])]
    return fact


def _any_flagged(candidates: list[ObservationFact], units: Units) -> dict[str, Any]:
    """Every observation's flags at once ("none is flagged low"): the interpretations of all of
    them and whether any is below its reference range, told by the latest flagged one."""
    flagged = [o for o in candidates if o.interpretation or _below_low(o, units)]
    chosen = max(flagged or candidates, key=lambda o: o.date or dt.date.min)
    fact = _about(chosen, units, count=len(candidates), spread=_spread(candidates))
    fact["interpretation"] = sorted({code for o in candidates for code in o.interpretation})
    fact["below_low"] = any(_below_low(o, units) for o in candidates)
    fact["evidence"] = [o.ref for o in flagged if o is not chosen]
    return fact


def _valued(observations: list[ObservationFact], unit: str, units: Units,
            warnings: list[Problem]) -> list[tuple[float, ObservationFact]]:
    """Each observation's value in `unit`; one that cannot be converted is left out, with a warning."""
    valued: list[tuple[float, ObservationFact]] = []
    for observation in observations:
        if observation.value is None:
            continue
        value = units.reading(observation.ref, observation.value, observation.unit, unit, observation.vs, warnings)
        if value is None:
            continue
        valued.append((value, observation))
    return valued


def _latest_and_before(valued: list[tuple[float, ObservationFact]], every: list[tuple[float, ObservationFact]],
                       days: int) -> tuple[float, ObservationFact, list[tuple[float, ObservationFact]]] | None:
    """The most recent value and the exact values of the `days` before its date; None when the
    latest is undated or a bound ("<40 kg" gives no difference) or nothing precedes it."""
    value, latest = max(valued, key=lambda item: item[1].date or dt.date.min)
    if latest.date is None or latest.comparator is not None:
        return None
    before = [(v, o) for v, o in every
              if o.date is not None and 0 < (latest.date - o.date).days <= days and o.comparator is None]
    return (value, latest, before) if before else None


def _rise(valued: list[tuple[float, ObservationFact]], every: list[tuple[float, ObservationFact]],
          days: int, units: Units, unit: str) -> dict[str, Any] | None:
    """The most recent value minus the lowest of the `days` before its date, in `unit` (negative
    for a fall): a weight gained over days, a creatinine risen from its recent lowest."""
    found = _latest_and_before(valued, every, days)
    if found is None:
        return None
    value, latest, before = found
    low, lowest = min(before, key=lambda item: item[0])
    rise = value - low
    fact = _about(latest, units, value=round(rise, 6), count=len(valued))
    fact["display"] = (f"{_display(latest, None)}, {round(rise, 2):g} {unit} above the lowest of the {days} days "
                       f"before it, {_display(lowest, None)}")
    fact["evidence"] = [lowest.ref]
    return fact


def _loss(valued: list[tuple[float, ObservationFact]], every: list[tuple[float, ObservationFact]],
          days: int, units: Units) -> dict[str, Any] | None:
    """The most recent value against the highest of the `days` before its date: the percentage
    lost (negative for a gain). None when the latest is undated or nothing precedes it."""
    found = _latest_and_before(valued, every, days)
    if found is None:
        return None
    value, latest, before = found
    high, highest = max(before, key=lambda item: item[0])
    if high <= 0:
        return None
    loss = (high - value) / high * 100
    fact = _about(latest, units, value=round(loss, 6), count=len(valued))
    fact["display"] = (f"{_display(latest, None)}, {loss:.1f} % below the highest of the {days} days "
                       f"before it, {_display(highest, None)}")
    fact["evidence"] = [highest.ref]
    return fact


def _spread(observations: list[ObservationFact]) -> int | None:
    """Days from the first to the last dated observation."""
    dates = [o.date for o in observations if o.date is not None]
    return (max(dates) - min(dates)).days if dates else None


def _change(facts: PatientFacts, spec: dict[str, Any], value: float, chosen: ObservationFact, wanted: set[str],
            named: set[str], allowed: set[str], units: Units, warnings: list[Problem]) -> dict[str, Any]:
    """The picked value's change from the baseline (the latest value of the same observations on or
    before the start of the first request of the class); nothing when either cannot be told, or the
    picked value is itself from before that start (it would be compared with itself)."""
    anchor = first_request(facts, spec["baseline_class"])
    if anchor is None or chosen.date is None or chosen.date <= anchor or chosen.comparator is not None:
        return {}
    before = [o for o in facts.observations_in(wanted, named) if o.date is not None
              and o.date <= anchor and (not allowed or units.code(o.unit) in allowed)]
    valued = _valued(before, spec["unit"], units, warnings)
    if not valued:
        return {}
    baseline, observation = max(valued, key=lambda item: item[1].date or dt.date.min)
    if observation.comparator is not None:
        return {}
    return {"baseline": round(baseline, 6), "change": round(value - baseline, 6),
            "evidence": [observation.ref]}


def _observation_ratio(facts: PatientFacts, spec: Derived, anchors: dict[str, dt.date | None], units: Units,
                       warnings: list[Problem]) -> dict[str, Any] | None:
    """Numerator / denominator from the latest day in the window on which both were measured
    (on that day the last of each in the record); no fact when no day has both."""
    sides = []
    for part in ("numerator", "denominator"):
        wanted = set(spec.spec[part])
        candidates = [o for o in facts.observations_in(wanted, set()) if o.date is not None
                      and _within(o.date, o.date, spec.spec, anchors)]
        by_day: dict[dt.date, tuple[float, ObservationFact]] = {}
        for value, observation in _valued(candidates, spec.spec[f"{part}_unit"], units, warnings):
            if observation.comparator is not None:
                continue  # a bound ("<0.2 mg/dL") gives no ratio
            by_day[observation.date] = (value, observation)  # type: ignore[index]
        sides.append(by_day)
    days = sorted(set(sides[0]).intersection(sides[1]), reverse=True)
    day = next((d for d in days if sides[1][d][0] != 0), None)
    if day is None:
        return None
    (top, top_obs), (bottom, bottom_obs) = sides[0][day], sides[1][day]
    ratio = top / bottom
    display = (f"{_display(top_obs, None)} / {_display(bottom_obs, None).removesuffix(f' on {day.isoformat()}')}: "
               f"ratio {ratio:.1f}")
    return {"value": round(ratio, 6), "count": 1, "display": display, "date": day.isoformat(),
            "evidence": [top_obs.ref, bottom_obs.ref]}


def _orders_total(facts: PatientFacts, spec: Derived, therapy: str) -> dict[str, Any] | None:
    """A measure summed over the therapy's orders under evaluation (of the classes, when given);
    no `value` when one of them does not tell it; no fact when there is no such order."""
    classes = spec.spec.get("class")
    orders = [m for m in facts.medications if therapy in m.order_for
              and (not classes or any(m.classes.get(c) for c in classes))]
    if not orders:
        return None
    measure = spec.spec["measure"]
    values = [getattr(m, measure) for m in orders]
    fact: dict[str, Any] = {"count": len(orders), "display": "; ".join(dict.fromkeys(m.display for m in orders)),
                            "evidence": [m.ref for m in orders]}
    if all(v is not None for v in values):
        fact["value"] = round(sum(values), 6)
    return fact


def _below_low(observation: ObservationFact, units: Units) -> bool:
    """The value is under the low limit of one of its reference ranges."""
    if observation.value is None or observation.comparator not in (None, "<", "<="):
        return False  # ">5" or "ad 5" is not known to be below anything
    return any(observation.value < limit for limit in _lows(observation, units))


def _lows(observation: ObservationFact, units: Units) -> Iterator[float]:
    """The low limits of its reference ranges in the value's unit (a limit without a unit is in
    the value's unit; one that cannot be converted is not compared)."""
    for low, unit in observation.lows:
        if unit is None:
            yield low
        elif observation.unit is not None:
            limit = units.convert(low, unit, observation.unit, observation.vs)
            if limit is not None:
                yield limit


def _low_percent(observation: ObservationFact, units: Units) -> dict[str, Any]:
    """The value as a percentage of the low limit of its first reference range that has a usable
    one, as bounds like the value's own ("<0.1 ng/mL" is at most that share); nothing when no
    low can be read."""
    limit = next((low for low in _lows(observation, units) if low), None)
    if observation.value is None or limit is None:
        return {}
    bounds = _bounds(observation.value / limit * 100, observation.comparator)
    return {f"low_percent_{k}": round(v, 6) if isinstance(v, float) else v for k, v in bounds.items()}


def _same_day(facts: PatientFacts, spec: dict[str, Any], chosen: ObservationFact, units: Units,
              warnings: list[Problem]) -> dict[str, Any]:
    """The highest observation of `same_day_in` drawn the day the picked one was (a fasting glucose
    beside a C-peptide), as bounds in `same_day_unit`, and cited; nothing when there is none."""
    if "same_day_in" not in spec or chosen.date is None:
        return {}
    drawn = [o for o in facts.observations_in(set(spec["same_day_in"]), set()) if o.date == chosen.date]
    valued = _valued(drawn, spec["same_day_unit"], units, warnings)
    if not valued:
        return {}
    value, highest, bounds = _extreme(valued, "max")
    return {**{f"same_day_{k}": v for k, v in bounds.items()}, "evidence": [highest.ref]}


def _about(observation: ObservationFact, units: Units, *, value: float | None = None, count: int,
           spread: int | None = None) -> dict[str, Any]:
    fact: dict[str, Any] = {"ref": observation.ref, "count": count, "answers": observation.answers,
                            "interpretation": observation.interpretation,
                            "below_low": _below_low(observation, units),
                            "value_texts": observation.value_texts, "method_texts": observation.method_texts,
                            "display": _display(observation, value), **_low_percent(observation, units)}
    if value is not None:
        fact["value"] = value
    if spread is not None:
        fact["spread_days"] = spread
    if observation.date is not None:
        fact["date"] = observation.date.isoformat()
    return fact


def _display(observation: ObservationFact, value: float | None) -> str:
    when = f" on {observation.date.isoformat()}" if observation.date else ""
    method = f" by {observation.method}" if observation.method else ""
    if observation.value is not None:
        shown = f"{observation.comparator or ''}{observation.value:g} {observation.unit or ''}".rstrip()
        return f"{observation.display} {shown}" + method + when
    if observation.value_text:
        return f"{observation.display}: {observation.value_text}" + method + when
    return observation.display + method + when


def _medication_classes(facts: PatientFacts, spec: Derived, anchors: dict[str, dt.date | None], units: Units,
                        warnings: list[Problem]) -> dict[str, Any]:
    statuses, routes = set(spec.spec.get("status", ())), set(spec.spec.get("route", ()))
    members: list[MedicationFact] = [
        m for m in facts.medications
        if m.history and (not statuses or m.status in statuses) and (not routes or m.route in routes)
        and _within(m.start, m.end, spec.spec, anchors)
    ]
    covered = [c for c in spec.spec["classes"] if any(m.classes.get(c) for m in members)]
    evidence = [m.ref for m in members if any(m.classes.get(c) for c in covered)]
    return {"count": len(covered), "display": ", ".join(covered) or "none", "evidence": evidence}


def _conditions_count(facts: PatientFacts, spec: Derived, anchors: dict[str, dt.date | None], units: Units,
                      warnings: list[Problem]) -> dict[str, Any]:
    wanted = set(spec.spec["in"])
    members = [c for c in facts.conditions if c.active and wanted.intersection(c.vs)]
    return {"count": len(members), "display": "; ".join(c.display for c in members) or "none",
            "evidence": [c.ref for c in members]}


def _doses_per_day(facts: PatientFacts, spec: Derived, anchors: dict[str, dt.date | None], units: Units,
                   warnings: list[Problem]) -> dict[str, Any] | None:
    """Administrations a day of the history requests of the classes (route, delivery) active
    together, on the days one of them starts: `value` the sum of the first set reaching `at_least`
    (else the highest sum), `started_days` the days from that set's earliest start to the anchor
    (the order's date, else the as-of date), `untimed` the requests whose timing does not tell or
    that have no start. No fact without such a request."""
    wanted = spec.spec
    anchor = anchors[wanted["before"]] or anchors["as-of"]
    members = [m for m in facts.medications if m.history and any(m.classes.get(c) for c in wanted["class"])
               and ("route" not in wanted or (m.route or "unknown") in wanted["route"])
               and ("delivery" not in wanted or m.delivery in wanted["delivery"])
               and (m.start is None or anchor is None or m.start <= anchor)]
    if not members or anchor is None:
        return None
    timed = [m for m in members if m.start is not None and m.doses_per_day is not None]
    highest = 0.0
    started: dt.date | None = None
    regimen: list[MedicationFact] = []
    reached = False
    for day in sorted({m.start for m in timed if m.start is not None}):
        active = [m for m in timed if m.start is not None and m.start <= day <= (m.end or m.start)]
        total = sum(m.doses_per_day or 0.0 for m in active)
        if reached or (total <= highest and regimen):
            continue
        # The first set reaching `at_least`, else the first reaching the highest sum.
        highest, regimen = max(highest, total), active
        started = min(m.start for m in active if m.start is not None)
        reached = total >= wanted["at_least"]
    fact: dict[str, Any] = {"value": round(highest, 6), "count": len(members),
                            "untimed": len(members) - len(timed),
                            "display": "; ".join(dict.fromkeys(m.display for m in regimen or members)),
                            "evidence": [m.ref for m in regimen or members]}
    if started is not None:
        fact["started_days"] = (anchor - started).days
        fact["date"] = started.isoformat()
    return fact


def _pregnancy(facts: PatientFacts, spec: Derived, anchors: dict[str, dt.date | None], units: Units,
               warnings: list[Problem]) -> dict[str, Any]:
    """The pregnancy context and gestational age at the as-of date (cds/terminology/pregnancy.py)."""
    return pregnancy(facts.conditions, facts.observations_in(set(spec.spec["status_observations"]), set()),
                     facts.observations_in(set(spec.spec.get("gestational_age", ())), set()),
                     facts.patient.as_of, spec.spec, units, warnings)


def _dated_condition(facts: PatientFacts, spec: Derived, anchors: dict[str, dt.date | None], units: Units,
                     warnings: list[Problem]) -> dict[str, Any] | None:
    """Conditions of the sets read by their date (onset, else recordedDate): within the window
    before the as-of date when given, and with no condition of `not_followed_by` dated on or after
    them; or, with `undated`, those with no date. No fact when none is found (`none:` then holds)."""
    read = spec.spec
    wanted, ends = set(read["in"]), set(read.get("not_followed_by", ()))
    as_of = facts.patient.as_of
    end_days = [c.date for c in facts.conditions if ends and c.verified and c.date is not None and ends & set(c.vs)]
    found = []
    for condition in facts.conditions:
        counts = condition.verified if read.get("any_status") else condition.active
        if not counts or not wanted & set(condition.vs):
            continue
        if read.get("undated"):
            if condition.date is None:
                found.append(condition)
            continue
        if condition.date is None or (
                "within_days" in read and not 0 <= (as_of - condition.date).days <= read["within_days"]):
            continue
        if any(end >= condition.date for end in end_days):
            continue
        found.append(condition)
    if not found:
        return None
    shown = [c.display + (f" on {c.date.isoformat()}" if c.date else "") for c in found]
    return {"count": len(found), "display": "; ".join(dict.fromkeys(shown)), "ref": found[0].ref,
            "evidence": [c.ref for c in found[1:]]}


_COMPUTE = {
    "observation": _observation,
    "observation_ratio": _observation_ratio,
    "medication_classes": _medication_classes,
    "conditions_count": _conditions_count,
    "doses_per_day": _doses_per_day,
    "pregnancy": _pregnancy,
    "dated_condition": _dated_condition,
}
