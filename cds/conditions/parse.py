"""A ruleset's conditions parsed once into one typed form (nodes.py), term by term through the
registry (kind.py): the engine's compiler, the derived facts and the catalog's words all read it,
so what a payer reads and what the engine runs cannot drift."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ruleset import Condition, Ruleset, strip_lines
from ..terminology import Terminology, ValueSets
from .kind import BY_KEY, REGISTRY
from .nodes import All, Any_, Derived, Node, Not, Term, terms
from .scope import Scope


def parse(condition: Condition | None, scope: Scope) -> Node:
    """The parsed form of a condition (None: always holds)."""
    if condition is None:
        return All(())
    return _parse(strip_lines(condition), scope)


def _parse(condition: Any, scope: Scope) -> Node:
    if not isinstance(condition, dict) or len(condition) != 1:
        raise scope.error(f"a condition is a mapping with exactly one key, got {condition!r}")
    (key, value), = condition.items()
    if key in ("all", "any"):
        if not isinstance(value, list):
            raise scope.error(f"{key}: expects a list")
        if key == "any" and not value:
            raise scope.error("any: needs at least one condition")
        items = tuple(_parse(c, scope) for c in value)
        return All(items) if key == "all" else Any_(items)
    if key == "none":
        inner = _parse(value, scope)
        if not isinstance(inner, Term) or not REGISTRY[inner.kind].data:
            raise scope.error(f"none: takes one data term ({', '.join(sorted(DATA_TERMS))})")
        return Not(inner)
    kind = BY_KEY.get(key)
    if kind is None:
        raise scope.error(f"unknown condition {key!r}; known: {', '.join(sorted(TERMS))}")
    return kind.parse(kind.check(value, scope), scope)


# The keys a ruleset may write, and those `none:` may negate (terms about the patient's data).
TERMS = frozenset(BY_KEY)
DATA_TERMS = frozenset(k for k, kind in BY_KEY.items() if kind.data)


@dataclass(frozen=True)
class Clause:
    """Something the rules decide: a criterion branch, a finding, a document, an offer, a
    lead, a tried rule or a billing code. `item` is the ruleset item whose condition it is (its
    `part`: "when", or a finding's "info_when"), by which its matches are looked up; `key` names
    its rules in the engine (stable across loads of the same file)."""

    key: str
    node: Node
    where: str
    item: Any = field(default=None, compare=False, repr=False)
    part: str = "when"


@dataclass
class ParsedRuleset:
    clauses: list[Clause]
    derived: dict[str, Derived]

    def node(self, key: str) -> Node:
        return next(c.node for c in self.clauses if c.key == key)


def parse_ruleset(ruleset: Ruleset, terminology: Terminology, valuesets: ValueSets) -> ParsedRuleset:
    """Every clause of a ruleset, parsed (load errors name file and line)."""
    derived: dict[str, Derived] = {}
    ids = [c.id for c in ruleset.criteria]
    found: list[Clause] = []

    def add(key: str, when: Condition | None, readable: list[str], status: bool, where: str, item: Any,
            part: str = "when") -> None:
        scope = Scope(ruleset, terminology, valuesets, readable, status, where, derived)
        found.append(Clause(key, parse(when, scope), where, item, part))

    file = ruleset.file
    for index, criterion in enumerate(ruleset.criteria):
        for number, branch in enumerate(criterion.branches):
            add(f"c|{criterion.id}|{number}", branch.when, ids[:index], False,
                f"{file}: line {branch.line}: {criterion.id} branch {number + 1}", branch)
    for finding in ruleset.findings:
        add(f"f|{finding.id}", finding.when, ids, False, f"{file}: line {finding.line}: {finding.id}", finding)
        if finding.info_when is not None:
            add(f"fi|{finding.id}", finding.info_when, ids, False,
                f"{file}: line {finding.line}: {finding.id} info_when", finding, "info_when")
        if finding.cites is not None:
            add(f"fc|{finding.id}", finding.cites.when, ids, False,
                f"{file}: line {finding.cites.line}: {finding.id} cites", finding.cites)
    for doc in ruleset.documentation:
        add(f"d|{doc.id}", doc.when, ids, False, f"{file}: line {doc.line}: {doc.id}", doc)
        for number, item in enumerate(doc.notes):
            add(f"dn|{doc.id}|{number}", item.when, ids, False,
                f"{file}: line {item.line}: {doc.id} note {item.id}", item)
    for alternative in ruleset.alternatives:
        for number, offer in enumerate(alternative.offered):
            add(f"o|{alternative.id}|{number}", offer.when, ids, True,
                f"{file}: line {offer.line}: {alternative.id} offer {number + 1}", offer)
        for number, tried in enumerate(alternative.tried):
            add(f"t|{alternative.id}|{number}", tried.when, ids, True,
                f"{file}: line {tried.line}: {alternative.id} tried {number + 1}", tried)
        for number, lead in enumerate(alternative.lead):
            add(f"l|{alternative.id}|{number}", lead.when, ids, True,
                f"{file}: line {lead.line}: {alternative.id} lead {number + 1}", lead)
    for number, code in enumerate(ruleset.billing.codes):
        add(f"b|{number}", code.when, ids, False, f"{file}: line {code.line}: billing code {code.code}", code)
    for number, item in enumerate(ruleset.billing.order_notes):
        add(f"n|{number}", item.when, ids, False, f"{file}: line {item.line}: billing order note {number + 1}", item)
    return ParsedRuleset(found, derived)


def phrases(node: Node) -> list[str]:
    """Every phrase a condition matches in free text (matched once per entry when facts are built)."""
    return [p for t in terms(node) for p in REGISTRY[t.kind].phrases(t.spec)]


def order_criteria(ruleset: Ruleset, parsed: ParsedRuleset) -> frozenset[str]:
    """The criteria that read the drug of the order under evaluation: a branch asks the order
    for a class, an ingredient or the routes its label allows, or reads the result of a
    criterion that does. An order whose drug cannot be read makes these `unknown`."""
    found: set[str] = set()
    for criterion in ruleset.criteria:
        branches = {id(branch) for branch in criterion.branches}
        for clause in (c for c in parsed.clauses if id(c.item) in branches):
            if any(REGISTRY[t.kind].reads_order_drug(t.spec) or REGISTRY[t.kind].criterion_read(t.spec) in found
                   for t in terms(clause.node)):
                found.add(criterion.id)
    return frozenset(found)
