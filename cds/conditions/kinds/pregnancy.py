"""`pregnancy`: pregnant at the as-of date, and the gestational age (criteria README "Pregnancy
context"). The windows, the pregnancy-status observation and the end codes are terminology.yaml
`pregnancy`; a page gives its pregnancy codes (`in`), may give its own end codes (`ended_by`) and
the observations that state gestational age (`gestational_age`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ...terminology.pregnancy import pregnancy, settings as pregnancy_settings
from ..kind import Comparison, Names, Spec, TermKind, register
from ..nodes import Derived, Term
from ..patterns import Pattern, bounded, derived
from ..scope import Scope, compare, known_sets, valuesets
from ..words import Words, compared as said

if TYPE_CHECKING:
    from ...facts import PatientFacts
    from ...fhir.errors import Problem
    from ...terminology.units import Units


class PregnancySpec(Spec):
    in_: Names | None = Field(default=None, alias="in")
    ended_by: Names | None = None
    gestational_age: Names | None = None
    weeks: Comparison | None = None


@register
class Pregnancy(TermKind):
    kind = key = "pregnancy"
    spec = PregnancySpec
    fact = "derived"
    reads = frozenset({"Observation"})

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        model = scope.terminology.pregnancy
        if model is None:
            raise scope.error("pregnancy: terminology.yaml has no pregnancy section")
        if "in" not in spec and "weeks" not in spec:
            raise scope.error("pregnancy: needs in (the page's pregnancy codes) or weeks")
        if "weeks" in spec and "gestational_age" not in spec:
            raise scope.error("pregnancy.weeks: needs gestational_age (the page's observations)")
        base = pregnancy_settings(
            model, valuesets(spec, "in", scope, "pregnancy") if "in" in spec else (),
            valuesets(spec, "ended_by", scope, "pregnancy") if "ended_by" in spec else
            known_sets(model.ended_by, scope, "pregnancy.ended_by"),
            valuesets(spec, "gestational_age", scope, "pregnancy") if "gestational_age" in spec else ())
        known_sets([*model.status_observations, *model.pregnant_answers], scope, "pregnancy")
        parsed: dict[str, Any] = {}
        if "in" in spec:
            parsed["pregnant"] = True
        if "weeks" in spec:
            parsed["weeks"] = compare(spec["weeks"], scope, "pregnancy.weeks")[0]
        return Term("pregnancy", {**base, **parsed}, scope.derive("pregnancy", base))

    def pattern(self, term: Term, therapy: str) -> Pattern:
        """Pregnant at the as-of date, and the gestational age compared through its bounds, as a
        measured value is (a range a cut-off straddles decides neither way)."""
        parts: list[Pattern] = [{"pregnant": True}] if term.spec.get("pregnant") else []
        if "weeks" in term.spec:
            parts += bounded(term.spec["weeks"])
        return derived(term.derived, therapy, *parts)

    def words(self, spec: dict[str, Any]) -> Words:
        children = []
        if "weeks" in spec:
            children.append(Words(text=f"gestational age at the as-of date {said(spec['weeks'], 'weeks')} "
                                       "(from the most recent of these observations, else a code stating the weeks)",
                                  valuesets=list(spec["gestational_age"])))
        if not spec.get("pregnant"):
            return children[0]
        text = (f"the patient is pregnant at the as-of date: an active condition dated within "
                f"{spec['condition_days']} days, not followed by a delivery or pregnancy-end code, or the most "
                f"recent pregnancy-status observation within {spec['observation_days']} days saying pregnant; coded in")
        return Words(text=text, valuesets=list(spec["in"]),
                     children=[Words(text="ended by", valuesets=list(spec["ended_by"])), *children])

    def result_words(self, spec: dict[str, Any]) -> list[str]:
        return list(spec.get("result_words", ()))

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        spec = derived.spec
        return pregnancy(facts.conditions, facts.observations_in(set(spec["status_observations"]), set()),
                         facts.observations_in(set(spec.get("gestational_age", ())), set()),
                         facts.patient.as_of, spec, units, warnings)
