"""The boundaries of a ruleset, and which of them a case's record exercises.

A boundary is one number a rule compares, as the engine compiles it (cds/engine/compile.py): a
threshold on an age, a day count, an observation's value, an order's volume, dose, interval or
duration, a count, a loss or a ratio (`lt`, `le`, `gt`, `ge`, `eq`, `at_least`, `min_days`...),
or the edge of a window (`within_days`). A case exercises a side of it when its record puts a
value there, read from the facts the engine is given for that case (cds/facts.py, cds/derive.py),
among those the rest of the term accepts:

- "at": the value equals the threshold (the window's edge: dated exactly N days before its anchor);
- "past": the value is on the other side of the threshold, no more than one step away (one day,
  year or count; one unit of the threshold's last written digit: 30 -> 29, 0.5 -> 0.4; for
  `eq`, either side), or one day outside a window (N + 1 days before its anchor).

fixtures/cases/README.md says the same for case writers; tests/test_fixtures.py asks both sides of
every boundary of every criterion branch, finding and billing code of every ruleset.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cds.conditions import Term, terms
from cds.conditions.measured import first_request
from cds.derive import derived_facts
from cds.engine.compile import pattern
from cds.engine.run import engine_view
from cds.facts import PatientFacts
from cds.knowledge import Knowledge
from cds.texts import phrase_flag

OPS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "$lt": ("lt", operator.lt), "$lte": ("le", operator.le), "$gt": ("gt", operator.gt),
    "$gte": ("ge", operator.ge), "=": ("eq", operator.eq)}
# Terms whose numbers are no thresholds: `record: {empty: [...]}` compares counts with 0.
_NOT_THRESHOLDS = {"record"}
# Derived terms whose window is applied before the rules (cds/derive.py), on these record entries.
_DERIVED_WINDOWS = {"observation", "observation_ratio", "medication_classes", "dated_condition"}


# Comparisons that share their two sides: `lt 30` and `ge 30` both ask 30 and 29.
_FAMILY = {"lt": "lt", "ge": "lt", "le": "le", "gt": "le", "eq": "eq"}
# A window this long stands for "any time" (rulesets write 36500 days): it has no edge to test.
ANY_TIME_DAYS = 36500


@dataclass(frozen=True)
class Comparison:
    """One compiled comparison of one term: the term and its atom (None: a derived window)."""

    term: Term
    atom: Any


@dataclass
class Boundary:
    therapy: str
    item: str            # the criterion, finding or billing code whose condition compares it
    where: str           # "S9494.renal branch 2" (the first clause naming it, for messages)
    kind: str            # the term kind (observation, medication, patient...)
    field: str           # the fact's property compared, or "window"
    op: str              # lt le gt ge eq (window: le, N days before)
    threshold: float
    # Every term of the item comparing it (one per drug class, per branch...): any of them counts.
    comparisons: list[Comparison]

    @property
    def label(self) -> str:
        spec = self.comparisons[0].term.spec
        sets = [*spec.get("in", ()), *spec.get("numerator", ()), *spec.get("denominator", ())]
        what = self.kind + (f" ({', '.join(sets)})" if sets and self.kind != "procedure" else "")
        number = f"{self.threshold:g}"
        if self.field == "window":
            return f"{self.where}: {what} within {number} days"
        if "loss_days" in spec:  # the value compared is the percentage lost
            return f"{self.where}: {what} loss_percent {self.op} {number} (baseline {spec['loss_days']} days)"
        if "rise_days" in spec:  # the value compared is the rise above the lowest before it
            return f"{self.where}: {what} rise {self.op} {number} {spec['unit']} (baseline {spec['rise_days']} days)"
        unit = f" {spec['unit']}" if self.field in ("value", "change") and "unit" in spec else ""
        return f"{self.where}: {what} {self.field} {self.op} {number}{unit}"


def boundaries(knowledge: Knowledge, therapy: str) -> list[Boundary]:
    """Every boundary of the criteria branches, findings and billing codes of one ruleset."""
    ruleset = knowledge.rulesets[therapy]
    parsed = knowledge.parsed[therapy]
    owners: dict[str, str] = {}
    for criterion in ruleset.criteria:
        owners.update({f"c|{criterion.id}|{n}": criterion.id for n in range(len(criterion.branches))})
    for finding in ruleset.findings:
        owners[f"f|{finding.id}"] = owners[f"fi|{finding.id}"] = finding.id
    # The billing codes are one choice: S9365's `le 1000` and S9366's `gt 1000` are one boundary.
    owners.update({f"b|{n}": f"{therapy} billing" for n in range(len(ruleset.billing.codes))})
    found: dict[tuple[Any, ...], Boundary] = {}
    for clause in parsed.clauses:
        item = owners.get(clause.key)
        if item is None:
            continue
        where = clause.where.split(": ", 2)[-1]
        for term in terms(clause.node):
            if term.kind in _NOT_THRESHOLDS:
                continue
            for field, op, number, atom in _comparisons(term, therapy):
                # One boundary per item, measure and number: `lt 500` in one branch and `ge 500`
                # in the next, or the same window of one term per drug class, are one boundary.
                # A measured value is compared through its bounds (upper for below / at most, lower
                # for above / at least: cds/engine/compile.py `_bounded`): one value, one boundary,
                # read from the value itself.
                field = "value" if field in _BOUNDS else field
                key = (item, term.kind, term.derived and _measure(term), field, _FAMILY[op], number)
                boundary = found.setdefault(key, Boundary(therapy, item, where, term.kind, field, op, number, []))
                boundary.comparisons.append(Comparison(term, atom))
    return list(found.values())


def _measure(term: Term) -> str:
    """What a derived term measures, whatever it compares (the same sets, units and window)."""
    return repr(sorted((k, repr(v)) for k, v in term.spec.items()
                       if k not in ("value", "loss", "rise", "spread", "change", "count_at_least", "at_least", "answer",
                                    "interpretation", "value_text", "method_text", "below_reference_low")))


def _comparisons(term: Term, therapy: str) -> Iterator[tuple[str, str, float, Any]]:
    for part in pattern(term, therapy).get("$and", []):
        atom = _comparison(part)
        if atom is None:
            continue
        field, op, number = atom
        if field.endswith("_start_ago") and op == "ge" and number == 0:
            continue  # "started by the anchor day" (a window's near side, started_days_before: 0): no threshold
        if field.endswith("_end_ago") and number >= ANY_TIME_DAYS:
            continue
        if op in ("ge", "gt") and number == 0 and field != "change":
            continue  # "has a value" (a volume, a weight): no measure here is below 0
        yield field, op, float(number), part
    days = term.spec.get("within_days")
    if term.derived and term.kind in _DERIVED_WINDOWS and days is not None and days < ANY_TIME_DAYS:
        yield "window", "le", float(days), None


# The bounds of a measured value (cds/engine/compile.py `_bounded`).
_BOUNDS = ("upper", "lower")


def _comparison(part: Any) -> tuple[str, str, float] | None:
    if not isinstance(part, dict) or len(part) != 1:
        return None
    (key, value), = part.items()
    if key == "$or" and value and (first := _comparison(value[0])) is not None and first[0] in _BOUNDS:
        return first  # "below X": the bound under X, or at X and open ("<1 %")
    if key in OPS and isinstance(value, dict) and len(value) == 1:
        (field, number), = value.items()
        return str(field), OPS[key][0], number
    if not key.startswith("$") and key not in ("t", "key") and _number(value):
        return key, "eq", value
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Which sides a case exercises ---------------------------------------------------------------------


def step(threshold: float) -> float:
    """One unit of the threshold's last written digit: 30 -> 1, 0.5 -> 0.1, 1.25 -> 0.01."""
    exponent = Decimal(repr(threshold)).normalize().as_tuple().exponent
    return 10.0 ** min(int(exponent), 0)


