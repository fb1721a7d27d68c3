"""`course`: a course of the ruleset's own (earliest start to latest end of its requests)."""

from __future__ import annotations

from typing import Any

from ..kind import Flag, Spec, TermKind, Whole, register
from ..nodes import Term
from ..patterns import Pattern
from ..scope import Scope, names, whole
from ..words import Words


class CourseSpec(Spec):
    id: str
    min_days: Whole | None = None
    stopped_with_reason: Flag | None = None


@register
class Course(TermKind):
    kind = key = "course"
    spec = CourseSpec
    fact = "course"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        parsed: dict[str, Any] = {"id": names(spec, "id", {c.id for c in scope.ruleset.courses}, scope, "course")[0]}
        if "min_days" in spec:
            parsed["min_days"] = whole(spec, "min_days", scope, "course")
        if "stopped_with_reason" in spec:
            parsed["stopped_with_reason"] = bool(spec["stopped_with_reason"])
        return Term("course", parsed)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        # Course ids are named per ruleset: a course fact carries the therapy it was built for.
        parts: list[Pattern] = [{"t": "course"}, {"therapy": therapy}, {"id": term.spec["id"]}]
        if "min_days" in term.spec:
            parts.append({"$gte": {"span_days": term.spec["min_days"]}})
        if "stopped_with_reason" in term.spec:
            parts.append({"stopped_with_reason": term.spec["stopped_with_reason"]})
        return {"$and": parts}

    def words(self, spec: dict[str, Any]) -> Words:
        text = f"a course of {spec['id']} (earliest start to latest end of its requests)"
        if "min_days" in spec:
            text += f" spanning {spec['min_days']} days or more"
        if spec.get("stopped_with_reason"):
            text += " in which a request was stopped with a reason"
        return Words(text=text)
