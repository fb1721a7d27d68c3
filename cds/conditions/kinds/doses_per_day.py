"""`doses_per_day`: administrations a day of the history requests active together (injections a day)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import Field

from .. import window
from ..kind import Flag, Names, Spec, TermKind, Whole, register
from ..nodes import Derived, Term
from ..patterns import Pattern, derived
from ..scope import Scope, drug_classes, names, only_true, whole
from ..words import Words, either
from .medication import DELIVERY

if TYPE_CHECKING:
    from ...facts import MedicationFact, PatientFacts
    from ...fhir.errors import Problem
    from ...terminology.units import Units


class DosesPerDaySpec(Spec):
    class_: Names = Field(alias="class")
    route: Names | None = None
    delivery: Names | None = None
    at_least: Whole
    started_days_before: Whole | None = None
    before: Names | None = None
    untimed: Flag | None = None


@register
class DosesPerDay(TermKind):
    kind = key = "doses_per_day"
    spec = DosesPerDaySpec
    fact = "derived"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        """The highest sum reached, the start of the earliest set reaching `at_least`, the requests
        whose timing does not tell."""
        base: dict[str, Any] = {"class": tuple(drug_classes(spec, "class", scope, "doses_per_day")),
                                "at_least": whole(spec, "at_least", scope, "doses_per_day")}
        if "route" in spec:
            base["route"] = tuple(names(spec, "route", set(scope.terminology.routes.classes), scope, "doses_per_day"))
        if "delivery" in spec:
            base["delivery"] = tuple(names(spec, "delivery", DELIVERY, scope, "doses_per_day"))
        base["before"] = names(spec, "before", window.ANCHORS, scope, "doses_per_day")[0] if "before" in spec else "as-of"
        parsed: dict[str, Any] = {}
        if "started_days_before" in spec:
            parsed["started_days_before"] = whole(spec, "started_days_before", scope, "doses_per_day")
        if "untimed" in spec:
            parsed["untimed"] = only_true(spec, "untimed", scope, "doses_per_day")
        return Term("doses_per_day", {**base, **parsed}, scope.derive("doses_per_day", base))

    def pattern(self, term: Term, therapy: str) -> Pattern:
        parts: list[Pattern] = []
        if term.spec.get("untimed"):
            parts.append({"$gte": {"untimed": 1}})
        else:
            parts.append({"$gte": {"value": term.spec["at_least"]}})
        if "started_days_before" in term.spec:
            parts.append({"$gte": {"started_days": term.spec["started_days_before"]}})
        return derived(term.derived, therapy, *parts)

    def words(self, spec: dict[str, Any]) -> Words:
        route = f" by the {either(spec['route'])} route" if "route" in spec else ""
        given = f", given {either(spec['delivery'])}" if "delivery" in spec else ""
        anchor = "the order's date (without an order, the as-of date)" if spec["before"] == "order" else "the as-of date"
        which = f"the medication history of drug class {either(spec['class'])}{route}{given}"
        if spec.get("untimed"):
            return Words(text=f"a request of {which} does not tell its administrations a day")
        text = f"requests of {which} active together add up to {spec['at_least']} or more administrations a day"
        if "started_days_before" in spec:
            text += (f", the earliest of such a set starting {spec['started_days_before']} days or more before "
                     f"{anchor}")
        return Words(text=text)

    def drug_classes(self, spec: dict[str, Any]) -> list[str]:
        return list(spec["class"])

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        """Administrations a day of the history requests of the classes (route, delivery) active
        together, on the days one of them starts: `value` the sum of the first set reaching
        `at_least` (else the highest sum), `started_days` the days from that set's earliest start to
        the anchor (the order's date, else the as-of date), `untimed` the requests whose timing does
        not tell or that have no start. No fact without such a request."""
        wanted = derived.spec
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
