"""`medication_days`: the days the medication history of some drug classes covered in a window,
plus the planned days of this therapy's orders (a cumulative exposure: twelve weeks of a drug in a
year, counting the course the order adds)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ...spans import within
from ..kind import Comparison, Flag, Names, Spec, TermKind, Whole, register
from ..nodes import Derived, Term
from ..patterns import Pattern, compared, derived
from ..scope import Scope, compare, drug_classes, only_true, whole
from ..words import Words, compared as said, either

if TYPE_CHECKING:
    from ...facts import MedicationFact, PatientFacts
    from ...fhir.errors import Problem
    from ...terminology.units import Units


class MedicationDaysSpec(Spec):
    class_: Names = Field(alias="class")
    within_days: Whole
    with_order: Flag | None = None
    days: Comparison


@register
class MedicationDays(TermKind):
    kind = key = "medication_days"
    spec = MedicationDaysSpec
    fact = "derived"
    per_therapy = True

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        base: dict[str, Any] = {"class": tuple(drug_classes(spec, "class", scope, "medication_days")),
                                "within_days": whole(spec, "within_days", scope, "medication_days")}
        if "with_order" in spec:
            base["with_order"] = only_true(spec, "with_order", scope, "medication_days")
        key = scope.derive("medication_days", base)
        return Term("medication_days", {**base, "value": compare(spec["days"], scope, "medication_days.days")[0]}, key)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        # No `value`: an order of this therapy states no end.
        return derived(term.derived, therapy, *compared("value", term.spec["value"]))

    def words(self, spec: dict[str, Any]) -> Words:
        plus = " plus the planned days of this therapy's orders" if spec.get("with_order") else ""
        told = "cannot be told" if spec["value"].unknown else f"is {said(spec['value'], 'days')}"
        return Words(text=f"the days covered by requests of drug class {either(spec['class'])} in the "
                          f"{spec['within_days']} days before the as-of date{plus} {told}")

    def drug_classes(self, spec: dict[str, Any]) -> list[str]:
        return list(spec["class"])

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        """Covered days: each history request from its start to its end (an open one to the as-of
        date), clipped to the window, overlaps counted once; with `with_order`, plus the largest
        planned days of this therapy's orders of the classes (none stated: no `value`)."""
        classes, as_of = derived.spec["class"], anchors["as-of"]
        if as_of is None:
            return None
        first = as_of - dt.timedelta(days=derived.spec["within_days"])
        history: list[MedicationFact] = [m for m in facts.medications
                                         if m.history and m.start is not None and any(m.classes.get(c) for c in classes)]
        counted = [m for m in history if within(m.start, m.end or as_of, as_of, derived.spec["within_days"])]
        spans = sorted((max(m.start, first), min(m.end or as_of, as_of)) for m in counted if m.start is not None)
        covered, reach = 0, first
        for start, end in spans:
            start = max(start, reach)
            if end > start:
                covered, reach = covered + (end - start).days, end
        orders = [m for m in facts.medications if therapy in m.order_for and any(m.classes.get(c) for c in classes)]
        fact: dict[str, Any] = {"display": "; ".join(dict.fromkeys(m.display for m in [*counted, *orders])) or "none",
                                "evidence": [m.ref for m in [*counted, *orders]]}
        planned = [m.planned_days for m in orders] if derived.spec.get("with_order") else []
        if all(p is not None for p in planned):
            fact["value"] = covered + max((p for p in planned if p is not None), default=0)
        return fact
