"""Compile a ruleset's parsed conditions (cds/conditions) into durable-rules rules.

Each condition is turned into disjunctive normal form: one durable-rules rule per conjunction,
each term's pattern given by its kind (cds/conditions/kinds). Derived facts (a measurement picked
in a window, a count) are computed by cds/derive.py before the rules run; their terms here only
compare.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..conditions import REGISTRY, All, Any_, Node, Not, ParsedRuleset, Term
from ..ruleset import Ruleset


@dataclass(frozen=True)
class Atom:
    """One pattern of a rule: a term's durable-rules pattern, maybe negated."""

    pattern: dict[str, Any]
    negated: bool = False


def compile_ruleset(
    ruleset: Ruleset,
    parsed: ParsedRuleset,
    action: Callable[[str, int], Callable[[Any], None]],
) -> dict[str, Any]:
    """The durable-rules definition of a ruleset; `action(key, n_bindings)` makes each action."""
    definition: dict[str, Any] = {}
    negating = 0
    for clause in parsed.clauses:
        for number, conjunction in enumerate(dnf(clause.node, ruleset.therapy)):
            atoms = list(conjunction)
            if any(a.negated for a in atoms):
                shard = context_shard(ruleset.therapy, negating)
                negating += 1
                # durable-rules judges a negation against the facts that arrived between the
                # positive terms around it, in their order. So the context fact (asserted after
                # every data fact) comes first, then the negations, then the positive terms:
                # negations are then judged on the whole record (tests/test_engine_negation.py).
                atoms = ([Atom({"$and": [{"t": "context"}, {shard: True}]})]
                         + [a for a in atoms if a.negated] + [a for a in atoms if not a.negated])
            rule: list[dict[str, Any]] = []
            positives = 0
            for index, atom in enumerate(atoms):
                if atom.negated:
                    rule.append({f"n{index}$not": atom.pattern})
                else:
                    rule.append({f"b{positives}": atom.pattern})
                    positives += 1
            # Named by therapy too: every ruleset's rules may share one durable-rules ruleset.
            definition[f"{ruleset.therapy}|{clause.key}#{number}"] = {"all": rule, "run": action(clause.key, positives)}
    return definition


# durable-rules links one alpha node to at most 256 rules (rules.h BETA_LIST_LENGTH; more is error
# 108 when the ruleset is created), and every rule holding a negation opens with the context
# pattern: that pattern is split by therapy and in chunks of this many rules, each its own node.
CONTEXT_CHUNK = 200
CONTEXT_SHARD = "ctx__"


def context_shard(therapy: str, negating: int) -> str:
    """The context fact's property that the `negating`-th rule with a negation of `therapy` tests."""
    return f"{CONTEXT_SHARD}{therapy}_{negating // CONTEXT_CHUNK}"


def fields_tested(definition: dict[str, Any]) -> dict[str | None, frozenset[str]]:
    """Every fact property a rule of the definition tests (flags included), by the fact type its
    pattern names (None: a pattern naming no type): what the engine is given of a fact
    (run.engine_view). durable-rules parses and hashes every property of every fact asserted, and
    a medication fact carries a flag per drug class of every therapy. Kept per type because two
    types may share a property name that only one type's rules test (a window on medications,
    none on conditions): a condition's dates would split equal diagnoses into distinct facts."""
    found: dict[str | None, set[str]] = {}

    def walk(pattern: Any, into: set[str]) -> None:
        if isinstance(pattern, list):
            for item in pattern:
                walk(item, into)
        elif isinstance(pattern, dict):
            for key, value in pattern.items():
                if key.startswith("$"):
                    walk(value, into)
                else:
                    into.add(key)

    for rule in definition.values():
        for binding in rule["all"]:
            for pattern in binding.values():
                walk(pattern, found.setdefault(_fact_type(pattern), set()))
    return {kind: frozenset(names) for kind, names in found.items()}


def _fact_type(pattern: Any) -> str | None:
    """The `t` a pattern tests (compiled patterns start `{"$and": [{"t": ...}, ...]}`), if any."""
    parts = pattern.get("$and") if isinstance(pattern, dict) else None
    first = parts[0] if parts else pattern
    kind = first.get("t") if isinstance(first, dict) else None
    return kind if isinstance(kind, str) else None


def dnf(node: Node, therapy: str) -> list[tuple[Atom, ...]]:
    if isinstance(node, All):
        parts = [dnf(item, therapy) for item in node.items]
        return [tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*parts)]
    if isinstance(node, Any_):
        return [conj for item in node.items for conj in dnf(item, therapy)]
    if isinstance(node, Not):
        return [(Atom(pattern(node.term, therapy), negated=True),)]
    return [(Atom(pattern(node, therapy)),)]


def pattern(term: Term, therapy: str) -> dict[str, Any]:
    return REGISTRY[term.kind].pattern(term, therapy)
