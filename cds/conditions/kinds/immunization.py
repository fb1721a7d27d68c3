"""`immunization`: a completed Immunization whose vaccine code is in the sets."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .. import window
from ..kind import Anchor, Names, Spec, TermKind, Whole, register
from ..nodes import Term
from ..patterns import Pattern, any_item
from ..scope import Scope, valuesets
from ..words import Words


class ImmunizationSpec(Spec):
    in_: Names = Field(alias="in")
    within_days: Whole | None = None
    before: Anchor | None = None


@register
class Immunization(TermKind):
    kind = key = "immunization"
    spec = ImmunizationSpec
    fact = "immunization"
    selective = True
    reads = frozenset({"Immunization"})

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        parsed: dict[str, Any] = {"in": valuesets(spec, "in", scope, "immunization")}
        window.parse(spec, parsed, scope, "immunization")
        return Term("immunization", parsed)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        return {"$and": [{"t": "immunization"}, any_item("vs", term.spec["in"]), *window.pattern(term.spec, therapy)]}

    def words(self, spec: dict[str, Any]) -> Words:
        return Words(text=f"a completed immunization{window.words(spec)}, its vaccine coded in",
                     valuesets=list(spec["in"]))

    def coded(self, spec: dict[str, Any]) -> tuple[list[str], list[str]]:
        return list(spec["in"]), []
