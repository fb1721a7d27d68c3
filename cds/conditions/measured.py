"""Reading measured values: an observation's value in a unit, its bounds when written with a
comparator, its reference range, the evidence a term cites, and the display a reason shows.
Shared by the terms that derive a fact from observations (cds/conditions/kinds/observation*.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..spans import days_ago

if TYPE_CHECKING:
    from ..facts import ObservationFact, PatientFacts
    from ..fhir.errors import Problem
    from ..terminology.units import Units


def first_request(facts: PatientFacts, drug_class: str, excluded: tuple[str, ...] = ()) -> dt.date | None:
    """The start of the first request of a drug class (and of none of `excluded`) in the
    medication history (not the order): what came before it is pretreatment."""
    starts = [m.start for m in facts.medications
              if m.history and m.classes.get(drug_class) and not any(m.classes.get(c) for c in excluded)
              and m.start]
    return min(starts) if starts else None


# A value's bounds (criteria README "Comparators"): `<` or `<=` means at most the number, `>` or
# `>=` at least it; a bound that is open excludes the number itself. A value with no comparator
# is both bounds, closed. The rules compare the bounds (cds/engine/compile.py), so a comparison
# the comparator leaves undecided holds neither way and the criterion falls to `unknown`.
_UPPER = {"<": True, "<=": False}


_LOWER = {">": True, ">=": False}


def value_bounds(value: float, comparator: str | None) -> dict[str, Any]:
    """The bounds a value with its comparator gives (none for `ad`, which bounds nothing)."""
    bounds: dict[str, Any] = {}
    if comparator is None or comparator in _UPPER:
        bounds.update(upper=round(value, 6), upper_open=_UPPER.get(comparator or "", False))
    if comparator is None or comparator in _LOWER:
        bounds.update(lower=round(value, 6), lower_open=_LOWER.get(comparator or "", False))
    return bounds


def pick_extreme(valued: list[tuple[float, ObservationFact]],
             pick: str) -> tuple[float, ObservationFact, dict[str, Any]]:
    """The lowest (or highest) of several values, some of them bounds only ("<1 %"): its bounds
    are the lowest of the lower bounds and the lowest of the upper bounds (an absent lower bound
    is minus infinity, an absent upper one plus infinity; "the highest" the other way round).
    The observation shown is the one that bounds it on the side that decides: for the lowest
    the one with the lowest upper bound, for the highest the one with the highest lower bound."""
    each = [(v, o, value_bounds(v, o.comparator)) for v, o in valued]

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


def cite_read(fact: dict[str, Any], observations: list[ObservationFact], how: str | None) -> dict[str, Any]:
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


def flags_of_all(candidates: list[ObservationFact], units: Units) -> dict[str, Any]:
    """Every observation's flags at once ("none is flagged low"): the interpretations of all of
    them and whether any is below its reference range, told by the latest flagged one."""
    flagged = [o for o in candidates if o.interpretation or is_below_low(o, units)]
    chosen = max(flagged or candidates, key=lambda o: o.date or dt.date.min)
    fact = about(chosen, units, count=len(candidates), spread=date_spread(candidates))
    fact["interpretation"] = sorted({code for o in candidates for code in o.interpretation})
    fact["below_low"] = any(is_below_low(o, units) for o in candidates)
    fact["evidence"] = [o.ref for o in flagged if o is not chosen]
    return fact


def read_values(observations: list[ObservationFact], unit: str, units: Units,
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
              if o.date is not None and 0 < days_ago(latest.date, o.date) <= days and o.comparator is None]
    return (value, latest, before) if before else None


def rise_fact(valued: list[tuple[float, ObservationFact]], every: list[tuple[float, ObservationFact]],
              days: int, units: Units, unit: str) -> dict[str, Any] | None:
    """The most recent value minus the lowest of the `days` before its date, in `unit` (negative
    for a fall): a weight gained over days, a creatinine risen from its recent lowest."""
    found = _latest_and_before(valued, every, days)
    if found is None:
        return None
    value, latest, before = found
    low, lowest = min(before, key=lambda item: item[0])
    rise = value - low
    fact = about(latest, units, value=round(rise, 6), count=len(valued))
    fact["display"] = (f"{display(latest, None)}, {round(rise, 2):g} {unit} above the lowest of the {days} days "
                       f"before it, {display(lowest, None)}")
    fact["evidence"] = [lowest.ref]
    return fact


def loss_fact(valued: list[tuple[float, ObservationFact]], every: list[tuple[float, ObservationFact]],
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
    fact = about(latest, units, value=round(loss, 6), count=len(valued))
    fact["display"] = (f"{display(latest, None)}, {loss:.1f} % below the highest of the {days} days "
                       f"before it, {display(highest, None)}")
    fact["evidence"] = [highest.ref]
    return fact


def date_spread(observations: list[ObservationFact]) -> int | None:
    """Days from the first to the last dated observation."""
    dates = [o.date for o in observations if o.date is not None]
    return (max(dates) - min(dates)).days if dates else None


def baseline_change(facts: PatientFacts, spec: dict[str, Any], value: float, chosen: ObservationFact, wanted: set[str],
                    named: set[str], allowed: set[str], units: Units, warnings: list[Problem]) -> dict[str, Any]:
    """The picked value's change from the baseline (the latest value of the same observations on or
    before the start of the first request of the class); nothing when either cannot be told, or the
    picked value is itself from before that start (it would be compared with itself)."""
    anchor = first_request(facts, spec["baseline_class"])
    if anchor is None or chosen.date is None or chosen.date <= anchor or chosen.comparator is not None:
        return {}
    before = [o for o in facts.observations_in(wanted, named) if o.date is not None
              and o.date <= anchor and (not allowed or units.code(o.unit) in allowed)]
    valued = read_values(before, spec["unit"], units, warnings)
    if not valued:
        return {}
    baseline, observation = max(valued, key=lambda item: item[1].date or dt.date.min)
    if observation.comparator is not None:
        return {}
    return {"baseline": round(baseline, 6), "change": round(value - baseline, 6),
            "evidence": [observation.ref]}


def is_below_low(observation: ObservationFact, units: Units) -> bool:
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
    bounds = value_bounds(observation.value / limit * 100, observation.comparator)
    return {f"low_percent_{k}": round(v, 6) if isinstance(v, float) else v for k, v in bounds.items()}


def same_day_fact(facts: PatientFacts, spec: dict[str, Any], chosen: ObservationFact, units: Units,
                  warnings: list[Problem]) -> dict[str, Any]:
    """The highest observation of `same_day_in` drawn the day the picked one was (a fasting glucose
    beside a C-peptide), as bounds in `same_day_unit`, and cited; nothing when there is none."""
    if "same_day_in" not in spec or chosen.date is None:
        return {}
    drawn = [o for o in facts.observations_in(set(spec["same_day_in"]), set()) if o.date == chosen.date]
    valued = read_values(drawn, spec["same_day_unit"], units, warnings)
    if not valued:
        return {}
    value, highest, bounds = pick_extreme(valued, "max")
    return {**{f"same_day_{k}": v for k, v in bounds.items()}, "evidence": [highest.ref]}


def about(observation: ObservationFact, units: Units, *, value: float | None = None, count: int,
           spread: int | None = None) -> dict[str, Any]:
    fact: dict[str, Any] = {"ref": observation.ref, "count": count, "answers": observation.answers,
                            "interpretation": observation.interpretation,
                            "below_low": is_below_low(observation, units),
                            "value_texts": observation.value_texts, "method_texts": observation.method_texts,
                            "display": display(observation, value), **_low_percent(observation, units)}
    if value is not None:
        fact["value"] = value
    if spread is not None:
        fact["spread_days"] = spread
    if observation.date is not None:
        fact["date"] = observation.date.isoformat()
    return fact


def display(observation: ObservationFact, value: float | None) -> str:
    when = f" on {observation.date.isoformat()}" if observation.date else ""
    method = f" by {observation.method}" if observation.method else ""
    if observation.value is not None:
        shown = f"{observation.comparator or ''}{observation.value:g} {observation.unit or ''}".rstrip()
        return f"{observation.display} {shown}" + method + when
    if observation.value_text:
        return f"{observation.display}: {observation.value_text}" + method + when
    return observation.display + method + when

