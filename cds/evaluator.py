"""The one way into an assessment: `Evaluator(knowledge).assess(record, as_of, orders=...)`.

Facts are built once for every therapy (Knowledge.facts), then each therapy's rules run. The
CLI, the library (cds.evaluate), the hooks, CRD/DTR, PAS, the review page, the audit trail
(run, replay, claims), synth and bench all come through here; the callers at the top (the
CLI, cds/web/app.py, cds.evaluate) choose the Knowledge, so tests hand in their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from .assess import assess, concurrent_notes, decide_status, per_diems
from .derive import derived_facts
from .facts import PatientFacts
from .fhir import InputError, Problem, RawEntry
from .fhir.record import PatientRecord, build_records
from .knowledge import Knowledge
from .models import PatientAssessment
from .routing import one_answer


@dataclass(frozen=True)
class Evaluation:
    facts: PatientFacts
    # None when orders were given and no therapy claims any of them: nothing to assess.
    result: PatientAssessment | None
    # Therapy -> the orders under evaluation it claims (cds/routing.py, the facts' `order_for`),
    # and the adjuncts that serve them (cds/adjuncts.py, the facts' `adjunct_to`).
    claimed: dict[str, set[str]]


class Evaluator:
    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge

    def records(self, entries: Iterable[RawEntry], *, strict: bool = True) -> list[PatientRecord]:
        """Patient records with what the rules can read (Knowledge.screen)."""
        return build_records(entries, strict=strict, screen=self.knowledge.screen)

    def assess(self, record: PatientRecord | PatientFacts, as_of: dt.date, *,
               orders: Collection[str] | None = None, therapies: Iterable[str] | None = None) -> Evaluation:
        """record: a patient's record, or facts already built from one (the audit trail replays
        stored facts). orders: the references of the orders under evaluation; None: the record's
        draft requests. therapies: those to assess (InputError for one not loaded); None: every
        therapy, except that with orders given only the therapies claiming one of them are
        assessed (the order hooks, DTR, PAS), and none claiming any gives no result."""
        facts = record if isinstance(record, PatientFacts) else self.knowledge.facts(
            record, as_of, set(orders) if orders is not None else None)
        claimed: dict[str, set[str]] = {}
        for ref, claiming in facts.orders().items():
            for therapy in claiming:
                claimed.setdefault(therapy, set()).add(ref)
        # An adjunct is assessed with the order it serves: that therapy's card answers for it.
        for therapy in list(claimed):
            claimed[therapy].update(facts.adjuncts(therapy))
        if therapies is not None:
            chosen = self._known(therapies)
        elif orders is not None:
            chosen = sorted(claimed)
            if not chosen:
                return Evaluation(facts, None, claimed)
        else:
            chosen = list(self.knowledge.rulesets)
        return Evaluation(facts, self._run(facts, as_of, chosen), claimed)

    def _known(self, therapies: Iterable[str]) -> list[str]:
        chosen = list(therapies)
        unknown = [t for t in chosen if t not in self.knowledge.rulesets]
        if unknown:
            raise InputError([Problem(source="therapy", message=f"unknown therapy {', '.join(unknown)}; "
                                      f"known: {', '.join(self.knowledge.rulesets)}")])
        return chosen

    def _run(self, facts: PatientFacts, as_of: dt.date, therapies: list[str]) -> PatientAssessment:
        """Every therapy's rules in one engine pass (cds/engine/run.py)."""
        knowledge = self.knowledge
        warnings = list(facts.warnings)
        engine = knowledge.engine(therapies)
        memo: dict[Any, Any] = {}
        derived = {t: derived_facts(facts, t, knowledge.parsed[t].derived.values(), knowledge.terminology.units,
                                    warnings, memo) for t in engine.parts}
        has_order = {t: facts.has_order(t) for t in engine.parts}
        outcomes = engine.run(
            facts.engine_facts(list(engine.parts)), derived, {"as_of": as_of.isoformat()},
            lambda t, results, matches: decide_status(knowledge.rulesets[t], results, matches, has_order[t]),
            unread_orders={t: unread for t in engine.parts if (unread := facts.unread_orders(t))},
        )
        assessments = [assess(knowledge.rulesets[t], outcomes[t], has_order[t], facts.service_codes(t),
                              frozenset(d.item for d in facts.documented), facts.adjuncts(t)) for t in therapies]
        self._concurrent(facts, assessments, outcomes)
        return PatientAssessment(
            patient=facts.patient.ref, as_of=as_of,
            rulesets={t: knowledge.rulesets[t].full_version for t in therapies},
            assessments=assessments, warnings=[str(w) for w in warnings],
        )

    def _concurrent(self, facts: PatientFacts, assessments: list[Any], outcomes: dict[str, Any]) -> None:
        """Billing notes for concurrent per diems: each order is billed by the one therapy shown for
        it (an IV opioid that a continuous and an intermittent page both claim is one per diem, README)."""
        rulesets = self.knowledge.rulesets
        by_therapy = {a.therapy: a for a in assessments}
        shown = {one_answer(claimed, rulesets).therapy for therapies in facts.orders().values()
                 if (claimed := [by_therapy[t] for t in therapies if t in by_therapy])}
        orders = facts.orders()
        lines = {t: per_diems(rulesets[t], outcomes[t], by_therapy[t],
                              [ref for ref, claiming in orders.items() if t in claiming]) for t in shown}
        concurrent_notes({t: codes for t, codes in lines.items() if codes}, assessments)

