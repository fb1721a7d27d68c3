"""Compile a ruleset's parsed conditions (cds/conditions.py) into durable-rules rules.

Each condition is turned into disjunctive normal form: one durable-rules rule per conjunction.
Derived facts (a measurement picked in a window, a count) are computed by cds/derive.py before
the rules run; their terms here only compare.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..conditions import COMPARISONS, ORDER_MEASURES, All, Any_, Compare, Node, Not, ParsedRuleset, Term
from ..ruleset import Ruleset
from ..texts import phrase_flag


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
    return _PATTERNS[term.kind](term.spec, therapy, term.derived)


def _one_of(field: str, values: list[Any]) -> dict[str, Any]:
    if len(values) == 1:
        return {field: values[0]}
    return {"$or": [{field: v} for v in values]}


def _one_of_flags(flags: list[str]) -> dict[str, Any]:
    if len(flags) == 1:
        return {flags[0]: True}
    return {"$or": [{flag: True} for flag in flags]}


def _any_item(field: str, values: list[str]) -> dict[str, Any]:
    return _one_of_flags([flag(field, v) for v in values])


def flag(field: str, value: str) -> str:
    """The flag that stands for `value in fact[field]` (see run.engine_view)."""
    return f"{field}__{value}"


def _compare(field: str, compare: Compare) -> list[dict[str, Any]]:
    if compare.unknown:
        return [{"$nex": {field: 1}}]
    return [{field: number} if op == "eq" else {COMPARISONS[op]: {field: number}} for op, number in compare.bounds]


def _bounded(compare: Compare, prefix: str = "") -> list[dict[str, Any]]:
    """A measured value compared through its bounds (cds/derive.py `_bounds`): "below X" holds when
    the upper bound is under X, or is X and open ("<1 %" is below 1 %); "at most X" when the upper
    bound is at most X; "above" and "at least" alike on the lower bound; "equal" when both bounds
    are X. A value that is only a bound never decides the other side: it matches neither branch."""
    if compare.unknown:
        return [{"$nex": {f"{prefix}upper": 1}}, {"$nex": {f"{prefix}lower": 1}}] if prefix else [{"$nex": {"value": 1}}]
    parts: list[dict[str, Any]] = []
    upper, lower = f"{prefix}upper", f"{prefix}lower"
    for op, number in compare.bounds:
        if op == "eq":
            parts += [{upper: number}, {lower: number}]
        elif op in ("lt", "gt"):
            side = upper if op == "lt" else lower
            strict, reached = ("$lt", "$lte") if op == "lt" else ("$gt", "$gte")
            parts.append({"$or": [{strict: {side: number}},
                                  {"$and": [{f"{side}_open": True}, {reached: {side: number}}]}]})
        else:
            parts.append({("$lte" if op == "le" else "$gte"): {upper if op == "le" else lower: number}})
    return parts


def anchor(before: str, therapy: str) -> str:
    """The prefix of the day counts back from a window's anchor (cds/facts.py `_windows`): the
    as-of date, or the date of this therapy's order (each therapy's order has its own date, and
    the facts of one evaluation carry the counts of every therapy's)."""
    return "asof" if before == "as-of" else f"order_{therapy}"


def _window(spec: dict[str, Any], therapy: str) -> list[dict[str, Any]]:
    """Within N days before the anchor: the span started by the anchor and ended at most N
    days before it (cds/facts.py `_windows`)."""
    if "within_days" not in spec:
        return []
    prefix = anchor(spec["before"], therapy)
    return [{"$gte": {f"{prefix}_start_ago": 0}}, {"$lte": {f"{prefix}_end_ago": spec["within_days"]}}]


def _condition(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"t": "condition"}]
    if not spec.get("any_status"):
        parts.append({"active": True})
    if "in" in spec:
        parts.append(_any_item("vs", spec["in"]))
    if "text" in spec:
        parts.append(_any_item("texts", [phrase_flag(p) for p in spec["text"]]))
    # A flag is present only when true (run.engine_view): "not in the set" is its absence.
    parts += [{"$nex": {flag("vs", v): 1}} for v in spec.get("not_in", ())]
    return {"$and": [*parts, *_window(spec, therapy)]}


def _derived(key: str | None, therapy: str, *parts: dict[str, Any]) -> dict[str, Any]:
    # A derived fact is computed for one therapy (its windows may end at that therapy's order).
    return {"$and": [{"t": "derived"}, {"key": key}, {"therapy": therapy}, *parts]}


