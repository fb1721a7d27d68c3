"""durable-rules negation, as the compiler orders it, matches plain-Python truth.

The compiler puts the context fact first, then negations, then positive terms; other orders
gave wrong answers (a negation ignored when it names the same kind of fact as a positive term).
These cases compare the engine against the obvious Python answer on random records, with
facts in the form the engine asserts them (lists as flags: arrays in negated patterns crash
durable-rules 2.0.28 with a double free).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from cds.engine import host
from cds.engine.run import engine_view

Fact = dict[str, Any]
CTX = {"ctx": {"t": "context"}}
OPIOID = {"$and": [{"t": "med"}, {"op": True}]}
ORDER_BACLOFEN = {"$and": [{"t": "med"}, {"order": True}, {"ing__baclofen": True}]}
ORDER = {"$and": [{"t": "med"}, {"order": True}]}

CASES: dict[str, tuple[list[dict[str, Any]], Callable[[list[Fact], list[Fact]], bool]]] = {
    # opioid-naive: some medication, and no opioid among them
    "history-without-opioid": (
        [CTX, {"n1$not": OPIOID}, {"b0": {"t": "med"}}],
        lambda facts, late: bool(facts) and not any(f["op"] for f in facts),
    ),
    # an order that is not baclofen: the negation names the same fact as the positive term
    "order-not-baclofen": (
        [CTX, {"n1$not": ORDER_BACLOFEN}, {"b0": ORDER}],
        lambda facts, late: any(f["order"] for f in facts) and not any(
            f["order"] and "baclofen" in f["ing"] for f in facts),
    ),
    # a result asserted after the context, and no opioid in the record
    "result-without-opioid": (
        [CTX, {"n1$not": OPIOID}, {"b0": {"t": "result"}}],
        lambda facts, late: bool(late) and not any(f["op"] for f in facts),
    ),
    # no order at all
    "no-order": (
        [CTX, {"n1$not": ORDER}],
        lambda facts, late: not any(f["order"] for f in facts),
    ),
}


def _record(rng: random.Random) -> tuple[list[Fact], list[Fact]]:
    facts = [{"t": "med", "op": rng.random() < 0.4, "order": rng.random() < 0.3,
              "ing": rng.choice([[], ["baclofen"], ["tizanidine"]]), "n": i}
             for i in range(rng.randint(0, 4))]
    late = [{"t": "result", "result": "met"}] if rng.random() < 0.5 else []
    return facts, late


@pytest.mark.parametrize("case", sorted(CASES))
def test_negation_matches_python(case: str) -> None:
    rule, truth = CASES[case]
    hits: list[int] = []
    name = f"test_negation_{case}"
    host.register(name, {"r": {"all": rule, "run": lambda c: hits.append(1)}})
    rng = random.Random(case)
    for _ in range(150):
        facts, late = _record(rng)
        hits.clear()
        with host.session(name) as session:
            for n, fact in enumerate(facts):
                session.assert_fact(engine_view(fact, n))
            session.assert_fact({"t": "context"})
            for fact in late:
                session.assert_fact(fact)
        assert bool(hits) == truth(facts, late), (facts, late)
