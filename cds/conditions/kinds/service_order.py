"""`service_order`: a ServiceRequest of this therapy under evaluation."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..kind import Comparison, Names, Spec, TermKind, register
from ..nodes import Term
from ..patterns import Pattern, any_item, compared
from ..scope import Scope, compare, valuesets
from ..words import Words, compared as said


class ServiceOrderSpec(Spec):
    in_: Names | None = Field(default=None, alias="in")
    quantity: Comparison | None = None


@register
class ServiceOrder(TermKind):
    kind = key = "service_order"
    spec = ServiceOrderSpec
    fact = "service-order"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        """`in`: its code is in one of the value sets (what the page reads from the code);
        `quantity`: its quantityQuantity compares."""
        parsed: dict[str, Any] = {}
        if "in" in spec:
            parsed["in"] = valuesets(spec, "in", scope, "service_order")
        if "quantity" in spec:
            parsed["quantity"] = compare(spec["quantity"], scope, "service_order.quantity")[0]
        return Term("service_order", parsed)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        parts = [{"t": "service-order"}, any_item("order_for", [therapy])]
        if "in" in term.spec:
            parts.append(any_item("vs", term.spec["in"]))
        if "quantity" in term.spec:
            parts += compared("quantity", term.spec["quantity"])
        return {"$and": parts}

    def words(self, spec: dict[str, Any]) -> Words:
        text = "there is a service request of this therapy (the order under evaluation)"
        if "quantity" in spec:
            text += f" whose quantity is {said(spec['quantity'])}"
        if "in" in spec:
            return Words(text=text + ", coded in", valuesets=list(spec["in"]))
        return Words(text=text)