def _counted(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    return _derived(derived, therapy, {"$gte": {"count": spec["at_least"]}})


def _medication(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"t": "medication"}]
    # Classes are flags present for every class (class_<name>: true/false), so that
    # not_class can test a flag instead of negating a pattern.
    if "class" in spec:
        parts.append(_one_of_flags([f"class_{n}" for n in spec["class"]]))
    for name in spec.get("not_class", []):
        parts.append({f"class_{name}": False})
    if "ingredient" in spec:
        parts.append(_any_item("ingredients", spec["ingredient"]))
    for key, field in (("route", "route"), ("route_class", "route_class"), ("status", "status"),
                       ("delivery", "delivery"), ("regimen", "regimen"), ("given_as", "given_as")):
        if key in spec:
            parts.append(_one_of(field, spec[key]))
    if "route_labelled" in spec:
        parts.append(_one_of("label_route", _labelled(spec["route_labelled"])))
    # Drafts of the call that are not under evaluation (order-select's other draftOrders) are
    # facts only for `order: other`: they are neither an order nor history.
    if spec.get("order") is True:
        parts.append(_any_item("order_for", [therapy]))
    elif spec.get("order") is False:
        parts += [{"order": False}, {"drafted": False}]
    elif spec.get("order") == "other":
        # Neither this therapy's order nor a draft its routing claims (a bolus drafted with the
        # infusion is the same course). Flags are present only when true (run.engine_view).
        parts += [{"drafted": True}, {"$nex": {flag("order_for", therapy): 1}},
                  {"$nex": {flag("routed_to", therapy): 1}}]
    else:
        parts.append({"$or": [{"order": True}, {"drafted": False}]})
    if "status_reason" in spec:
        parts.append({"status_reason": spec["status_reason"]})
    if "timing_text" in spec:
        parts.append(_any_item("timing_texts", [phrase_flag(p) for p in spec["timing_text"]]))
    if "routed_to" in spec:
        parts.append(_any_item("routed_to", spec["routed_to"]))
    parts += _window(spec, therapy)
    if "started_days_before" in spec:
        # A request without a start has no *_start_ago, so it never matches.
        prefix = anchor(spec["before"], therapy)
        parts.append({"$gte": {f"{prefix}_start_ago": spec["started_days_before"]}})
    if "started_within_days" in spec:
        # The start itself in the window, whatever the request's end (a page saying "authored
        # within 30 days"): an ongoing request started earlier does not reach into it.
        prefix = anchor(spec["before"], therapy)
        parts += [{"$gte": {f"{prefix}_start_ago": 0}}, {"$lte": {f"{prefix}_start_ago": spec["started_within_days"]}}]
    for measure in ORDER_MEASURES:
        if measure in spec:
            parts += _compare(measure, spec[measure])
    return {"$and": parts}


def _labelled(routes: list[str]) -> list[str]:
    """The `label_route` values a page claiming `routes` accepts: a stated route among them, or,
    with none stated, labelled routes all among them (every combination, joined as
    cds/terminology/drugs.py `label_route` joins them)."""
    ordered = sorted(set(routes))
    return ["+".join(c) for n in range(1, len(ordered) + 1) for c in itertools.combinations(ordered, n)]


def _service_order(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    parts = [{"t": "service-order"}, _any_item("order_for", [therapy])]
    if "in" in spec:
        parts.append(_any_item("vs", spec["in"]))
    if "quantity" in spec:
        parts += _compare("quantity", spec["quantity"])
    return {"$and": parts}


def _patient(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"t": "patient"}]
    if "age_at_least" in spec:
        parts.append({"$gte": {"age_years": spec["age_at_least"]}})
    if "age_below" in spec:
        parts.append({"$lt": {"age_years": spec["age_below"]}})
    if "age_days_at_most" in spec:
        parts.append({"$lte": {"age_days": spec["age_days_at_most"]}})
    if spec.get("age") == "unknown":
        parts.append({"$nex": {"age_years": 1}})
    if "gender" in spec:
        parts.append(_one_of("gender", spec["gender"]))
    return {"$and": parts}


