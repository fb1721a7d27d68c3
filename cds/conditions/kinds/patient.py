"""`patient`: the patient's age and recorded gender."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..kind import Names, Spec, TermKind, Whole, register
from ..nodes import Term
from ..patterns import Pattern, one_of
from ..scope import Scope, names, whole
from ..words import Words

GENDERS = {"male", "female", "other", "unknown"}
_AGES = ("age_at_least", "age_below", "age_days_at_most")


class PatientSpec(Spec):
    age_at_least: Whole | None = None
    age_below: Whole | None = None
    age_days_at_most: Whole | None = None
    age: Literal["unknown"] | None = Field(default=None, description="only 'unknown'")
    gender: Names | None = None


@register
class Patient(TermKind):
    kind = key = "patient"
    spec = PatientSpec
    fact = "patient"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        if not spec:
            raise scope.error("patient: needs a key")
        parsed: dict[str, Any] = {key: whole(spec, key, scope, "patient") for key in _AGES if key in spec}
        if "age" in spec:
            parsed["age"] = "unknown"
        if "gender" in spec:
            # Patient.gender; a patient whose gender is not recorded holds none of them.
            parsed["gender"] = names(spec, "gender", GENDERS, scope, "patient")
        return Term("patient", parsed)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        spec = term.spec
        parts: list[Pattern] = [{"t": "patient"}]
        if "age_at_least" in spec:
            parts.append({"$gte": {"age_years": spec["age_at_least"]}})
        if "age_below" in spec:
            parts.append({"$lt": {"age_years": spec["age_below"]}})
        if "age_days_at_most" in spec:
            parts.append({"$lte": {"age_days": spec["age_days_at_most"]}})
        if spec.get("age") == "unknown":
            parts.append({"$nex": {"age_years": 1}})
        if "gender" in spec:
            parts.append(one_of("gender", spec["gender"]))
        return {"$and": parts}

    def words(self, spec: dict[str, Any]) -> Words:
        parts = []
        if "age_at_least" in spec:
            parts.append(f"is {spec['age_at_least']} years or older on the as-of date")
        if "age_below" in spec:
            parts.append(f"is younger than {spec['age_below']} years on the as-of date")
        if "age_days_at_most" in spec:
            parts.append(f"is {spec['age_days_at_most']} days old or younger on the as-of date")
        if spec.get("age") == "unknown":
            parts.append("has no known age (no birth date)")
        if "gender" in spec:
            parts.append(f"is recorded as {' or '.join(spec['gender'])} (Patient.gender)")
        return Words(text="the patient " + " and ".join(parts))
