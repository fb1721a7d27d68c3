"""`procedure`: a completed Procedure in the sets, maybe not followed by a removal."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ...texts import phrase_flag
from .. import window
from ..kind import Anchor, Names, Spec, TermKind, Whole, register
from ..nodes import Term
from ..patterns import Pattern, absent, any_item
from ..scope import Scope, check_keys, phrases, valuesets
from ..words import Words, quoted


class ProcedureSpec(Spec):
    in_: Names = Field(alias="in")
    within_days: Whole | None = None
    before: Anchor | None = None
    not_followed_by: Annotated[str | list[str] | dict[str, Any],
                               Field(description="phrases, or a mapping of in (value sets) and text (phrases)")] | None = None


@register
class Procedure(TermKind):
    kind = key = "procedure"
    spec = ProcedureSpec
    fact = "procedure"
    selective = True
    reads = frozenset({"Procedure"})

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        parsed: dict[str, Any] = {"in": valuesets(spec, "in", scope, "procedure")}
        window.parse(spec, parsed, scope, "procedure")
        if "not_followed_by" in spec:
            # No later completed Procedure (a removal) whose code is in the sets or whose code text
            # or display names a phrase; a list is phrases. A removal cancels only what was placed
            # before it.
            later = spec["not_followed_by"]
            if isinstance(later, dict):
                later = check_keys(later, {"in", "text"}, scope, "procedure.not_followed_by")
                if not later:
                    raise scope.error("procedure.not_followed_by: needs in (value sets) or text (phrases)")
                if "in" in later:
                    parsed["not_followed_by_in"] = valuesets(later, "in", scope, "procedure.not_followed_by")
                later = later.get("text")
            if later is not None:
                parsed["not_followed_by"] = phrases(later, scope, "procedure.not_followed_by")
        return Term("procedure", parsed)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        spec = term.spec
        later = [absent("followed_by", phrase_flag(p)) for p in spec.get("not_followed_by", ())]
        later += [absent("followed_by_vs", v) for v in spec.get("not_followed_by_in", ())]
        return {"$and": [{"t": "procedure"}, any_item("vs", spec["in"]), *window.pattern(spec, therapy), *later]}

    def words(self, spec: dict[str, Any]) -> Words:
        later = (f" with no later procedure whose name contains {quoted(spec['not_followed_by'])}"
                 if "not_followed_by" in spec else "")
        removals = ([Words(text="with no later procedure (a removal) coded in", valuesets=list(spec["not_followed_by_in"]))]
                    if "not_followed_by_in" in spec else [])
        return Words(text=f"a completed procedure{window.words(spec)}{later}, coded in", valuesets=list(spec["in"]),
                     children=removals)

    def phrases(self, spec: dict[str, Any]) -> list[str]:
        return list(spec.get("not_followed_by", ()))

    def coded(self, spec: dict[str, Any]) -> tuple[list[str], list[str]]:
        return list(spec["in"]), []
