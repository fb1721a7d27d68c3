"""`condition`: an active Condition coded in some value sets, or named by its text."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ...texts import phrase_flag
from .. import window
from ..kind import REGISTRY, Flag, Names, Phrases, Spec, TermKind, Whole, register
from ..nodes import Term
from ..patterns import Pattern, absent, any_item
from ..scope import Scope, phrases, valuesets
from ..words import Words, quoted


class ConditionSpec(Spec):
    in_: Names | None = Field(default=None, alias="in")
    any_status: Flag | None = None
    text: Phrases | None = None
    not_in: Names | None = None
    within_days: Whole | None = None
    not_followed_by: Names | None = None
    undated: Flag | None = None


@register
class Condition(TermKind):
    kind = key = "condition"
    spec = ConditionSpec
    fact = "condition"
    selective = True

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        if {"not_followed_by", "undated"}.intersection(spec):
            # Read by its date and what came after it: computed before the rules.
            return REGISTRY["dated_condition"].parse(spec, scope)
        if "in" not in spec and "text" not in spec:
            raise scope.error("condition: needs in (value sets) or text (phrases)")
        parsed: dict[str, Any] = {}
        if "in" in spec:
            parsed["in"] = valuesets(spec, "in", scope, "condition")
        if "text" in spec:
            # Known by its text: the code's text or a coding's display names one of the phrases.
            parsed["text"] = phrases(spec["text"], scope, "condition.text")
        if "not_in" in spec:
            # ... and none of its codes is in these sets (a coded one is judged by its code).
            parsed["not_in"] = valuesets(spec, "not_in", scope, "condition")
        if "any_status" in spec:
            parsed["any_status"] = bool(spec["any_status"])
        # Dated (onset, else recordedDate) within N days before the as-of date (criteria README
        # "When a condition happened"); an undated condition does not hold.
        window.parse(spec, parsed, scope, "condition")
        return Term("condition", parsed)

    def pattern(self, term: Term, therapy: str) -> Pattern:
        spec = term.spec
        parts: list[Pattern] = [{"t": "condition"}]
        if not spec.get("any_status"):
            parts.append({"active": True})
        if "in" in spec:
            parts.append(any_item("vs", spec["in"]))
        if "text" in spec:
            parts.append(any_item("texts", [phrase_flag(p) for p in spec["text"]]))
        parts += [absent("vs", v) for v in spec.get("not_in", ())]
        return {"$and": [*parts, *window.pattern(spec, therapy)]}

    def words(self, spec: dict[str, Any]) -> Words:
        kind = "a condition (any status)" if spec.get("any_status") else "an active condition"
        if "within_days" in spec:
            kind += f" dated (onset, else recorded){window.words(spec)}"
        if "text" not in spec:
            return Words(text=f"{kind} coded in", valuesets=list(spec["in"]))
        children = []
        if "in" in spec:
            children.append(Words(text="coded in", valuesets=list(spec["in"])))
        if "not_in" in spec:
            children.append(Words(text="with no code in", valuesets=list(spec["not_in"])))
        return Words(text=f"{kind} whose name (code text or display) contains {quoted(spec['text'])}",
                     children=children)

    def phrases(self, spec: dict[str, Any]) -> list[str]:
        return list(spec.get("text", ()))

    def coded(self, spec: dict[str, Any]) -> tuple[list[str], list[str]]:
        return list(spec.get("in", ())), [phrase_flag(p) for p in spec.get("text", ())]
