"""Run one therapy's compiled rules over one patient's facts.

Assertion order is part of the semantics: data facts, then the context fact (negations are
judged on the complete record), then each criterion's result in ruleset order (later criteria,
findings and documentation may read earlier results), then the status (alternatives read it).
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..fhir.limits import limits, over
from ..ruleset import Ruleset
from ..terminology import Terminology, ValueSets
from . import host
from .compile import compile_ruleset, flag

Binding = list[dict[str, Any]]


@dataclass
class CriterionOutcome:
    id: str
    result: str
    category: str | None
    reason: str
    evidence: list[str]


@dataclass
class Outcome:
    """What the rules decided for one therapy: criterion results and the clauses that held."""

    criteria: dict[str, CriterionOutcome]
    matches: dict[str, list[Binding]]
    status: str


@dataclass
class _Collector:
    matches: dict[str, list[Binding]] = field(default_factory=lambda: defaultdict(list))
    # Every fact asserted, by position: actions hand back positions, not durable's copies.
    facts: list[dict[str, Any]] = field(default_factory=list)

    def view(self, fact: dict[str, Any]) -> dict[str, Any]:
        self.facts.append(fact)
        return engine_view(fact, len(self.facts) - 1)


class CompiledRuleset:
    """A ruleset compiled once per process into a durable-rules ruleset."""

    def __init__(self, ruleset: Ruleset, terminology: Terminology, valuesets: ValueSets) -> None:
        self.ruleset = ruleset
        self.name = f"{ruleset.therapy}_{ruleset.content_hash[:16]}"
        self._collector: _Collector | None = None
        definition = compile_ruleset(ruleset, terminology, valuesets, self._action)
        host.register(self.name, definition)

    def _action(self, key: str, bindings: int) -> Callable[[Any], None]:
        names = [f"b{i}" for i in range(bindings)]

        def record(c: Any) -> None:
            collector = self._collector
            if collector is not None:
                collector.matches[key].append([collector.facts[getattr(c, n)._d["i"]] for n in names])

        return record

    def run(
        self,
        facts: list[dict[str, Any]],
        context: dict[str, Any],
        decide_status: Callable[[dict[str, CriterionOutcome], dict[str, list[Binding]]], str],
    ) -> Outcome:
        cap = limits().max_facts
        if len(facts) > cap:
            raise over("evaluation", f"facts for {self.ruleset.therapy}", len(facts), cap,
                       "max facts per evaluation, $CDS_MAX_FACTS")
        collector = _Collector()
        with host.session(self.name) as session:
            self._collector = collector
            try:
                for fact in facts:
                    session.assert_fact(collector.view(fact))
                session.assert_fact(collector.view({"t": "context", **context}))
                results: dict[str, CriterionOutcome] = {}
                for criterion in self.ruleset.criteria:
                    outcome = self._resolve(criterion.id, collector)
                    results[criterion.id] = outcome
                    fact = {"t": "result", "criterion": outcome.id, "result": outcome.result,
                            "evidence": outcome.evidence, "display": outcome.reason}
                    if outcome.category:
                        fact["category"] = outcome.category
                    session.assert_fact(collector.view(fact))
                status = decide_status(results, collector.matches)
                session.assert_fact(collector.view({"t": "status", "status": status}))
            finally:
                self._collector = None
        return Outcome(criteria=results, matches=dict(collector.matches), status=status)

    def _resolve(self, criterion_id: str, collector: _Collector) -> CriterionOutcome:
        criterion = next(c for c in self.ruleset.criteria if c.id == criterion_id)
        for number, branch in enumerate(criterion.branches):
            bindings = collector.matches.get(f"c|{criterion_id}|{number}")
            if bindings:
                return CriterionOutcome(
                    id=criterion_id, result=branch.result, category=branch.category,
                    reason=render(branch.reason, bindings), evidence=evidence(bindings),
                )
        other = criterion.otherwise
        return CriterionOutcome(id=criterion_id, result=other.result, category=None,
                                reason=render(other.reason, []), evidence=[])


def engine_view(fact: dict[str, Any], position: int) -> dict[str, Any]:
    """The fact as durable-rules sees it: lists become flags, nothing else is an array.

    durable-rules 2.0.28 corrupts its heap (double free) when a negated pattern tests an
    array; flags (`vs__cancer-related-pain: true`) are plain properties.
    """
    view: dict[str, Any] = {"i": position}
    for key, value in fact.items():
        if isinstance(value, list):
            if key != "evidence":
                view.update({flag(key, str(item)): True for item in value})
        else:
            view[key] = value
    return view


def evidence(bindings: list[Binding]) -> list[str]:
    """Resource references of the facts behind a match, in order, without repeats."""
    # A dict keeps first-seen order with O(1) membership: a list made 20,000 conditions quadratic.
    refs: dict[str, None] = {}
    for binding in bindings:
        for fact in binding:
            for ref in [fact.get("ref"), *fact.get("evidence", [])]:
                if ref:
                    refs.setdefault(ref, None)
    return list(refs)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, bindings: list[Binding]) -> str:
    """Fill a reason template from the matched facts: {display}, {age}, {span_days}, ..."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    values: dict[str, dict[str, None]] = defaultdict(dict)
    for binding in bindings:
        for fact in binding:
            if fact.get("t") in ("context", "status"):
                continue
            for key in names & fact.keys():
                value = fact[key]
                if isinstance(value, (str, int)) and not isinstance(value, bool) and key not in ("t", "id"):
                    values[key].setdefault(str(value), None)
    filled = _Values({name: "; ".join(values[name]) for name in names if values.get(name)})
    return template.format_map(filled)