def _course(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    # Course ids are named per ruleset: a course fact carries the therapy it was built for.
    parts: list[dict[str, Any]] = [{"t": "course"}, {"therapy": therapy}, {"id": spec["id"]}]
    if "min_days" in spec:
        parts.append({"$gte": {"span_days": spec["min_days"]}})
    if "stopped_with_reason" in spec:
        parts.append({"stopped_with_reason": spec["stopped_with_reason"]})
    return {"$and": parts}


def _observation(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if "value" in spec:
        parts += _bounded(spec["value"])
    if "loss" in spec:
        parts += _compare("value", spec["loss"])
    if "rise" in spec:
        parts += _compare("value", spec["rise"])
    if "spread" in spec:
        parts += _compare("spread_days", spec["spread"])
    if "change" in spec:
        parts += _compare("change", spec["change"])
    if "answer" in spec:
        parts.append(_any_item("answers", spec["answer"]))
    if "interpretation" in spec:
        parts.append(_any_item("interpretation", spec["interpretation"]))
    if spec.get("below_reference_low"):
        parts.append({"below_low": True})
    if "low_percent" in spec:
        parts += _bounded(spec["low_percent"], "low_percent_")
    if "same_day" in spec:
        parts += _bounded(spec["same_day"], "same_day_")
    if "value_text" in spec:
        parts.append(_any_item("value_texts", [phrase_flag(p) for p in spec["value_text"]]))
    if "method_text" in spec:
        parts.append(_any_item("method_texts", [phrase_flag(p) for p in spec["method_text"]]))
    if "count_at_least" in spec:
        parts.append({"$gte": {"count": spec["count_at_least"]}})
    return _derived(derived, therapy, *parts)


def _valued(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    """A derived fact whose `value` is compared (a ratio, a total; absent: cannot be told)."""
    return _derived(derived, therapy, *(_compare("value", spec["value"]) if "value" in spec else []))


def _doses_per_day(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if spec.get("untimed"):
        parts.append({"$gte": {"untimed": 1}})
    else:
        parts.append({"$gte": {"value": spec["at_least"]}})
    if "started_days_before" in spec:
        parts.append({"$gte": {"started_days": spec["started_days_before"]}})
    return _derived(derived, therapy, *parts)


def _counted_any(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    """A derived fact asserted only when it found an entry (a condition read by its date): its
    presence is the answer, its window was applied before the rules (cds/derive.py)."""
    return _derived(derived, therapy)


def _pregnancy(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    """Pregnant at the as-of date (cds/pregnancy.py), and the gestational age compared through its
    bounds, as a measured value is (a range a cut-off straddles decides neither way)."""
    parts: list[dict[str, Any]] = [{"pregnant": True}] if spec.get("pregnant") else []
    if "weeks" in spec:
        parts += _bounded(spec["weeks"])
    return _derived(derived, therapy, *parts)


def _procedure(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    # A flag is present only when true (run.engine_view): "no later procedure names it" is its absence.
    later = [{"$nex": {flag("followed_by", phrase_flag(p)): 1}} for p in spec.get("not_followed_by", ())]
    later += [{"$nex": {flag("followed_by_vs", v): 1}} for v in spec.get("not_followed_by_in", ())]
    return {"$and": [{"t": "procedure"}, _any_item("vs", spec["in"]), *_window(spec, therapy), *later]}


def _immunization(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    return {"$and": [{"t": "immunization"}, _any_item("vs", spec["in"]), *_window(spec, therapy)]}


def _record(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    return {"$and": [{"t": "record"}, *({part: 0} for part in spec["empty"])]}


def _result(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"t": "result"}, {"criterion": spec["criterion"]}]
    if "is" in spec:
        parts.append(_one_of("result", spec["is"]))
    if "category" in spec:
        parts.append(_one_of("category", spec["category"]))
    return {"$and": parts}


def _status(spec: dict[str, Any], therapy: str, derived: str | None) -> dict[str, Any]:
    return {"$and": [{"t": "status"}, {"therapy": therapy}, _one_of("status", spec["is"])]}


_PATTERNS: dict[str, Callable[[dict[str, Any], str, str | None], dict[str, Any]]] = {
    "condition": _condition,
    "conditions_count": _counted,
    "medication": _medication,
    "medication_classes": _counted,
    "service_order": _service_order,
    "patient": _patient,
    "course": _course,
    "observation": _observation,
    "observation_ratio": _valued,
    "orders_total": _valued,
    "doses_per_day": _doses_per_day,
    "pregnancy": _pregnancy,
    "dated_condition": _counted_any,
    "procedure": _procedure,
    "immunization": _immunization,
    "record": _record,
    "result": _result,
    "status": _status,
}
