"""A condition read by its date and what came after it (written `condition: {..., not_followed_by}`
or `{..., undated: true}`): computed once per evaluation before the rules."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ...spans import within
from ..kind import TermKind, register
from ..nodes import Derived, Term
from ..patterns import Pattern, derived
from ..scope import Scope, valuesets, whole
from ..words import Words
from .condition import ConditionSpec

if TYPE_CHECKING:
    from ...facts import PatientFacts
    from ...fhir.errors import Problem
    from ...terminology.units import Units


@register
class DatedCondition(TermKind):
    kind = "dated_condition"
    key = None
    spec = ConditionSpec
    fact = "derived"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        """Not followed by a condition of some sets dated on or after it (a delivery after a
        preterm labor), within N days when given; or, with `undated: true`, one with neither onset
        nor recordedDate (a windowed criterion is then unknown)."""
        if "in" not in spec or {"text", "not_in"}.intersection(spec):
            raise scope.error("condition: not_followed_by and undated read coded conditions: "
                              "give in (value sets), no text or not_in")
        parsed: dict[str, Any] = {"in": tuple(valuesets(spec, "in", scope, "condition"))}
        if "within_days" in spec:
            parsed["within_days"] = whole(spec, "within_days", scope, "condition")
        if "not_followed_by" in spec:
            parsed["not_followed_by"] = tuple(valuesets(spec, "not_followed_by", scope, "condition"))
        if spec.get("any_status"):
            parsed["any_status"] = True
        if "undated" in spec:
            if spec["undated"] is not True or {"within_days", "not_followed_by"}.intersection(spec):
                raise scope.error("condition.undated: only true, without within_days or not_followed_by")
            parsed["undated"] = True
        return Term("dated_condition", parsed, scope.derive("dated_condition", parsed))

    def pattern(self, term: Term, therapy: str) -> Pattern:
        # Asserted only when it found an entry: its presence is the answer.
        return derived(term.derived, therapy)

    def words(self, spec: dict[str, Any]) -> Words:
        kind = "a condition (any status)" if spec.get("any_status") else "an active condition"
        if spec.get("undated"):
            return Words(text=f"{kind} with neither onset nor recorded date, coded in", valuesets=list(spec["in"]))
        dated = f" dated within {spec['within_days']} days before the as-of date" if "within_days" in spec else ""
        later = ([Words(text="with no condition dated on or after it coded in", valuesets=list(spec["not_followed_by"]))]
                 if "not_followed_by" in spec else [])
        return Words(text=f"{kind}{dated} (onset, else recorded date), coded in", valuesets=list(spec["in"]),
                     children=later)

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        """Conditions of the sets read by their date (onset, else recordedDate): within the window
        before the as-of date when given, and with no condition of `not_followed_by` dated on or
        after them; or, with `undated`, those with no date. None when none is found."""
        read = derived.spec
        wanted, ends = set(read["in"]), set(read.get("not_followed_by", ()))
        as_of = facts.patient.as_of
        end_days = [c.date for c in facts.conditions if ends and c.verified and c.date is not None and ends & set(c.vs)]
        found = []
        for condition in facts.conditions:
            counts = condition.verified if read.get("any_status") else condition.active
            if not counts or not wanted & set(condition.vs):
                continue
            if read.get("undated"):
                if condition.date is None:
                    found.append(condition)
                continue
            if condition.date is None or ("within_days" in read
                                          and not within(condition.date, None, as_of, read["within_days"])):
                continue
            if any(end >= condition.date for end in end_days):
                continue
            found.append(condition)
        if not found:
            return None
        shown = [c.display + (f" on {c.date.isoformat()}" if c.date else "") for c in found]
        return {"count": len(found), "display": "; ".join(dict.fromkeys(shown)), "ref": found[0].ref,
                "evidence": [c.ref for c in found[1:]]}
