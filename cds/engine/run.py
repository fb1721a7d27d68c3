"""Run the compiled rules of every therapy over one patient's facts, in one durable-rules session.

Assertion order is part of the semantics: data facts, then the context fact (negations are
judged on the complete record), then each therapy's criterion results in ruleset order (later
criteria, findings and documentation may read earlier results), then its status (alternatives
read it). No rule reads another therapy's results or status (criterion ids start with their
therapy; the status fact carries it).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..conditions import REGISTRY, ParsedRuleset, Term, order_criteria, terms
from ..listing import listed
from ..fhir.limits import limits, over
from ..ruleset import Criterion, Ruleset
from . import host
from ..conditions.patterns import flag
from .compile import CONTEXT_SHARD, compile_ruleset, fields_tested

Binding = list[dict[str, Any]]
# Fact types whose facts a rule selects by value set or phrase: one in none of the sets a rule
# names is not asserted.
_SELECTIVE = frozenset(kind.fact for kind in REGISTRY.values() if kind.selective)


@dataclass
class CriterionOutcome:
    id: str
    result: str
    category: str | None
    reason: str
    evidence: list[str]


class Matches:
    """What the rules of one therapy's clauses matched, looked up by the ruleset item whose
    condition a clause is (a Branch, Finding, Cite, Offer, Lead, BillingCode...; `part`
    "info_when" for a finding's second condition): no string keys outside the engine."""

    def __init__(self, found: dict[str, list[Binding]], keys: dict[tuple[int, str], str]) -> None:
        # `found` by the clause keys the rules were registered with (the same for every load of
        # a file: durable-rules keeps the actions of the first); `keys`: this load's items to them.
        self._found = found
        self._keys = keys

    def of(self, item: object, part: str = "when") -> list[Binding]:
        key = self._keys.get((id(item), part))
        return self._found.get(key, []) if key is not None else []

    def __bool__(self) -> bool:
        return any(self._found.values())


@dataclass
class Outcome:
    """What the rules decided for one therapy: criterion results and the clauses that held."""

    criteria: dict[str, CriterionOutcome]
    matches: Matches
    status: str


@dataclass(frozen=True)
class Fields:
    """What the rules of one ruleset test, per fact type: property names, and per list property
    the items whose flags they test (`vs` -> {"cancer-related-pain": "vs__cancer-related-pain"})."""

    names: frozenset[str]
    by_type: dict[str | None, tuple[frozenset[str], dict[str, dict[str, str]]]]

    @classmethod
    def of(cls, tested: dict[str | None, frozenset[str]]) -> Fields:
        untyped = tested.get(None, frozenset())
        by_type: dict[str | None, tuple[frozenset[str], dict[str, dict[str, str]]]] = {}
        for kind, names in tested.items():
            every = names | untyped
            flags: dict[str, dict[str, str]] = {}
            for name in every:
                field_name, _, item = name.partition("__")
                if item:
                    flags.setdefault(field_name, {})[item] = name
            by_type[kind] = (every, flags)
        return cls(names=frozenset().union(*tested.values()), by_type=by_type)

    def of_type(self, kind: Any) -> tuple[frozenset[str], dict[str, dict[str, str]]]:
        """The names and flags tested on facts of one type (a type no rule names: only what
        patterns naming no type test)."""
        found = self.by_type.get(kind)
        return found if found is not None else self.by_type.get(None, (frozenset(), {}))


@dataclass
class _Collector:
    # Each therapy's matches by clause key: every therapy's rules run in one session.
    matches: dict[str, dict[str, list[Binding]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    # Every fact asserted, by position: actions hand back positions, not durable's copies.
    facts: list[dict[str, Any]] = field(default_factory=list)

    # The properties some rule tests: the engine is given nothing else of a fact.
    fields: Fields | None = None

    def add(self, view: dict[str, Any], group: list[dict[str, Any]]) -> dict[str, Any]:
        """A view made beforehand (its position set here) of a group of equal facts."""
        fact = group[0]
        self.facts.append({**fact, "group": group} if len(group) > 1 else fact)
        view["i"] = len(self.facts) - 1
        return view

    def view(self, fact: dict[str, Any], group: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The engine's view of a fact; a group (the fact and its equals) is what a match hands back."""
        self.facts.append({**fact, "group": group} if group and len(group) > 1 else fact)
        return engine_view(fact, len(self.facts) - 1, self.fields)


# The collector of the evaluation running in each durable-rules ruleset. A ruleset is
# registered once per process with the actions of the first Engine built for it;
# a later one for the same content (another rulesets folder holding the same files) must
# still receive its matches, so actions find the collector by ruleset name, not by instance.
# Evaluations are serialised by the host's lock.
_ACTIVE: dict[str, _Collector] = {}


# What decides a therapy's status from its criterion results and matches (cds/assess.py).
Decide = Callable[[str, dict[str, CriterionOutcome], Matches], str]


@dataclass(frozen=True)
class _Part:
    """One therapy's rules within an Engine."""

    ruleset: Ruleset
    parsed: ParsedRuleset
    # The criteria reading the drug of the order (unknown when that drug cannot be read).
    order_criteria: frozenset[str]
    # Whether an alternative reads the status: the status fact is asserted only then.
    status_read: bool
    # Each clause's item (and part) -> the key its rules are registered with.
    keys: dict[tuple[int, str], str]


class Engine:
    """Rulesets compiled together into one durable-rules ruleset, their rules named by therapy:
    a patient's facts become engine facts once per evaluation, whatever the number of therapies
    (issue 19: one view and one assertion per fact, not one per ruleset)."""

    def __init__(self, rulesets: Sequence[tuple[Ruleset, ParsedRuleset]]) -> None:
        digest = hashlib.sha256("|".join(f"{r.therapy}:{r.content_hash}" for r, _ in rulesets).encode())
        self.name = f"rules_{digest.hexdigest()[:16]}"
        definition: dict[str, Any] = {}
        for ruleset, parsed in rulesets:
            definition.update(compile_ruleset(ruleset, parsed, self._action(ruleset.therapy)))
        host.register(self.name, definition)
        self._fields = Fields.of(fields_tested(definition))
        parts = {}
        read: list[Term] = []
        for ruleset, parsed in rulesets:
            own = [t for clause in parsed.clauses for t in terms(clause.node)]
            parts[ruleset.therapy] = _Part(ruleset, parsed, order_criteria(ruleset, parsed),
                                           any(REGISTRY[t.kind].fact == "status" for t in own),
                                           {(id(c.item), c.part): c.key for c in parsed.clauses})
            read += own
        self.parts: dict[str, _Part] = parts
        # What the rules can match: other facts are not asserted (each assert costs engine time,
        # and a record carries many entries that no rule reads).
        self._kinds = {REGISTRY[t.kind].fact for t in read}
        selecting = [REGISTRY[t.kind].coded(t.spec) for t in read]
        self._valuesets = {v for sets, _ in selecting for v in sets}
        self._texts = {p for _, flags in selecting for p in flags}
        # Results and the context are asserted only where a rule reads them: a fact no pattern
        # matches is not stored by durable-rules, so skipping it changes nothing but the time.
        # Criterion ids start with their therapy (cds/ruleset.py): a result names one ruleset's.
        self._results_read = {c for t in read if (c := REGISTRY[t.kind].criterion_read(t.spec)) is not None}
        # compile_ruleset puts the context fact in exactly the rules that hold a negation.
        self._context_read = any(key.endswith("$not") for rule in definition.values() for binding in rule["all"]
                                 for key in binding)
        # The context fact holds every shard of the context pattern (compile.context_shard).
        self._context_shards = {name: True for name in self._fields.names if name.startswith(CONTEXT_SHARD)}

    def relevant(self, fact: dict[str, Any]) -> bool:
        """Whether a fact can match one of the rules."""
        kind = fact.get("t")
        if kind in _SELECTIVE:
            return kind in self._kinds and (not self._valuesets.isdisjoint(fact.get("vs", ()))
                                            or not self._texts.isdisjoint(fact.get("texts", ())))
        return kind in self._kinds

    def _action(self, therapy: str) -> Callable[[str, int], Callable[[Any], None]]:
        def make(key: str, bindings: int) -> Callable[[Any], None]:
            names = [f"b{i}" for i in range(bindings)]

            def record(c: Any) -> None:
                collector = _ACTIVE.get(self.name)
                if collector is not None:
                    collector.matches[therapy][key].append([collector.facts[getattr(c, n)._d["i"]] for n in names])

            return record

        return make

    def run(
        self,
        facts: list[dict[str, Any]],
        derived: dict[str, list[dict[str, Any]]],
        context: dict[str, Any],
        decide: Decide,
        unread_orders: dict[str, list[str]] | None = None,
    ) -> dict[str, Outcome]:
        """Every therapy's outcome from one session. `facts`: the record's (PatientFacts.engine_facts);
        `derived`: each therapy's derived facts (cds/derive.py); `unread_orders`:
        each therapy's orders whose drug cannot be read (criteria reading the order are unknown)."""
        cap = limits().max_facts
        count = len(facts) + sum(len(d) for d in derived.values())
        if count > cap:
            raise over("evaluation", "facts", count, cap, "max facts per evaluation, $CDS_MAX_FACTS")
        unread_orders = unread_orders or {}
        collector = _Collector(fields=self._fields)
        decided: dict[str, tuple[dict[str, CriterionOutcome], str, Matches]] = {}
        with host.session(self.name) as session:
            _ACTIVE[self.name] = collector
            try:
                data = (f for f in itertools.chain(facts, *derived.values()) if self.relevant(f))
                for group, view in _viewed(data, self._fields):
                    session.assert_fact(collector.add(view, group))
                if self._context_read:
                    session.assert_fact(collector.view({"t": "context", **context, **self._context_shards}))
                # Each therapy's results in ruleset order (its later rules read them), then its
                # status (its alternatives read it); no rule reads another therapy's.
                for therapy, part in self.parts.items():
                    matches = Matches(collector.matches[therapy], part.keys)
                    results: dict[str, CriterionOutcome] = {}
                    for criterion in part.ruleset.criteria:
                        outcome = resolve(criterion, matches)
                        if unread_orders.get(therapy) and criterion.id in part.order_criteria:
                            outcome = _unread(criterion, unread_orders[therapy])
                        results[criterion.id] = outcome
                        if criterion.id in self._results_read:
                            session.assert_fact(collector.view(_result_fact(outcome)))
                    status = decide(therapy, results, matches)
                    if part.status_read:
                        session.assert_fact(collector.view({"t": "status", "therapy": therapy, "status": status}))
                    decided[therapy] = (results, status, matches)
            finally:
                _ACTIVE.pop(self.name, None)
        return {therapy: Outcome(criteria=results, matches=matches, status=status)
                for therapy, (results, status, matches) in decided.items()}


# durable-rules links at most 256 rules to one node of its network (BETA_LIST_LENGTH in its rete):
# measured, 30 rulesets compiled together passed it. Therapies are compiled in shards of this
# many, each its own durable-rules ruleset; no rule reads another therapy's results, so a shard
# decides its therapies as the whole would.
SHARD_SIZE = 12


class Shards:
    """Rulesets compiled in shards of SHARD_SIZE Engines, answering as one Engine (parts, run):
    each shard is given the record's facts and its own therapies' derived facts."""

    def __init__(self, rulesets: Sequence[tuple[Ruleset, ParsedRuleset]]) -> None:
        self.engines = [Engine(rulesets[i:i + SHARD_SIZE]) for i in range(0, len(rulesets), SHARD_SIZE)]
        self.parts: dict[str, _Part] = {t: p for e in self.engines for t, p in e.parts.items()}
        # The durable-rules ruleset of each shard.
        self.names = [e.name for e in self.engines]

    def run(self, facts: list[dict[str, Any]], derived: dict[str, list[dict[str, Any]]], context: dict[str, Any],
            decide: Decide, unread_orders: dict[str, list[str]] | None = None) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        for engine in self.engines:
            outcomes.update(engine.run(facts, {t: d for t, d in derived.items() if t in engine.parts}, context, decide,
                                       {t: o for t, o in (unread_orders or {}).items() if t in engine.parts}))
        return outcomes


def resolve(criterion: Criterion, matches: Matches) -> CriterionOutcome:
    """A criterion's outcome: its first branch whose clause matched, else its otherwise."""
    for branch in criterion.branches:
        bindings = matches.of(branch)
        if bindings:
            return CriterionOutcome(id=criterion.id, result=branch.result, category=branch.category,
                                    reason=render(branch.reason, bindings), evidence=evidence(bindings))
    other = criterion.otherwise
    return CriterionOutcome(id=criterion.id, result=other.result, category=None,
                            reason=render(other.reason, []), evidence=[])


def _unread(criterion: Criterion, orders: list[str]) -> CriterionOutcome:
    return CriterionOutcome(
        id=criterion.id, result="unknown", category=None, evidence=list(orders),
        reason="The order's drug cannot be read (its medication reference does not "
               "resolve): this criterion cannot be told.")


def _result_fact(outcome: CriterionOutcome) -> dict[str, Any]:
    fact = {"t": "result", "criterion": outcome.id, "result": outcome.result,
            "evidence": outcome.evidence, "display": outcome.reason}
    if outcome.category:
        fact["category"] = outcome.category
    return fact


def _viewed(facts: Iterable[dict[str, Any]], fields: Fields) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Facts grouped by the engine's view of them (what some rule tests), in first-seen order,
    each with that view (made once per fact).

    A record repeating one diagnosis 20,000 times then costs one assertion, not 20,000: the
    engine's work grows with distinct facts, while evidence and reasons still name every entry.
    Keyed by the tested view, 20,000 conditions that differ only in what no rule reads (each
    its own onset date) are one fact too: durable-rules matches every asserted fact against
    the ones already in the session, so distinct facts cost time growing with their square.
    Sound because no rule binds two facts that are equal in everything it tests (counts are
    derived facts, computed before the rules). One dict lookup per fact: linear.
    """
    groups: dict[bytes, tuple[list[dict[str, Any]], dict[str, Any]]] = {}
    for fact in facts:
        view = engine_view(fact, 0, fields)
        key = orjson.dumps(view, option=orjson.OPT_SORT_KEYS)
        entry = groups.get(key)
        if entry is None:
            entry = groups[key] = ([], view)
        entry[0].append(fact)
    return list(groups.values())


def engine_view(fact: dict[str, Any], position: int, fields: Fields | None = None) -> dict[str, Any]:
    """The fact as durable-rules sees it: lists become flags, nothing else is an array; with
    `fields`, only the properties and flags a rule tests.

    durable-rules 2.0.28 corrupts its heap (double free) when a negated pattern tests an
    array; flags (`vs__cancer-related-pain: true`) are plain properties. Leaving out what no
    pattern names changes no match: a pattern tests only the properties it names (`$nex`
    included, and a name it tests is kept).
    """
    view: dict[str, Any] = {"i": position}
    if fields is None:
        for key, value in fact.items():
            if key == "group" or key == "evidence":
                continue
            if isinstance(value, list):
                view.update({flag(key, str(item)): True for item in value})
            else:
                view[key] = value
        return view
    # Made for every fact of a record (20,000 conditions: 20,000 views), so kept to lookups.
    names, flags = fields.of_type(fact.get("t"))
    for key, value in fact.items():
        if isinstance(value, list):
            tested = flags.get(key)
            if tested is not None:
                for item in value:
                    name = tested.get(item if isinstance(item, str) else str(item))
                    if name is not None:
                        view[name] = True
        elif key in names:
            view[key] = value
    return view


def evidence(bindings: list[Binding]) -> list[str]:
    """Resource references of the facts behind a match, in order, without repeats."""
    # A dict keeps first-seen order with O(1) membership: a list made 20,000 conditions quadratic.
    refs: dict[str, None] = {}
    for binding in bindings:
        for fact in binding:
            refs.update(dict.fromkeys(_summary(fact, "ref", _own_refs)))
    return list(refs)


def _own_refs(fact: dict[str, Any], _: str) -> list[str]:
    return [ref for ref in [fact.get("ref"), *fact.get("evidence", ())] if ref]


def _shown(fact: dict[str, Any], key: str) -> list[str]:
    """A fact's value of `key` as a reason shows it (none for the context, the status, t and id)."""
    value = fact.get(key)
    if (fact.get("t") in ("context", "status") or key in ("t", "id")
            or not isinstance(value, (str, int, float)) or isinstance(value, bool)):
        return []
    return [f"{value:g}" if isinstance(value, float) else str(value)]


def _summary(fact: dict[str, Any], key: str, each: Callable[[dict[str, Any], str], list[str]]) -> Iterable[str]:
    """What `each` gives for a bound fact, over every member of its group, without repeats, in
    order; remembered on the group for the evaluation (a diagnosis entered 20,000 times is bound
    by many clauses, and each reason and evidence list would read every entry again)."""
    group = fact.get("group")
    if group is None:
        return each(fact, key)
    summaries = fact.setdefault("summaries", {})
    found = summaries.get((each, key))
    if found is None:
        seen: dict[str, None] = {}
        for member in group:
            seen.update(dict.fromkeys(each(member, key)))
        found = summaries[(each, key)] = tuple(seen)
    return found


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@functools.lru_cache(maxsize=4096)
def _names(template: str) -> frozenset[str]:
    """The fields a reason template names (parsed once per template, not once per evaluation)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def render(template: str, bindings: list[Binding]) -> str:
    """Fill a reason template from the matched facts: {display}, {age}, {span_days}, ..."""
    names = _names(template)
    if not names:
        return template.format_map(_Values())
    values: dict[str, dict[str, None]] = defaultdict(dict)
    for binding in bindings:
        for fact in binding:
            for key in names:
                values[key].update(dict.fromkeys(_summary(fact, key, _shown)))
    filled = _Values({name: listed(list(values[name]), "; ") for name in names if values.get(name)})
    return template.format_map(filled)
