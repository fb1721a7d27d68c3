"""`conditions_count`: at least N active conditions in the sets."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..kind import Names, Spec, TermKind, Whole, register
from ..nodes import Derived, Term
from ..patterns import Pattern, derived
from ..scope import Scope, valuesets, whole
from ..words import Words

if TYPE_CHECKING:
    from ...facts import PatientFacts
    from ...fhir.errors import Problem
    from ...terminology.units import Units


class ConditionsCountSpec(Spec):
    in_: Names = Field(alias="in")
    at_least: Whole


@register
class ConditionsCount(TermKind):
    kind = key = "conditions_count"
    spec = ConditionsCountSpec
    fact = "derived"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        base = {"in": tuple(valuesets(spec, "in", scope, "conditions_count"))}
        key = scope.derive("conditions_count", base)
        return Term("conditions_count", {**base, "at_least": whole(spec, "at_least", scope, "conditions_count")}, key)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        return derived(term.derived, therapy, {"$gte": {"count": term.spec["at_least"]}})

    def words(self, spec: dict[str, Any]) -> Words:
        return Words(text=f"at least {spec['at_least']} active conditions coded in", valuesets=list(spec["in"]))

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        wanted = set(derived.spec["in"])
        members = [c for c in facts.conditions if c.active and wanted.intersection(c.vs)]
        return {"count": len(members), "display": "; ".join(c.display for c in members) or "none",
                "evidence": [c.ref for c in members]}
