"""`observation_ratio`: the ratio of two observations measured on the same day (BUN / creatinine)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .. import window
from ..kind import Anchor, Comparison, Mapping, Spec, TermKind, Whole, register
from ..measured import display, read_values
from ..nodes import Derived, Term
from ..patterns import Pattern, compared, derived
from ..scope import Scope, check_keys, compare, unit, valuesets
from ..words import Words, compared as said

if TYPE_CHECKING:
    from ...facts import ObservationFact, PatientFacts
    from ...fhir.errors import Problem
    from ...terminology.units import Units

_PARTS = ("numerator", "denominator")


class ObservationRatioSpec(Spec):
    numerator: Mapping
    denominator: Mapping
    within_days: Whole
    before: Anchor | None = None
    value: Comparison | None = None


@register
class ObservationRatio(TermKind):
    kind = key = "observation_ratio"
    spec = ObservationRatioSpec
    fact = "derived"
    reads = frozenset({"Observation"})

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        """The latest day within the window on which both were measured."""
        base: dict[str, Any] = {}
        for part in _PARTS:
            where = f"observation_ratio.{part}"
            read = check_keys(spec[part], {"in", "unit"}, scope, where, {"in", "unit"})
            base[part] = tuple(valuesets(read, "in", scope, where))
            base[f"{part}_unit"] = unit(read, scope, where)
        window.parse(spec, base, scope, "observation_ratio", window.DERIVED_ANCHORS)
        parsed: dict[str, Any] = {}
        if "value" in spec:
            parsed["value"] = compare(spec["value"], scope, "observation_ratio.value")[0]
        return Term("observation_ratio", {**base, **parsed}, scope.derive("observation_ratio", base))

    def pattern(self, term: Term, therapy: str) -> Pattern:
        # A ratio fact with no `value`: it cannot be told.
        return derived(term.derived, therapy, *(compared("value", term.spec["value"]) if "value" in term.spec else []))

    def words(self, spec: dict[str, Any]) -> Words:
        text = (f"the ratio of two observations measured on the same day (the latest such day{window.words(spec)}, "
                f"numerator in {spec['numerator_unit']}, denominator in {spec['denominator_unit']})")
        if "value" in spec:
            text += f" is {said(spec['value'])}"
        # One list (numerator sets first): a negated term shows no children.
        return Words(text=text + "; numerator, then denominator, coded in",
                     valuesets=[*spec["numerator"], *spec["denominator"]])

    def valuesets(self, spec: dict[str, Any]) -> list[str]:
        return [*spec["numerator"], *spec["denominator"]]

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        """Numerator / denominator from the latest day in the window on which both were measured
        (on that day the last of each in the record); no fact when no day has both."""
        spec = derived.spec
        sides: list[dict[dt.date, tuple[float, ObservationFact]]] = []
        for part in _PARTS:
            candidates = [o for o in facts.observations_in(set(spec[part]), set()) if o.date is not None
                          and window.holds(o.date, o.date, spec, anchors)]
            by_day: dict[dt.date, tuple[float, ObservationFact]] = {}
            for value, observation in read_values(candidates, spec[f"{part}_unit"], units, warnings):
                if observation.comparator is not None:
                    continue  # a bound ("<0.2 mg/dL") gives no ratio
                by_day[observation.date] = (value, observation)  # type: ignore[index]
            sides.append(by_day)
        days = sorted(set(sides[0]).intersection(sides[1]), reverse=True)
        day = next((d for d in days if sides[1][d][0] != 0), None)
        if day is None:
            return None
        (top, top_obs), (bottom, bottom_obs) = sides[0][day], sides[1][day]
        ratio = top / bottom
        shown = (f"{display(top_obs, None)} / {display(bottom_obs, None).removesuffix(f' on {day.isoformat()}')}: "
                 f"ratio {ratio:.1f}")
        return {"value": round(ratio, 6), "count": 1, "display": shown, "date": day.isoformat(),
                "evidence": [top_obs.ref, bottom_obs.ref]}
