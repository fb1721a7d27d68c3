"""`orders_total`: a measure summed over this therapy's orders under evaluation (several bags a day)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..kind import Comparison, Names, Spec, TermKind, register
from ..nodes import Derived, Term
from ..patterns import Pattern, compared, derived
from ..scope import Scope, compare, drug_classes
from ..words import Words, compared as said, either
from .medication import MEASURES

if TYPE_CHECKING:
    from ...facts import PatientFacts
    from ...fhir.errors import Problem
    from ...terminology.units import Units

# Order measures that add up over a therapy's orders.
SUMMED = ("daily_volume_ml", "infused_day_volume_ml", "daily_dose_mg")


class OrdersTotalSpec(Spec):
    class_: Names | None = Field(default=None, alias="class")
    daily_volume_ml: Comparison | None = None
    infused_day_volume_ml: Comparison | None = None
    daily_dose_mg: Comparison | None = None


@register
class OrdersTotal(TermKind):
    kind = key = "orders_total"
    spec = OrdersTotalSpec
    fact = "derived"
    per_therapy = True

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        measures = [m for m in SUMMED if m in spec]
        if len(measures) != 1:
            raise scope.error(f"orders_total: compares exactly one of {', '.join(SUMMED)}")
        base: dict[str, Any] = {"measure": measures[0]}
        if "class" in spec:
            base["class"] = tuple(drug_classes(spec, "class", scope, "orders_total"))
        key = scope.derive("orders_total", base)
        return Term("orders_total", {**base, "value": compare(spec[measures[0]], scope,
                                                               f"orders_total.{measures[0]}")[0]}, key)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        # No `value`: one of the orders does not tell it.
        return derived(term.derived, therapy, *compared("value", term.spec["value"]))

    def words(self, spec: dict[str, Any]) -> Words:
        label, unit = MEASURES[spec["measure"]]
        of = f" of drug class {either(spec['class'])}" if "class" in spec else ""
        told = "cannot be told" if spec["value"].unknown else f"is {said(spec['value'], unit)}"
        return Words(text=f"the {label} summed over this therapy's orders under evaluation{of} {told}")

    def drug_classes(self, spec: dict[str, Any]) -> list[str]:
        return list(spec.get("class", ()))

    def reads_order_drug(self, spec: dict[str, Any]) -> bool:
        return "class" in spec

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        """No `value` when one of the orders does not tell it; no fact when there is no such order."""
        classes = derived.spec.get("class")
        orders = [m for m in facts.medications if therapy in m.order_for
                  and (not classes or any(m.classes.get(c) for c in classes))]
        if not orders:
            return None
        values = [getattr(m, derived.spec["measure"]) for m in orders]
        fact: dict[str, Any] = {"count": len(orders), "display": "; ".join(dict.fromkeys(m.display for m in orders)),
                                "evidence": [m.ref for m in orders]}
        if all(v is not None for v in values):
            fact["value"] = round(sum(values), 6)
        return fact
