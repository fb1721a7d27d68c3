"""`record`: the record holds no entry of a kind at all (for `unknown` branches)."""

from __future__ import annotations

from typing import Any

from ..kind import Names, Spec, TermKind, register
from ..nodes import Term
from ..patterns import Pattern
from ..scope import Scope, names
from ..words import Words

# Each part and the resource type it asks about (the medication history is always read).
PARTS = {"procedures": "Procedure", "immunizations": "Immunization", "medication_history": None}
_WORDS = {"procedures": "no Procedure at all", "immunizations": "no Immunization at all",
          "medication_history": "no medication history (no active, on-hold, completed or stopped request besides "
                                "the order)"}


class RecordSpec(Spec):
    empty: Names


@register
class Record(TermKind):
    kind = key = "record"
    spec = RecordSpec
    fact = "record"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        return Term("record", {"empty": names(spec, "empty", set(PARTS), scope, "record")})

    def pattern(self, term: Term, therapy: str) -> Pattern:
        return {"$and": [{"t": "record"}, *({part: 0} for part in term.spec["empty"])]}

    def words(self, spec: dict[str, Any]) -> Words:
        return Words(text="the record holds " + " and ".join(_WORDS[p] for p in spec["empty"]))

    def types_read(self, spec: dict[str, Any]) -> set[str]:
        # `empty: [medication_history]` must not make the hooks prefetch Procedures.
        return {t for p in spec["empty"] if (t := PARTS[p]) is not None}