def sides(boundary: Boundary, values: list[float]) -> set[str]:
    """The sides ("at", "past") these values, seen by the term, put on a boundary."""
    found: set[str] = set()
    t = boundary.threshold
    if boundary.field == "window":
        found |= {"at" for v in values if v == t} | {"past" for v in values if v == t + 1}
        return found
    holds = {o: f for o, f in OPS.values()}[boundary.op]
    reach = step(t) + 1e-9
    for v in values:
        if math.isclose(v, t, abs_tol=1e-9):
            found.add("at")
        elif abs(v - t) <= reach and (boundary.op == "eq" or holds(v, t) != holds(t, t)):
            found.add("past")
    return found


class CaseFacts:
    """The facts the engine is given for one case, per therapy (built once, no rules run)."""

    def __init__(self, knowledge: Knowledge, facts: PatientFacts) -> None:
        self.knowledge = knowledge
        self.facts = facts
        self._engine: dict[str, list[dict[str, Any]]] = {}

    def engine(self, therapy: str) -> list[dict[str, Any]]:
        if therapy not in self._engine:
            derived = derived_facts(self.facts, therapy, self.knowledge.parsed[therapy].derived.values(),
                                    self.knowledge.terminology.units, [])
            self._engine[therapy] = [engine_view(f, n) for n, f in
                                     enumerate([*self.facts.engine_facts([therapy]), *derived])]
        return self._engine[therapy]

    def values(self, boundary: Boundary) -> list[float]:
        """The values the boundary's terms compare in this record, among the facts the rest of
        each term accepts (a window: the days before its anchor of the entries it reads)."""
        found: list[float] = []
        for comparison in boundary.comparisons:
            if comparison.atom is None:
                found += self._window_days(boundary, comparison.term)
                continue
            compiled = pattern(comparison.term, boundary.therapy)
            rest = {"$and": [p for p in compiled["$and"] if p != comparison.atom]}
            found += [f[boundary.field] for f in self.engine(boundary.therapy)
                      if _number(f.get(boundary.field)) and matches(rest, f)]
        return found

    def _window_days(self, boundary: Boundary, term: Term) -> list[float]:
        spec, facts = term.spec, self.facts
        order = facts.order_date(boundary.therapy)
        anchors = {"as-of": facts.patient.as_of, "order": order, "order-or-as-of": order or facts.patient.as_of}
        if spec.get("before") == "first-request":
            anchors["first-request"] = first_request(facts, spec["first_request"], spec.get("first_request_not", ()))
        anchor = anchors[spec.get("before", "as-of")]  # a condition's window counts from the as-of date
        if anchor is None:
            return []
        if term.kind == "dated_condition":
            dates = [c.date for c in facts.conditions if set(spec["in"]).intersection(c.vs)]
        elif term.kind == "medication_classes":
            dates = [m.end or m.start for m in facts.medications
                     if not m.order and (not spec.get("status") or m.status in spec["status"])
                     and any(m.classes.get(c) for c in spec["classes"])]
        else:
            wanted = set(spec.get("in", ())) | set(spec.get("numerator", ())) | set(spec.get("denominator", ()))
            named = {phrase_flag(p) for p in spec.get("text", ())}
            units = set(spec.get("units", ()))
            dates = [o.date for o in facts.observations_in(wanted, named) if not units or o.unit in units]
        return [float((anchor - d).days) for d in dates if isinstance(d, dt.date)]


def matches(part: Any, fact: dict[str, Any]) -> bool:
    """A compiled pattern judged on one fact as the engine sees it (engine_view): the operators
    cds/engine/compile.py writes ($and, $or, $nex, comparisons, equality)."""
    (key, value), = part.items()
    if key == "$and":
        return all(matches(p, fact) for p in value)
    if key == "$or":
        return any(matches(p, fact) for p in value)
    if key == "$nex":
        return not any(name in fact for name in value)
    if key in OPS:
        (field, number), = value.items()
        return _number(fact.get(field)) and OPS[key][1](fact[field], number)
    return key in fact and fact[key] == value
