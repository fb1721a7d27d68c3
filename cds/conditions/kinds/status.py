"""`status`: the therapy's status, for alternatives only."""

from __future__ import annotations

from typing import Any

from pydantic import RootModel

from ...models import Status as StatusValue
from ..kind import TermKind, register
from ..nodes import Term
from ..patterns import Pattern, one_of
from ..scope import Scope, names
from ..words import Words, either

STATUSES = {s.value for s in StatusValue}


class StatusSpec(RootModel[list[str] | str]):
    """`status: [needs-review]`: a list (or one) of the statuses an assessment takes."""


@register
class Status(TermKind):
    kind = key = "status"
    spec = StatusSpec  # type: ignore[assignment]
    fact = "status"
    data = False

    def check(self, value: Any, scope: Scope) -> Any:
        if not isinstance(value, (list, str)):
            raise scope.error("status: expects a list of statuses")
        if not scope.status:
            raise scope.error("status: only alternatives may read the status")
        return value

    def parse(self, spec: Any, scope: Scope) -> Term:
        return Term("status", {"is": names({"status": spec}, "status", STATUSES, scope, "status")})

    def pattern(self, term: Term, therapy: str) -> Pattern:
        return {"$and": [{"t": "status"}, {"therapy": therapy}, one_of("status", term.spec["is"])]}

    def words(self, spec: dict[str, Any]) -> Words:
        return Words(text=f"the therapy's status is {either(spec['is'])}")
