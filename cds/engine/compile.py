"""Compile a ruleset's conditions (YAML data) into durable-rules rule definitions.

A condition is a small language over the facts (see rulesets/README.md):
  {condition: {in: [valueset, ...]}}             an active condition in one of the sets
  {medication: {class: [...], route_class: [...], delivery: [...], order: true, ...}}
  {service_order: {}}                             a ServiceRequest for this therapy's HCPCS code
  {patient: {age_at_least: 4}} | {patient: {age_below: 4}} | {patient: {age: unknown}}
  {course: {id: ..., min_days: 42}} | {course: {id: ..., stopped_with_reason: true}}
  {result: {criterion: ID, is: [met], category: [...]}}  an earlier criterion's result
  {status: [needs-review, ...]}                   the therapy's status (alternatives only)
  {all: [...]}, {any: [...]}, {none: <data term>}
It is turned into disjunctive normal form: one durable-rules rule per conjunction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..ruleset import Condition, Ruleset, RulesetError, strip_lines
from ..terminology import Terminology, ValueSets

DATA_TERMS = {"condition", "medication", "service_order", "patient", "course"}
MEDICATION_STATUSES = {"active", "on-hold", "cancelled", "completed", "entered-in-error",
                       "stopped", "draft", "unknown"}
DELIVERY = {"continuous", "intermittent", "unknown"}
STATUSES = {"eligible", "needs-review", "insufficient-information", "not-eligible"}
RESULTS = {"met", "not-met", "unknown", "not-applicable"}


@dataclass(frozen=True)
class Term:
    kind: str
    pattern: dict[str, Any]
    negated: bool = False


@dataclass(frozen=True)
class Clause:
    """Something the rules decide: a criterion branch, a finding, a document, an offer, a lead."""

    key: str
    when: Condition | None


@dataclass
class Scope:
    """What a condition may refer to where it stands."""

    ruleset: Ruleset
    terminology: Terminology
    valuesets: ValueSets
    criteria: list[str]       # criteria whose results may be read
    status: bool              # whether {status: ...} may be read
    where: str                # for error messages


def clauses(ruleset: Ruleset) -> list[tuple[Clause, list[str], bool, str]]:
    """Every clause with the criteria it may read, whether it may read status, and its place."""
    found: list[tuple[Clause, list[str], bool, str]] = []
    ids = [c.id for c in ruleset.criteria]
    for index, criterion in enumerate(ruleset.criteria):
        for number, branch in enumerate(criterion.branches):
            where = f"{ruleset.file}: line {branch.line}: {criterion.id} branch {number + 1}"
            found.append((Clause(f"c|{criterion.id}|{number}", branch.when), ids[:index], False, where))
    for finding in ruleset.findings:
        found.append((Clause(f"f|{finding.id}", finding.when), ids, False,
                      f"{ruleset.file}: line {finding.line}: {finding.id}"))
    for doc in ruleset.documentation:
        found.append((Clause(f"d|{doc.id}", doc.when), ids, False,
                      f"{ruleset.file}: line {doc.line}: {doc.id}"))
    for alternative in ruleset.alternatives:
        for number, offer in enumerate(alternative.offered):
            found.append((Clause(f"o|{alternative.id}|{number}", offer.when), ids, True,
                          f"{ruleset.file}: line {offer.line}: {alternative.id} offer {number + 1}"))
        for number, tried in enumerate(alternative.tried):
            found.append((Clause(f"t|{alternative.id}|{number}", tried.when), ids, True,
                          f"{ruleset.file}: line {tried.line}: {alternative.id} tried {number + 1}"))
        for number, lead in enumerate(alternative.lead):
            found.append((Clause(f"l|{alternative.id}|{number}", lead.when), ids, True,
                          f"{ruleset.file}: line {lead.line}: {alternative.id} lead {number + 1}"))
    return found


def compile_ruleset(
    ruleset: Ruleset,
    terminology: Terminology,
    valuesets: ValueSets,
    action: Callable[[str, int], Callable[[Any], None]],
) -> dict[str, Any]:
    """The durable-rules definition of a ruleset; `action(key, n_bindings)` makes each action."""
    definition: dict[str, Any] = {}
    for clause, readable, status, where in clauses(ruleset):
        scope = Scope(ruleset, terminology, valuesets, readable, status, where)
        condition = strip_lines(clause.when) if clause.when is not None else {"all": []}
        for number, conjunction in enumerate(dnf(condition, scope)):
            terms = list(conjunction)
            if any(t.negated for t in terms):
                # durable-rules judges a negation against the facts that arrived between the
                # positive terms around it, in their order. So the context fact (asserted after
                # every data fact) comes first, then the negations, then the positive terms:
                # negations are then judged on the whole record (tests/test_engine_negation.py).
                terms = ([Term("context", {"t": "context"})]
                         + [t for t in terms if t.negated] + [t for t in terms if not t.negated])
            rule: list[dict[str, Any]] = []
            positives = 0
            for index, term in enumerate(terms):
                if term.negated:
                    rule.append({f"n{index}$not": term.pattern})
                else:
                    rule.append({f"b{positives}": term.pattern})
                    positives += 1
            definition[f"{clause.key}#{number}"] = {"all": rule, "run": action(clause.key, positives)}
    return definition


def dnf(condition: Any, scope: Scope) -> list[tuple[Term, ...]]:
    if not isinstance(condition, dict) or len(condition) != 1:
        raise RulesetError(f"{scope.where}: a condition is a mapping with exactly one key, got {condition!r}")
    (key, value), = condition.items()
    if key == "all":
        parts = [dnf(c, scope) for c in _list(value, scope, key)]
        return [tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*parts)]
    if key == "any":
        options = _list(value, scope, key)
        if not options:
            raise RulesetError(f"{scope.where}: any: needs at least one condition")
        return [conj for c in options for conj in dnf(c, scope)]
    if key == "none":
        inner = dnf(value, scope)
        if len(inner) != 1 or len(inner[0]) != 1 or inner[0][0].kind not in DATA_TERMS:
            raise RulesetError(f"{scope.where}: none: takes one condition, medication, patient or course term")
        term = inner[0][0]
        return [(Term(term.kind, term.pattern, negated=True),)]
    builder = _TERMS.get(key)
    if builder is None:
        raise RulesetError(f"{scope.where}: unknown condition {key!r}")
    if not isinstance(value, (dict, list)):
        raise RulesetError(f"{scope.where}: {key}: expects a mapping")
    return [(Term(key, builder(value, scope)),)]


def _list(value: Any, scope: Scope, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise RulesetError(f"{scope.where}: {key}: expects a list")
    return value


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


def _names(spec: dict[str, Any], key: str, allowed: set[str], scope: Scope, term: str) -> list[str]:
    value = spec[key]
    values = value if isinstance(value, list) else [value]
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise RulesetError(f"{scope.where}: {term}.{key}: unknown {unknown or 'empty list'}; allowed {sorted(allowed)}")
    return [str(v) for v in values]


def _check_keys(spec: Any, allowed: set[str], scope: Scope, term: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise RulesetError(f"{scope.where}: {term}: expects a mapping")
    unknown = set(spec) - allowed
    if unknown:
        raise RulesetError(f"{scope.where}: {term}: unknown key(s) {sorted(unknown)}; allowed {sorted(allowed)}")
    return spec


def _condition(spec: Any, scope: Scope) -> dict[str, Any]:
    spec = _check_keys(spec, {"in"}, scope, "condition")
    sets = _names(spec, "in", set(scope.valuesets.by_id), scope, "condition")
    return {"$and": [{"t": "condition"}, {"active": True}, _any_item("vs", sets)]}


def _medication(spec: Any, scope: Scope) -> dict[str, Any]:
    keys = {"class", "not_class", "ingredient", "route", "route_class", "status", "order",
            "delivery", "status_reason"}
    spec = _check_keys(spec, keys, scope, "medication")
    term = scope.terminology
    classes = set(term.drug_classes)
    routes = set(term.routes.classes)
    parts: list[dict[str, Any]] = [{"t": "medication"}]
    # Classes are flags present for every class (class_<name>: true/false), so that
    # not_class can test a flag instead of negating a pattern.
    if "class" in spec:
        flags = [f"class_{n}" for n in _names(spec, "class", classes, scope, "medication")]
        parts.append(_one_of_flags(flags))
    if "not_class" in spec:
        for name in _names(spec, "not_class", classes, scope, "medication"):
            parts.append({f"class_{name}": False})
    if "ingredient" in spec:
        ingredients = {i for c in term.drug_classes.values() for i in c.ingredients}
        parts.append(_any_item("ingredients", _names(spec, "ingredient", ingredients, scope, "medication")))
    if "route" in spec:
        parts.append(_one_of("route", _names(spec, "route", routes, scope, "medication")))
    if "route_class" in spec:
        allowed = {"non-invasive", "parenteral", "other", "unknown"}
        parts.append(_one_of("route_class", _names(spec, "route_class", allowed, scope, "medication")))
    if "status" in spec:
        parts.append(_one_of("status", _names(spec, "status", MEDICATION_STATUSES, scope, "medication")))
    if "delivery" in spec:
        parts.append(_one_of("delivery", _names(spec, "delivery", DELIVERY, scope, "medication")))
    if "order" in spec:
        if spec["order"] is True:
            parts.append(_any_item("order_for", [scope.ruleset.therapy]))
        elif spec["order"] is False:
            parts.append({"order": False})
        else:
            raise RulesetError(f"{scope.where}: medication.order: true or false")
    if "status_reason" in spec:
        parts.append({"status_reason": bool(spec["status_reason"])})
    return {"$and": parts}


def _service_order(spec: Any, scope: Scope) -> dict[str, Any]:
    _check_keys(spec, set(), scope, "service_order")
    return {"$and": [{"t": "service-order"}, _any_item("order_for", [scope.ruleset.therapy])]}


def _patient(spec: Any, scope: Scope) -> dict[str, Any]:
    spec = _check_keys(spec, {"age_at_least", "age_below", "age"}, scope, "patient")
    parts: list[dict[str, Any]] = [{"t": "patient"}]
    if "age_at_least" in spec:
        parts.append({"$gte": {"age_years": int(spec["age_at_least"])}})
    if "age_below" in spec:
        parts.append({"$lt": {"age_years": int(spec["age_below"])}})
    if "age" in spec:
        if spec["age"] != "unknown":
            raise RulesetError(f"{scope.where}: patient.age: only 'unknown' is supported")
        parts.append({"$nex": {"age_years": 1}})
    return {"$and": parts}


def _course(spec: Any, scope: Scope) -> dict[str, Any]:
    spec = _check_keys(spec, {"id", "min_days", "stopped_with_reason"}, scope, "course")
    ids = {c.id for c in scope.ruleset.courses}
    course_id = _names(spec, "id", ids, scope, "course")[0]
    parts: list[dict[str, Any]] = [{"t": "course"}, {"id": course_id}]
    if "min_days" in spec:
        parts.append({"$gte": {"span_days": int(spec["min_days"])}})
    if "stopped_with_reason" in spec:
        parts.append({"stopped_with_reason": bool(spec["stopped_with_reason"])})
    return {"$and": parts}


def _result(spec: Any, scope: Scope) -> dict[str, Any]:
    spec = _check_keys(spec, {"criterion", "is", "category"}, scope, "result")
    criterion = _names(spec, "criterion", set(scope.criteria), scope, "result")[0]
    parts: list[dict[str, Any]] = [{"t": "result"}, {"criterion": criterion}]
    if "is" in spec:
        parts.append(_one_of("result", _names(spec, "is", RESULTS, scope, "result")))
    if "category" in spec:
        target = next(c for c in scope.ruleset.criteria if c.id == criterion)
        categories = {b.category for b in target.branches if b.category}
        parts.append(_one_of("category", _names(spec, "category", categories, scope, "result")))
    return {"$and": parts}


def _status(spec: Any, scope: Scope) -> dict[str, Any]:
    if not scope.status:
        raise RulesetError(f"{scope.where}: status: only alternatives may read the status")
    values = _names({"status": spec}, "status", STATUSES, scope, "status")
    return {"$and": [{"t": "status"}, _one_of("status", values)]}


_TERMS: dict[str, Callable[[Any, Scope], dict[str, Any]]] = {
    "condition": _condition,
    "medication": _medication,
    "service_order": _service_order,
    "patient": _patient,
    "course": _course,
    "result": _result,
    "status": _status,
}
