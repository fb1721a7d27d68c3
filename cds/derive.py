"""Derived facts: what a condition reads that is computed over many entries of the record.

A measurement picked in a window (the most recent, the lowest, the highest), a count of
observations, of drug classes in the medication history or of active conditions: durable-rules
does not aggregate, so each distinct one (cds/conditions.py `Derived`) is computed here once per
evaluation and asserted as one fact that the rules compare.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from .conditions import Derived
from .facts import MedicationFact, ObservationFact, PatientFacts
from .fhir.errors import Problem
from .terminology.units import Units
from .texts import phrase_flag


def derived_facts(facts: PatientFacts, therapy: str, specs: Iterable[Derived], units: Units,
                  warnings: list[Problem]) -> list[dict[str, Any]]:
    """One fact per spec that found something (a count is asserted even when 0)."""
    anchors = {"as-of": facts.patient.as_of, "order": facts.order_date(therapy)}
    found: list[dict[str, Any]] = []
    for spec in specs:
        fact = _COMPUTE[spec.kind](facts, spec, anchors, units, warnings)
        if fact is not None:
            found.append({"t": "derived", "key": spec.key, **fact})
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


# Requests that never stood as treatment do not mark its start (a draft is an order, not history).
_NOT_GIVEN = {"cancelled", "entered-in-error", "draft"}


def first_request(facts: PatientFacts, drug_class: str) -> dt.date | None:
    """The start of the first request of a drug class in the medication history (not the order):
    what came before it is pretreatment."""
    starts = [m.start for m in facts.medications
              if not m.order and m.classes.get(drug_class) and m.start and m.status not in _NOT_GIVEN]
    return min(starts) if starts else None


def _observation(facts: PatientFacts, spec: Derived, anchors: dict[str, dt.date | None], units: Units,
                 warnings: list[Problem]) -> dict[str, Any] | None:
    wanted = set(spec.spec.get("in", ()))
    named = {phrase_flag(p) for p in spec.spec.get("text", ())}
    if spec.spec.get("before") == "first-request":
        # A baseline: on or before the day the first request of the class started.
        anchor = first_request(facts, spec.spec["first_request"])
        if anchor is None:
            return None
        anchors = {**anchors, "first-request": anchor}
        # No within_days: any time on or before that day (a pretreatment level does not expire).
        window = {"within_days": spec.spec.get("within_days", (anchor - dt.date.min).days),
                  "before": "first-request"}
    else:
        window = spec.spec
    allowed = set(spec.spec.get("units", ()))
    matching = [o for o in facts.observations
                if (wanted.intersection(o.vs) or named.intersection(o.texts)) and (not allowed or o.unit in allowed)]
    candidates = [o for o in matching if _within(o.date, o.date, window, anchors)]
    unit = spec.spec.get("unit")
    if unit is not None:
        valued = _valued(candidates, unit, units, warnings)
        if not valued:
            return None
        if "loss_days" in spec.spec:
            return _loss(valued, _valued(matching, unit, units, warnings), spec.spec["loss_days"])
        pick = spec.spec["pick"]
        if pick == "latest":
            value, chosen = max(valued, key=lambda item: item[1].date or dt.date.min)
        else:
            value, chosen = (min if pick == "min" else max)(valued, key=lambda item: item[0])
        fact = _about(chosen, value=round(value, 6), count=len(valued), spread=_spread([o for _, o in valued]))
        if "baseline_class" in spec.spec:
            fact.update(_change(facts, spec.spec, value, chosen, wanted, named, allowed, units, warnings))
        return fact
    if spec.spec.get("coded"):
        candidates = [o for o in candidates if o.coded]
    if not candidates:
        # No fact: `none: {observation: ...}` then holds (no observation in the window).
        return None
    chosen = max(candidates, key=lambda o: o.date or dt.date.min)
    return _about(chosen, count=len(candidates), spread=_spread(candidates))


def _valued(observations: list[ObservationFact], unit: str, units: Units,
            warnings: list[Problem]) -> list[tuple[float, ObservationFact]]:
    """Each observation's value in `unit`; one that cannot be converted is left out, with a warning."""
    valued: list[tuple[float, ObservationFact]] = []
    for observation in observations:
        if observation.value is None:
            continue
        value = units.convert(observation.value, observation.unit, unit, observation.vs)
        if value is None:
            problem = Problem(source=observation.ref, element="Observation.valueQuantity", severity="warning",
                              message=f"unit {observation.unit or 'missing'} cannot be compared with {unit}: "
                                      "value not used")
            if problem not in warnings:
                warnings.append(problem)
            continue
        valued.append((value, observation))
    return valued


def _loss(valued: list[tuple[float, ObservationFact]], every: list[tuple[float, ObservationFact]],
          days: int) -> dict[str, Any] | None:
    """The most recent value against the highest of the `days` before its date: the percentage
    lost (negative for a gain). None when the latest is undated or nothing precedes it."""
    value, latest = max(valued, key=lambda item: item[1].date or dt.date.min)
    if latest.date is None:
        return None
    before = [(v, o) for v, o in every
              if o.date is not None and 0 < (latest.date - o.date).days <= days]
    if not before:
        return None
    high, highest = max(before, key=lambda item: item[0])
    if high <= 0:
        return None
    loss = (high - value) / high * 100
    fact = _about(latest, value=round(loss, 6), count=len(valued))
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
    if anchor is None or chosen.date is None or chosen.date <= anchor:
        return {}
    before = [o for o in facts.observations
              if (wanted.intersection(o.vs) or named.intersection(o.texts)) and o.date is not None
              and o.date <= anchor and (not allowed or o.unit in allowed)]
    valued = _valued(before, spec["unit"], units, warnings)
    if not valued:
        return {}
    baseline, observation = max(valued, key=lambda item: item[1].date or dt.date.min)
    return {"baseline": round(baseline, 6), "change": round(value - baseline, 6),
            "evidence": [observation.ref]}


def _about(observation: ObservationFact, *, value: float | None = None, count: int,
           spread: int | None = None) -> dict[str, Any]:
    fact: dict[str, Any] = {"ref": observation.ref, "count": count, "answers": observation.answers,
                            "interpretation": observation.interpretation,
                            "value_texts": observation.value_texts, "method_texts": observation.method_texts,
                            "display": _display(observation, value)}
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
        return f"{observation.display} {observation.value:g} {observation.unit or ''}".rstrip() + method + when
    if observation.value_text:
        return f"{observation.display}: {observation.value_text}" + method + when
    return observation.display + method + when


def _medication_classes(facts: PatientFacts, spec: Derived, anchors: dict[str, dt.date | None], units: Units,
                        warnings: list[Problem]) -> dict[str, Any]:
    statuses = set(spec.spec.get("status", ()))
    members: list[MedicationFact] = [
        m for m in facts.medications
        if not m.order and (not statuses or m.status in statuses) and _within(m.start, m.end, spec.spec, anchors)
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


_COMPUTE = {
    "observation": _observation,
    "medication_classes": _medication_classes,
    "conditions_count": _conditions_count,
}
