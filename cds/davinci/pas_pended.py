"""Pended to decided: a PAS request kept, and decided again when more is known.

Every request `$submit` decides is kept (cds/davinci/pas_store.py) under its authorization
number with its current response. It is decided again
- by an update (a PASClaimUpdate whose `related.claim` names a kept request of the same client
  and patient: spec-65): the update's items are decided, cancelled ones (infoCancelled) answered
  without a decision, and the authorization number stays the request's (spec-47); an update with
  certificationType 3 on the Claim cancels every item of the kept request (it then stays
  `cancelled`: queryable, never decided again);
- by DTR answers: a QuestionnaireResponse stored for the patient re-decides each pended request
  of the client with the answers added to its record.
A decision that differs from the kept one is recorded in the audit trail, linked to the record
it replaces, and sent to the client's Subscriptions (cds/davinci/pas_subscription.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Any

from ..audit import AuditTrail, Source
from ..fhir import Problem
from ..service.errors import HookError
from ..knowledge import Knowledge
from . import x12
from .pas import SOURCE_HOOK, Amend, Decided, authorization_number, decide, record_decisions, response_bundle
from .pas_request import PasRequest, as_list, identifiers, is_update, read_request
from .pas_store import PasStore, State, StoredRequest

# "At least 6 months after the anticipated completion of the services" (spec-73).
MIN_RETENTION_DAYS = 183


@dataclass(frozen=True)
class Keeping:
    """Where requests are kept and for how long, and whose they are."""

    store: PasStore
    client: str
    retention_days: int = MIN_RETENTION_DAYS


def submit_kept(body: Any, knowledge: Knowledge, trail: AuditTrail, keeping: Keeping, base_url: str,
                as_of: dt.date, amend: Amend | None = None) -> tuple[dict[str, Any], StoredRequest, bool]:
    """Decide a request (or an update of a kept one) and keep it. Returns the response Bundle, the
    kept request and whether a pended request was decided by it."""
    request = read_request(body)
    previous = _updated(request, keeping)
    if request.cancel_all and previous is not None:
        request = _cancelling(request, previous)
    key = previous.key if previous is not None else authorization_number(request)
    response_id = str(uuid.uuid4())
    decided = record_decisions(decide(request, knowledge, base_url, as_of, amend), trail,
                     Source(kind="hook", hook=SOURCE_HOOK, hook_instance=response_id), key,
                     previous.records if previous is not None else None)
    bundle = response_bundle(decided, base_url, as_of, key, response_id=response_id)
    kept = _keep(keeping, decided, key, bundle, as_of, previous)
    return bundle, kept, previous is not None and previous.state == "pended" and kept.state == "decided"


def redecide(knowledge: Knowledge, trail: AuditTrail, keeping: Keeping, patient: str, base_url: str,
             as_of: dt.date, amend: Amend) -> list[StoredRequest]:
    """Decide again each pended request of the client about the patient, with `amend` adding
    what is now known; returns those whose decision changed (kept and recorded)."""
    changed = []
    for kept in keeping.store.pended(keeping.client, patient):
        request = read_request(kept.request)
        decided = decide(request, knowledge, base_url, as_of, amend)
        if _codes(decided) == kept.codes:
            continue
        response_id = str(uuid.uuid4())
        decided = record_decisions(decided, trail, Source(kind="hook", hook=SOURCE_HOOK, hook_instance=response_id),
                         kept.key, kept.records)
        bundle = response_bundle(decided, base_url, as_of, kept.key, response_id=response_id)
        changed.append(_keep(keeping, decided, kept.key, bundle, as_of, kept))
    return changed


def _cancelling(request: PasRequest, kept: StoredRequest) -> PasRequest:
    """The request as a cancel of the whole kept request: every item it held (and any the update
    carries) cancelled, so each is answered (spec-46) and none is decided."""
    items = {i.sequence: i for i in read_request(kept.request).items} | {i.sequence: i for i in request.items}
    return replace(request, items=tuple(replace(i, cancelled=True, orders=(), unknown_order=None)
                                        for _, i in sorted(items.items())))


def _codes(decided: Decided) -> dict[str, str | None]:
    return {str(sequence): code for sequence, code in decided.codes().items()}


def _keep(keeping: Keeping, decided: Decided, key: str, bundle: dict[str, Any], as_of: dt.date,
          previous: StoredRequest | None) -> StoredRequest:
    request = decided.request
    codes = _codes(decided)
    state: State = ("cancelled" if all(c is None for c in codes.values())
                    else "pended" if x12.PENDED in codes.values() else "decided")
    now = dt.datetime.now(dt.UTC)
    records = {**(previous.records if previous else {}),
               **{str(d.item.sequence): d.record_id for d in decided.decisions if d.record_id}}
    members, providers, orgs = identities(request)
    ends = [_day(i.serviced.get("end") or i.serviced.get("start")) for i in request.items if i.serviced]
    last = max([d for d in ends if d is not None] + [as_of])
    kept = StoredRequest(
        key=key, client=keeping.client, patient=request.patient_ref, state=state, as_of=as_of,
        claims=sorted(set(claim_names(request)) | set(previous.claims if previous else [])),
        members=members, providers=providers, orgs=orgs, request=request.bundle, response=bundle,
        records=records, codes=codes, submitted=previous.submitted if previous else now,
        decided=now if state == "decided" else None,
        keep_until=last + dt.timedelta(days=max(keeping.retention_days, MIN_RETENTION_DAYS)))
    keeping.store.save(kept)
    return kept


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def claim_names(request: PasRequest) -> list[str]:
    """How an update or inquiry may name this Claim: its identifiers (system|value) and reference."""
    return [f"{i.get('system')}|{i.get('value')}" for i in as_list(request.claim.get("identifier"))
            if isinstance(i, dict) and isinstance(i.get("value"), str)] + [request.claim_ref]


def identities(request: PasRequest) -> tuple[list[str], list[str], list[str]]:
    """(member ids, provider ids, organisation ids) of a request: the patient's identifiers and
    the subscriber ids of its coverage (spec-53), the provider's identifiers (its NPI), and what
    a Subscription filter names (ISA06 / GS02 of TransmissionIdentifiers, or the provider)."""
    claim = request.claim
    found = request.entry(claim.get("patient"))
    members = identifiers(found[1] if found else None)
    for insurance in as_list(claim.get("insurance")):
        coverage = request.entry(insurance.get("coverage")) if isinstance(insurance, dict) else None
        if coverage is not None:
            members += identifiers(coverage[1])
            if isinstance(coverage[1].get("subscriberId"), str):
                members.append(coverage[1]["subscriberId"])
    provider = request.entry(claim.get("provider"))
    providers = identifiers(provider[1] if provider else None)
    senders = []
    for extension in as_list(claim.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == x12.TRANSMISSION_IDENTIFIERS:
            senders += [e.get("valueString") for e in as_list(extension.get("extension")) if isinstance(e, dict)
                        and e.get("url") in ("interchangeSenderID", "applicationSenderCode")
                        and isinstance(e.get("valueString"), str)]
    return sorted(set(members)), sorted(set(providers)), sorted(set(senders) | set(providers))


def _updated(request: PasRequest, keeping: Keeping) -> StoredRequest | None:
    """The kept request an update names (None for a new request); 422 when it names none of
    the client's, or one that was denied (an update of a denial is not permitted)."""
    if not is_update(request.claim):
        return None
    related = [r.get("claim") for r in as_list(request.claim.get("related")) if isinstance(r, dict)]
    names: set[str] = set()
    for reference in related:
        found = request.entry(reference)
        if found is not None and found[1].get("resourceType") == "Claim":
            names |= {f"{i.get('system')}|{i.get('value')}" for i in as_list(found[1].get("identifier"))
                      if isinstance(i, dict)}
            if isinstance(found[1].get("id"), str):
                names.add(f"Claim/{found[1]['id']}")
        identifier = reference.get("identifier") if isinstance(reference, dict) else None
        if isinstance(identifier, dict):
            names.add(f"{identifier.get('system')}|{identifier.get('value')}")
    kept = [k for k in keeping.store.of_patient(keeping.client, request.patient_ref) if names & set(k.claims)]
    if not kept:
        raise HookError(422, [Problem(source="Bundle", element="Claim.related.claim", message=(
            "the update's related.claim names no prior authorization request this service holds for this "
            "submitter and patient: submit a new request"))])
    if kept[-1].state == "cancelled":
        raise HookError(422, [Problem(source="Bundle", element="Claim.related.claim", message=(
            "the request was cancelled; a cancelled request cannot be updated: submit a new request"))])
    if all(code == x12.NOT_CERTIFIED for code in kept[-1].codes.values()):
        raise HookError(422, [Problem(source="Bundle", element="Claim.related.claim", message=(
            "the request was denied; a denied request cannot be updated: submit a new request"))])
    return kept[-1]
