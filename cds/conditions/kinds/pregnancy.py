"""`pregnancy`: pregnant at the as-of date, and the gestational age (criteria README "Pregnancy
context"). The windows, the pregnancy-status observation and the end codes are terminology.yaml
`pregnancy`; a page gives its pregnancy codes (`in`), may give its own end codes (`ended_by`) and
the observations that state gestational age (`gestational_age`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ...terminology.pregnancy import pregnancy, settings as pregnancy_settings
from ..kind import Comparison, Names, Reference, Spec, TermKind, register
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
    reference = (
        Reference(
            '`pregnancy: {in: [valueset, ...], ended_by?: [valueset, ...], gestational_age?: [LOINC set], '
            'weeks?: {lt: X}}`',
            'pregnant at the as-of date (criteria README "Pregnancy context"): an active condition in the '
            "page's sets (`in`), dated (onset, else `recordedDate`) within `terminology.yaml` "
            '`pregnancy.condition_days` (300) before the as-of date and after the last delivery or pregnancy-end '
            'code (`pregnancy.ended_by`, `pregnancy-end`: O80, O82, Z37, Z39, O00-O08, any clinical status; a '
            "page's own with `ended_by`; an end code dated the same day ends it; an end code never makes the "
            'context); or the most recent `pregnancy.status_observations` Observation (82810-3) within '
            '`observation_days` (30), after that end, answering a `pregnant_answers` code (77386006) or saying a '
            '`pregnant_words` phrase and no `not_pregnant_words` one (results in words: "Not pregnant" is not '
            'pregnant). An undated code makes no context (a window cannot be told). With `weeks`, the '
            'gestational age at the as-of date compares (`lt`, `le`, `gt`, `ge`, `eq` or `unknown`): the most '
            'recent `gestational_age` Observation (wk, or d divided by 7) within `gestational_age.within_days` '
            '(280), plus the days since; else the most recent active code stating the weeks (`week_codes`: '
            'Z3A.NN the weeks; Z3A.01 under 8 and Z3A.49 over 42, open ranges; Z3A.00 none), plus the days '
            'since; a projection of `over_weeks` (45) or more, or a source dated on or before an end code, is '
            'not used. A range is compared through its bounds, so a cut-off it straddles holds neither way '
            '(write `unknown` in `otherwise`). `weeks` without `in` asks the gestational age alone. Reasons may '
            'name `{weeks}` ("33 3/7") and `{display}` (the sources and their dates)',
            '`{pregnancy: {in: [pregnancy-icd, pregnant-state-vsac]}}` (S9355: pregnant now); `{pregnancy: {in: '
            '[s9349-pregnancy], weeks: {ge: 37}, gestational_age: [gestational-age]}}`; `none: {pregnancy: {in: '
            '[...]}}`'),
    )

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
