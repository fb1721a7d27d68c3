"""A kind of condition term, whole: what a ruleset may write, how it is parsed and checked, the
durable-rules pattern it compiles to, the fact it derives from the record (if any), its words in
the catalog; its rows of the reference table (rulesets/README.md) are data, rulesets/terms.yaml,
since their worked examples name pages and codes.

Every kind is one class registered here (cds/conditions/kinds/); the parser, the engine's
compiler, the derived facts, the catalog and the README table all ask the registry, so a new
kind is one new module (tests/test_terms.py fails when one lacks a part).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .nodes import Derived, Term
from .patterns import Pattern
from .scope import Scope, check_keys
from .words import Words

if TYPE_CHECKING:
    from ..facts import PatientFacts
    from ..fhir.errors import Problem
    from ..terminology.units import Units


# The types a term's keys take, as a ruleset writes them (YAML).
Whole = Annotated[int, Field(ge=0, description="a whole number >= 0")]
Names = Annotated[str | list[str], Field(description="a name or a list of names")]
Phrases = Annotated[str | list[str], Field(description="a phrase or a list of phrases")]
Comparison = Annotated[Literal["unknown"] | dict[str, Any],
                       Field(description="a comparison such as {lt: 16} or 'unknown'")]
Mapping = Annotated[dict[str, Any], Field(description="a mapping")]
Anchor = Annotated[Literal["as-of", "order", "order-or-as-of"], Field(description="as-of, order or order-or-as-of")]
Flag = Annotated[bool, Field(description="true or false")]


class Spec(BaseModel):
    """What a term's mapping may hold (subclassed per kind): unknown keys and wrong types are load
    errors naming file and line; the kind's parser then checks names against the terminology."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, frozen=True)


class TermKind:
    kind: ClassVar[str]
    # The key a ruleset writes (None: reached through another kind's key, as a condition read by
    # its date is written `condition: {..., not_followed_by}`).
    key: ClassVar[str | None]
    spec: ClassVar[type[BaseModel]]
    # The fact type its pattern matches; "derived": a fact this kind computes before the rules.
    fact: ClassVar[str]
    # A term about the patient's data, which `none:` may negate.
    data: ClassVar[bool] = True
    # FHIR resource types it reads besides those read for every therapy (cds/knowledge.py).
    reads: ClassVar[frozenset[str]] = frozenset()
    # Facts of its type are asserted only when some term's value sets or phrases select them
    # (`coded`): a record holds many conditions and procedures no rule reads.
    selective: ClassVar[bool] = False
    # A derived fact that depends on the therapy's own orders, not only on its order's date.
    per_therapy: ClassVar[bool] = False

    def check(self, value: Any, scope: Scope) -> dict[str, Any]:
        """The mapping written, held to the kind's `spec` (keys, required keys, types)."""
        fields = self.spec.model_fields
        check_keys(value, {f.alias or name for name, f in fields.items()}, scope, str(self.key),
                   {f.alias or name for name, f in fields.items() if f.is_required()})
        try:
            self.spec.model_validate(value)
        except ValidationError as exc:
            raise scope.error(self._said(exc)) from None
        return value

    def _said(self, exc: ValidationError) -> str:
        """The first problem pydantic found, in the language's words: what the key expects."""
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else ""
        field = next((f for n, f in self.spec.model_fields.items() if key in (n, f.alias)), None)
        expected = (field.description or _described(field.annotation)) if field is not None else None
        return f"{self.key}.{key}: expects {expected or error['msg']}" if key else f"{self.key}: {error['msg']}"

    def parse(self, spec: dict[str, Any], scope: Scope) -> Term:
        raise NotImplementedError

    def pattern(self, term: Term, therapy: str) -> Pattern:
        raise NotImplementedError

    def words(self, spec: dict[str, Any]) -> Words:
        raise NotImplementedError

    def compute(self, facts: "PatientFacts", derived: Derived, anchors: dict[str, dt.date | None], units: "Units",
                warnings: list["Problem"], therapy: str) -> dict[str, Any] | None:
        """The derived fact (kinds whose `fact` is "derived"); None: nothing found, no fact."""
        raise NotImplementedError

    # What a parsed term names, for the catalog's links and the loader's checks.
    def valuesets(self, spec: dict[str, Any]) -> list[str]:
        return [v for key in ("in", "answer") for v in spec.get(key, ())]

    def drug_classes(self, spec: dict[str, Any]) -> list[str]:
        return []

    def phrases(self, spec: dict[str, Any]) -> list[str]:
        """Phrases matched in free text when the facts are built (cds/texts.py)."""
        return []

    def result_words(self, spec: dict[str, Any]) -> list[str]:
        """Phrases matched in results written as words (cds/terminology ResultMatcher)."""
        return []

    def types_read(self, spec: dict[str, Any]) -> set[str]:
        return set(self.reads)

    def reads_order_drug(self, spec: dict[str, Any]) -> bool:
        """Asks the drug of the order under evaluation (an unreadable drug makes it unknown)."""
        return False

    def rulesets_named(self, spec: dict[str, Any]) -> list[str]:
        return []

    def criterion_read(self, spec: dict[str, Any]) -> str | None:
        """The criterion whose result the term reads (its result is then asserted as a fact)."""
        return None

    def coded(self, spec: dict[str, Any]) -> tuple[list[str], list[str]]:
        """For a kind whose facts are record entries kept only when some rule can match them
        (cds/engine/run.py `relevant`): the value sets and text phrases that select them."""
        return [], []


def _described(annotation: Any) -> str | None:
    """The description an optional field's type carries (`Names | None`: the Annotated inside)."""
    for inner in get_args(annotation):
        for meta in getattr(inner, "__metadata__", ()):
            if getattr(meta, "description", None):
                return str(meta.description)
    return None


REGISTRY: dict[str, TermKind] = {}
BY_KEY: dict[str, TermKind] = {}

K = TypeVar("K", bound=type[TermKind])


def register(cls: K) -> K:
    """Class decorator: one instance of each kind in the registry."""
    kind = cls()
    if cls.kind in REGISTRY or (cls.key is not None and cls.key in BY_KEY):
        raise ValueError(f"term kind {cls.kind} registered twice")
    REGISTRY[cls.kind] = kind
    if cls.key is not None:
        BY_KEY[cls.key] = kind
    return cls

