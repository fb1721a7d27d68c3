"""`result`: an earlier criterion's result (and category)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..kind import Names, Spec, TermKind, register
from ..nodes import Term
from ..patterns import Pattern, one_of
from ..scope import Scope, names
from ..words import Words, either

RESULTS = {"met", "not-met", "unknown", "not-applicable"}


class ResultSpec(Spec):
    criterion: str
    is_: Names | None = Field(default=None, alias="is")
    category: Names | None = None


@register
class Result(TermKind):
    kind = key = "result"
    spec = ResultSpec
    fact = "result"
    data = False

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        criterion = names(spec, "criterion", set(scope.criteria), scope, "result")[0]
        parsed: dict[str, Any] = {"criterion": criterion}
        if "is" in spec:
            parsed["is"] = names(spec, "is", RESULTS, scope, "result")
        if "category" in spec:
            target = next(c for c in scope.ruleset.criteria if c.id == criterion)
            parsed["category"] = names(spec, "category", {b.category for b in target.branches if b.category},
                                       scope, "result")
        return Term("result", parsed)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        parts: list[Pattern] = [{"t": "result"}, {"criterion": term.spec["criterion"]}]
        if "is" in term.spec:
            parts.append(one_of("result", term.spec["is"]))
        if "category" in term.spec:
            parts.append(one_of("category", term.spec["category"]))
        return {"$and": parts}

    def words(self, spec: dict[str, Any]) -> Words:
        text = f"criterion {spec['criterion']} is {either(spec.get('is', ['decided']))}"
        if "category" in spec:
            text += f" ({either(spec['category'])})"
        return Words(text=text)

    def criterion_read(self, spec: dict[str, Any]) -> str | None:
        return str(spec["criterion"])
