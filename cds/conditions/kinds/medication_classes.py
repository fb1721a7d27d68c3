"""`medication_classes`: the medication history covers at least N of some drug classes."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .. import window
from ..kind import Anchor, Names, Spec, TermKind, Whole, register
from ..nodes import Derived, Term
from ..patterns import Pattern, derived
from ..scope import Scope, drug_classes, names, whole
from ..words import Words, either
from .medication import STATUSES

if TYPE_CHECKING:
    from ...facts import MedicationFact, PatientFacts
    from ...fhir.errors import Problem
    from ...terminology.units import Units


class MedicationClassesSpec(Spec):
    classes: Names
    at_least: Whole
    status: Names | None = None
    route: Names | None = None
    within_days: Whole | None = None
    before: Anchor | None = None


@register
class MedicationClasses(TermKind):
    kind = key = "medication_classes"
    spec = MedicationClassesSpec
    fact = "derived"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        parsed: dict[str, Any] = {"classes": tuple(drug_classes(spec, "classes", scope, "medication_classes"))}
        if "status" in spec:
            parsed["status"] = tuple(names(spec, "status", STATUSES, scope, "medication_classes"))
        if "route" in spec:
            parsed["route"] = tuple(names(spec, "route", set(scope.terminology.routes.classes), scope, "medication_classes"))
        window.parse(spec, parsed, scope, "medication_classes")
        key = scope.derive("medication_classes", parsed)
        return Term("medication_classes", {**parsed, "at_least": whole(spec, "at_least", scope, "medication_classes")},
                    key)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        return derived(term.derived, therapy, {"$gte": {"count": term.spec["at_least"]}})

    def words(self, spec: dict[str, Any]) -> Words:
        status = f" (status {either(spec['status'])})" if "status" in spec else ""
        status += f" by route {either(spec['route'])}" if "route" in spec else ""
        return Words(text=f"the medication history{status}{window.words(spec)} covers at least {spec['at_least']} "
                          f"of the drug classes {either(spec['classes'])}")

    def drug_classes(self, spec: dict[str, Any]) -> list[str]:
        return list(spec["classes"])

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        statuses, routes = set(derived.spec.get("status", ())), set(derived.spec.get("route", ()))
        members: list[MedicationFact] = [
            m for m in facts.medications
            if m.history and (not statuses or m.status in statuses) and (not routes or m.route in routes)
            and window.holds(m.start, m.end, derived.spec, anchors)
        ]
        covered = [c for c in derived.spec["classes"] if any(m.classes.get(c) for m in members)]
        evidence = [m.ref for m in members if any(m.classes.get(c) for c in covered)]
        return {"count": len(covered), "display": ", ".join(covered) or "none", "evidence": evidence}
