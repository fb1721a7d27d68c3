"""One hook call, once its data is in hand: record -> orders -> evaluation -> audit -> cards.

Synchronous on purpose: it runs in a worker thread, and the engine serialises itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from ..audit import AuditTrail, Entry, Source, input_hash
from ..davinci.coverage import PREFETCH_KEY
from ..davinci.policy import PayerPolicy
from ..evaluator import Evaluator
from ..fhir import Problem
from ..fhir.record import PatientRecord
from ..models import Assessment
from ..routing import one_answer
from ..service.errors import HookError
from . import coverage_info
from .cards import build_candidates_card, build_card
from .discovery import Service
from .records import build_record
from .requests import OrderSelectContext, OrderSignContext, ParsedCall


def answer(
    call: ParsedCall,
    prefetch: dict[str, Any],
    service: Service,
    evaluator: Evaluator,
    *,
    base_url: str,
    as_of: dt.date | None,
    available_paths: set[str],
    trail: AuditTrail | None = None,
    policy: PayerPolicy | None = None,
    amend: Callable[[PatientRecord, set[str]], None] | None = None,
) -> dict[str, Any]:
    """policy: the payer policy; with it (and a trail, whose record ids are the assertion ids)
    the order hooks return CRD coverage information as systemActions."""
    knowledge = evaluator.knowledge
    day = as_of or dt.date.today()
    # The Coverages are the payer's business, not the record's: the rules never read them.
    record, drafts = build_record(call, {k: v for k, v in prefetch.items() if k != PREFETCH_KEY}, knowledge.screen)
    if amend is not None and drafts:
        # Answers given to a DTR questionnaire about these orders, as record entries (cds/davinci).
        amend(record, drafts)
    if service.hook == "patient-view":
        evaluation = evaluator.assess(record, day, orders=set(), therapies=knowledge.rulesets)
        facts, result = evaluation.facts, evaluation.result
        assert result is not None  # every therapy named: always a result
        # Only therapies the patient is a candidate for: a card per unmet indication would be
        # noise on every chart opened.
        assessments = [a for a in result.assessments if _indication_met(a)]
    else:
        candidates = drafts
        if isinstance(call.context, OrderSelectContext):
            selected = {_relative(s) for s in call.context.selections}
            # A selection is a reference into draftOrders: one that names none is a bad request,
            # not an order silently left unassessed (the reference is not echoed back).
            unresolved = [n for n, s in enumerate(call.context.selections) if _relative(s) not in drafts]
            if unresolved:
                raise HookError(400, [Problem(source="context.selections", entry=n, element="selections",
                                              message="names no order in context.draftOrders")
                                      for n in unresolved])
            candidates = {ref for ref in drafts if ref in selected}
        evaluation = evaluator.assess(record, day, orders=candidates)
        facts, result = evaluation.facts, evaluation.result
        if result is None:
            return {"cards": []}
        chosen = _one_per_order(result.assessments, evaluation.claimed, knowledge.rulesets)
        assessments = []
        for a in chosen.values():
            if a not in assessments:
                assessments.append(a)
    source = Source(kind="hook", hook=call.request.hook, hook_instance=call.request.hookInstance)
    if service.hook == "patient-view":
        # One card for all the therapies the patient is a candidate for, and one record behind it.
        shown = result.narrowed(assessments) if assessments else result
        stored = trail.append(source=source, input_hash=input_hash(_input_resources(call, prefetch)),
                              assessment=shown, facts=facts) if trail is not None else None
        if not assessments:
            return {"cards": []}
        card = build_candidates_card(
            assessments, knowledge.rulesets, hook_instance=call.request.hookInstance, base_url=base_url,
            as_of=day.isoformat(), warnings=result.warnings, available_paths=available_paths,
            assessment_id=stored.id if stored is not None else None)
        return {"cards": [card]}
    crd = policy is not None and trail is not None and coverage_info.wanted(call)
    found = coverage_info.coverages(call, prefetch, day) if crd else []
    ids: dict[str, str] = {}
    assertion_ids: dict[str, list[str]] = {}
    if trail is not None:
        digest = input_hash(_input_resources(call, prefetch))
        # One record per card, so that each card's link opens that card's assessment; and one per
        # Coverage beside it, because each Coverage's assertion needs its own id (CRD resp-32).
        entries = [[Entry.of(source=source, input_hash=digest, assessment=result.narrowed([a]), facts=facts)]
                   * max(1, len(found)) for a in assessments]
        stored = trail.append_entries([e for group in entries for e in group])
        for a, group in zip(assessments, entries):
            assertion_ids[a.therapy] = [r.id for r in stored[:len(group)]]
            ids[a.therapy] = assertion_ids[a.therapy][0]
            stored = stored[len(group):]
    cards = [
        build_card(a, knowledge.rulesets[a.therapy], hook_instance=call.request.hookInstance,
                   patient_ref=record.reference, base_url=base_url, as_of=day.isoformat(),
                   warnings=result.warnings, available_paths=available_paths, assessment_id=ids.get(a.therapy))
        for a in assessments
    ]
    if not crd or policy is None:
        return {"cards": cards}
    actions = coverage_info.actions(call, chosen, found, assertion_ids, knowledge.rulesets, policy,
                                    base_url=base_url, as_of=day, secondary=service.hook == "order-select")
    # CDS Hooks: an empty systemActions array is left out, not sent.
    return {"cards": cards, "systemActions": actions} if actions else {"cards": cards}


def _one_per_order(assessments: list[Assessment], orders: dict[str, set[str]],
                   rulesets: dict[str, Any]) -> dict[str, Assessment]:
    """Order reference -> its one assessment: when several therapies claim it, the README's rule
    picks (cds/routing.py); an assessment shown for one order is not shown again for another."""
    by_therapy = {a.therapy: a for a in assessments}
    chosen: dict[str, Assessment] = {}
    for ref in sorted(set().union(*orders.values())):
        claimed = [by_therapy[t] for t in sorted(orders) if ref in orders[t]]
        chosen[ref] = one_answer(claimed, rulesets)
    return chosen


def _input_resources(call: ParsedCall, prefetch: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The resources as received (prefetched or fetched, and the draft orders): what the input hash covers."""
    documents = list(prefetch.values())
    if isinstance(call.context, OrderSignContext):
        documents.append(call.context.draftOrders)
    for document in documents:
        if not isinstance(document, dict):
            continue
        if document.get("resourceType") != "Bundle":
            yield document
            continue
        for item in document.get("entry") or []:
            if isinstance(item, dict) and isinstance(item.get("resource"), dict):
                yield item["resource"]


def _indication_met(assessment: Assessment) -> bool:
    return any(c.kind == "indication" and c.result == "met" for c in assessment.criteria)


def _relative(reference: str) -> str:
    """'MedicationRequest/1' from an absolute or relative reference."""
    return "/".join(reference.rstrip("/").split("/")[-2:])
