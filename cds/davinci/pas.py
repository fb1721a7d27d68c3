"""`Claim/$submit`: a PAS Request Bundle in, a PAS Response Bundle out (PAS IG 2.2.1).

Each Claim item is decided by the therapy that claims its order (the order it names in
`requestedService`, else the Bundle's draft orders; cds/routing.py `one_answer` when several
claim it), from the same assessment the order-sign card and the DTR questionnaire come from:
eligible -> A1 (A6 when the requested HCPCS code is not the code the rules pick for the order),
not-eligible -> A3, insufficient-information / needs-review -> A4, with a CommunicationRequest
for each documentation item (pas_attachments.py). Every decided item is a record of the audit
trail (a claim line of the request's Claim, with its decision and the record it follows; an item
no therapy claims, a record without one); the ClaimResponse names them. An item the rules cannot
decide is a business error (pas_errors.py). `decide`, `record_decisions` and `response_bundle`
are the steps; cds/davinci/pas_pended.py runs them again for kept requests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..audit import AuditTrail, Source, input_hash
from ..audit.authorization import CANCELLED, decision_code
from ..audit.claims import verdict
from ..audit.models import ClaimLine, PriorAuthorization
from ..evaluator import Evaluator
from ..facts import PatientFacts
from ..fhir import InputError, Problem
from ..fhir.read import read_document
from ..fhir.record import PatientRecord
from ..knowledge import Knowledge
from ..models import Assessment, PatientAssessment
from ..routing import one_answer
from ..service.errors import HookError
from ..terminology.valuesets import HCPCS
from . import x12
from .canonical import questionnaire_canonical
from .pas_attachments import communication_requests, task
from .pas_codes import Coding, pas_codes
from .pas_errors import BusinessError, business_error, error_element, outcome, therapy_codes
from .pas_request import Item, PasRequest, as_list, read_request

SOURCE_HOOK = "Claim/$submit"


@dataclass(frozen=True)
class Decision:
    item: Item
    code: x12.Decision | None        # None: the item was cancelled (infoCancelled): nothing is decided
    assessment: Assessment | None
    note: str | None
    record_id: str | None = None


@dataclass(frozen=True)
class Decided:
    """A request and its decisions, before or after they are recorded in the audit trail."""

    request: PasRequest
    result: PatientAssessment | None
    facts: PatientFacts
    digest: str
    decisions: list[Decision]
    as_of: dt.date
    # Items the rules cannot decide (ClaimResponse.error), and the X12 reject reason they carry.
    errors: list[BusinessError]
    reject_reason: Coding
    # What a pended item's CommunicationRequests ask for: the payer's attachment request code, and
    # the DTR questionnaire of each therapy deciding a pended item.
    attachment_code: str
    questionnaires: dict[str, str]

    def codes(self) -> dict[int, str | None]:
        return {d.item.sequence: d.code for d in self.decisions}


# Adds what the record lacks to it before it is assessed (DTR answers about these orders).
Amend = Callable[[PatientRecord, set[str]], None]


def submit(body: Any, knowledge: Knowledge, trail: AuditTrail, base_url: str, as_of: dt.date,
           now: dt.datetime | None = None, via: Literal["hook", "cli"] = "hook") -> dict[str, Any]:
    """The PAS Response Bundle for one request; 4xx HookError for a Bundle that cannot be processed.
    `via`: who asked, as the audit trail's source says it (the service, or `cds pas submit`)."""
    request = read_request(body)
    if request.cancel_all:
        raise HookError(422, [Problem(source="Bundle", element="Claim.extension", message=(
            "a cancel of the whole request needs the service that keeps requests (`cds serve`); offline, "
            "nothing is kept to cancel"))])
    number, response_id = authorization_number(request), str(uuid.uuid4())
    source = Source(kind=via, hook=SOURCE_HOOK, hook_instance=response_id)
    decided = record_decisions(decide(request, knowledge, base_url, as_of), trail, source, number)
    return response_bundle(decided, base_url, as_of, number, now, response_id)


def decide(request: PasRequest, knowledge: Knowledge, base_url: str, as_of: dt.date,
           amend: Amend | None = None) -> Decided:
    """Each item decided by the therapy that claims its order; `amend` adds answers to the record."""
    result, facts_hash, facts, claimed = _assess(request, knowledge, as_of, amend)
    base = base_url.rstrip("/")
    codes = pas_codes(knowledge.folder)
    known = therapy_codes(knowledge)
    errors = [e for e in (business_error(item, known) for item in request.items) if e is not None]
    failed = {e.sequence for e in errors}
    decisions = [_decide(item, result, claimed, knowledge, base) for item in request.items if item.sequence not in failed]
    questionnaires = {d.assessment.therapy: questionnaire_canonical(base, knowledge.rulesets[d.assessment.therapy])
                      for d in decisions if d.code == x12.PENDED and d.assessment is not None}
    return Decided(request, result, facts, facts_hash, decisions, as_of, errors, codes.reject_reason,
                   codes.questionnaire_attachment, questionnaires)


def _assess(request: PasRequest, knowledge: Knowledge, as_of: dt.date, amend: Amend | None
            ) -> tuple[PatientAssessment | None, str, PatientFacts, dict[str, set[str]]]:
    evaluator = Evaluator(knowledge)
    try:
        entries = read_document(request.bundle, "Bundle")
        records = evaluator.records(entries, strict=False)
    except InputError as exc:
        raise HookError(400, exc.problems) from None
    record = next((r for r in records if r.reference == request.patient_ref), None)
    if record is None:
        raise HookError(422, "the Claim's patient could not be read from the Bundle")
    wanted = {ref for item in request.items for ref in item.orders}
    if amend is not None:
        amend(record, wanted)
    evaluation = evaluator.assess(record, as_of, orders=wanted)
    return evaluation.result, input_hash(e.resource for e in entries), evaluation.facts, evaluation.claimed


def _decide(item: Item, result: PatientAssessment | None, claimed: dict[str, set[str]], knowledge: Knowledge,
            base: str) -> Decision:
    if item.cancelled:
        return Decision(item, None, None, "Cancelled by the submitter (infoCancelled, or certificationType 3 "
                                          "cancelling the whole request): no decision stands for this item.")
    claimers = [result.assessment(t) for t, refs in sorted(claimed.items())
                if result is not None and refs & set(item.orders)]
    if not claimers:
        return Decision(item, x12.PENDED, None, "Pended for review: no home infusion therapy of this service claims "
                                          "the order of this item, so no rules decide it.")
    assessment = one_answer(claimers, knowledge.rulesets)
    code = decision_code(assessment, item.code)
    if code == x12.CERTIFIED:
        return Decision(item, code, assessment, None)
    if code == x12.MODIFIED:
        return Decision(item, code, assessment,
                        f"Modified: the order supports {assessment.billing.code} ({assessment.title}), "
                        "authorized in the added item in place of the code requested.")
    if code == x12.NOT_CERTIFIED:
        not_met = [c for c in assessment.criteria if c.result == "not-met"]
        unmet = [c for c in not_met if c.required] or not_met
        text = "Not certified: unmet criteria: " + "; ".join(f"{c.id} ({c.reason})" for c in unmet)
        recommended = next((a for a in assessment.alternatives if a.recommended), None)
        if recommended is not None:
            text += f". Recommended alternative: {recommended.text}"
        return Decision(item, code, assessment, text + ".")
    unknown = [c.id for c in assessment.criteria if c.required and c.result == "unknown"]
    parts = ["Pended: more information is needed"]
    if assessment.documentation:
        parts.append("documentation: " + "; ".join(d.text for d in assessment.documentation))
    if unknown:
        parts.append("criteria not yet known: " + ", ".join(unknown))
    warnings = [f.id for f in assessment.findings if f.severity == "warning"]
    if warnings and assessment.status == "needs-review":
        parts.append("findings for clinical review: " + ", ".join(warnings))
    parts.append("answer the DTR questionnaire "
                 + questionnaire_canonical(base, knowledge.rulesets[assessment.therapy]))
    return Decision(item, code, assessment, ". ".join(parts) + ".")


def record_decisions(decided: Decided, trail: AuditTrail, source: Source, key: str,
           follows: dict[str, str] | None = None) -> Decided:
    """Each decided item appended to the audit trail (a claim line of the request's Claim), linked
    by `follows` (item sequence -> record id) to the decision it replaces."""
    request, result = decided.request, decided.result
    if result is None:
        # No therapy claims any order: an evaluation of none, the record of the items pended for review.
        result = PatientAssessment(patient=decided.facts.patient.ref, as_of=decided.as_of, rulesets={},
                                   assessments=[], warnings=[str(w) for w in decided.facts.warnings])
    done = []
    for d in decided.decisions:
        if d.code is None:
            done.append(_withdrawn(d, trail, source, decided.digest, key, (follows or {}).get(str(d.item.sequence))))
            continue
        if d.assessment is None:
            # No therapy claims the item's order: pended for review, on record as an evaluation of
            # no therapy (a claim line names a therapy), the item told in its warnings.
            told = f"{request.claim_ref} item {d.item.sequence}: prior authorization {d.code} {x12.DISPLAYS[d.code]}: " \
                   "no home infusion therapy claims its order"
            unclaimed = result.narrowed([]).model_copy(update={"warnings": [*result.warnings, told]})
            appended = trail.append(source=source, input_hash=decided.digest, assessment=unclaimed, facts=decided.facts)
            done.append(Decision(d.item, d.code, None, d.note, appended.id))
            continue
        judged, reasons = verdict(d.assessment)
        authorization = PriorAuthorization(decision=d.code, requested=d.item.code, request=key,
                                           follows=(follows or {}).get(str(d.item.sequence)))
        line = ClaimLine(claim=request.claim_ref, sequence=d.item.sequence, code=d.assessment.therapy,
                         service_date=result.as_of, verdict=judged,
                         reasons=[f"prior authorization {d.code} {x12.DISPLAYS[d.code]}", *reasons],
                         authorization=authorization)
        appended = trail.append(source=source, input_hash=decided.digest, assessment=result.narrowed([d.assessment]),
                                facts=decided.facts, claim=line)
        done.append(Decision(d.item, d.code, d.assessment, d.note, appended.id))
    return replace(decided, decisions=done)


def _withdrawn(d: Decision, trail: AuditTrail, source: Source, digest: str, key: str, follows: str | None) -> Decision:
    """A cancelled item: a record that the decision it follows no longer stands (the same claim
    line, assessment and facts, the authorization `cancelled`), so the trail and the figures see
    the cancellation; nothing to record when no decision was made for it."""
    previous = trail.get(follows) if follows else None
    if previous is None or previous.claim is None or previous.claim.authorization is None:
        return d
    if previous.claim.authorization.decision == CANCELLED:
        return replace(d, record_id=previous.id)      # cancelled by an earlier update: still so
    authorization = PriorAuthorization(decision=CANCELLED, requested=previous.claim.authorization.requested,
                                       request=key, follows=previous.id)
    line = previous.claim.model_copy(update={"reasons": ["prior authorization cancelled by the submitter"],
                                             "authorization": authorization})
    appended = trail.append(source=source, input_hash=digest, assessment=previous.patient_assessment(),
                            facts=previous.patient_facts(), claim=line)
    return replace(d, record_id=appended.id)


def authorization_number(request: PasRequest) -> str:
    """Stable (the same request gets the same number) and unique per Claim identifier, patient and Claim."""
    identifiers = [f"{i.get('system')}|{i.get('value')}" for i in as_list(request.claim.get("identifier"))
                   if isinstance(i, dict)]
    given = request.bundle.get("identifier")
    bundle_id = given if isinstance(given, dict) else {}
    key = "|".join([*identifiers, str(bundle_id.get("system")), str(bundle_id.get("value")),
                    request.patient_ref, request.claim_ref])
    return "PA" + hashlib.sha256(key.encode()).hexdigest()[:14].upper()


def response_bundle(decided: Decided, base_url: str, as_of: dt.date, number: str,
                    now: dt.datetime | None = None, response_id: str | None = None) -> dict[str, Any]:
    """The PAS Response Bundle of decided items; `number`: the request's authorization number;
    `response_id`: the ClaimResponse id (the audit records' hook instance)."""
    request, decisions, base = decided.request, decided.decisions, base_url.rstrip("/")
    response_id = response_id or str(uuid.uuid4())
    stamp = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    by_sequence = {d.item.sequence: d for d in decisions}
    failed = {e.sequence: e for e in decided.errors}
    # processNote numbers in the order of the items: a decision's note or an error's text.
    notes = list(dict.fromkeys(text for i in request.items for text in [
        by_sequence[i.sequence].note if i.sequence in by_sequence else failed[i.sequence].text] if text))
    attachments = {d.item.sequence: communication_requests(
        d.assessment, d.item.sequence, number, decided.questionnaires[d.assessment.therapy], decided.attachment_code,
        request.claim, response_id, base) for d in decisions if d.code == x12.PENDED and d.assessment is not None}
    items, added = [], []
    # The provider authorized is the one who asked, when the profiles let it be named
    # (itemAuthorizedProvider and addItem.provider take a Practitioner or an Organization).
    asking = request.entry(request.claim["provider"])
    provider = request.claim["provider"] if asking and asking[1]["resourceType"] in ("Organization", "Practitioner") \
        else None
    for request_item in request.items:
        d = by_sequence.get(request_item.sequence)
        own = f"{number}-{request_item.sequence}"
        trace = request_item.trace or {"system": f"{base}/fhir/pas/item-trace-number", "value": own}
        extensions: list[dict[str, Any]] = [{"url": x12.ITEM_TRACE_NUMBER, "valueIdentifier": trace}]
        if d is None:
            # A business error: answered (spec-46), with no decision; the error names the element.
            items.append({"extension": extensions, "itemSequence": request_item.sequence,
                          "noteNumber": [notes.index(failed[request_item.sequence].text) + 1],
                          "adjudication": [_adjudication(None, None)]})
            continue
        if d.item.serviced:
            extensions.append({"url": x12.PAS + "extension-itemRequestedServiceDate", "valuePeriod": d.item.serviced})
        granted = [{"url": x12.PRE_AUTH_ISSUE_DATE, "valueDate": as_of.isoformat()},
                   {"url": x12.PRE_AUTH_PERIOD, "valuePeriod": _period(request, d.item, as_of)}]
        if d.code == x12.CERTIFIED:
            extensions += granted
            if provider is not None:
                extensions.append({"url": x12.AUTHORIZED_PROVIDER,
                                   "extension": [{"url": "provider", "valueReference": provider}]})
        item: dict[str, Any] = {"extension": extensions, "itemSequence": d.item.sequence}
        if d.note:
            item["noteNumber"] = [notes.index(d.note) + 1]
        item["adjudication"] = [_adjudication(d.code, own if d.code == x12.CERTIFIED else None)]
        items.append(item)
        if d.code == x12.MODIFIED and d.assessment is not None:
            code = d.assessment.billing.code
            added.append({
                "extension": [{"url": x12.ITEM_TRACE_NUMBER, "valueIdentifier": trace}, *granted,
                              {"url": x12.AUTHORIZED_DETAIL, "extension": [{"url": "productOrServiceCode",
                               "valueCodeableConcept": {"coding": [{"system": HCPCS, "code": code}]}}]}],
                "itemSequence": [d.item.sequence],
                **({"provider": [provider]} if provider is not None else {}),
                "productOrService": {"coding": [{"system": HCPCS, "code": code}]},
                "servicedPeriod": granted[1]["valuePeriod"],
                "adjudication": [_adjudication(x12.CERTIFIED, own)],
            })
    claim = request.claim
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse", "id": response_id, "meta": {"profile": [x12.CLAIM_RESPONSE]},
        "identifier": [*[i for i in as_list(claim.get("identifier")) if isinstance(i, dict)],
                       *[{"system": f"{base}/fhir/audit-record", "value": d.record_id}
                         for d in decisions if d.record_id]],
        "status": "active", "type": claim.get("type"), "use": "preauthorization",
        "patient": claim["patient"], "created": stamp, "insurer": claim["insurer"],
        "requestor": claim["provider"], "request": {"reference": request.request_ref},
        # Pended is told by the review action code (A4); outcome is complete, partial or error only.
        "outcome": outcome(len(decided.errors), len(request.items)),
    }
    if any(d.code in x12.AUTHORIZED for d in decisions):
        response["preAuthRef"] = number
        # The whole authorization's period: from the first authorized item's start to the last's end.
        periods = [_period(request, d.item, as_of) for d in decisions if d.code in x12.AUTHORIZED]
        ends = [p["end"] for p in periods if "end" in p]
        response["preAuthPeriod"] = {"start": min(p["start"] for p in periods),
                                     **({"end": max(ends)} if len(ends) == len(periods) else {})}
    response["item"] = items
    if added:
        response["addItem"] = added
    if notes:
        response["processNote"] = [{"number": n, "type": "display", "text": text} for n, text in enumerate(notes, 1)]
    asked = [resource for i in request.items for resource in attachments.get(i.sequence, [])]
    if asked:
        response["communicationRequest"] = [{"reference": f"urn:uuid:{r['id']}"} for r in asked]
    insurer, provider = (found[1] if (found := request.entry(claim[k])) else None for k in ("insurer", "provider"))
    tasks = [task(d.item.sequence, number, decided.questionnaires[d.assessment.therapy], claim, request.request_ref,
                  insurer, provider, response_id, base)
             for d in decisions if d.code == x12.PENDED and d.assessment is not None]
    if decided.errors:
        response["error"] = [error_element(e, decided.reject_reason) for e in decided.errors]
    entries = [{"fullUrl": f"urn:uuid:{response_id}", "resource": response},
               *({"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in [*asked, *tasks])]
    seen: set[str] = set()
    for reference in (claim["patient"], claim["insurer"], claim["provider"], {"reference": request.request_ref}):
        found = request.entry(reference)
        if found is None:
            continue
        url, resource = found
        if "/" in url and not url.startswith(("http", "urn:")):
            url = f"{base}/fhir/{url}"
        if url not in seen:
            seen.add(url)
            entries.append({"fullUrl": url, "resource": resource})
    given = request.bundle.get("identifier")
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "meta": {"profile": [x12.RESPONSE_BUNDLE]},
            "identifier": given if isinstance(given, dict) else {"system": f"{base}/fhir/pas/response",
                                                                  "value": response_id},
            "type": "collection", "timestamp": stamp, "entry": entries}


def _adjudication(code: str | None, number: str | None) -> dict[str, Any]:
    category = {"category": {"coding": [{"system": x12.ADJUDICATION_SYSTEM, "code": "submitted"}]}}
    # A cancelled item is answered (spec-46) without a review action: no X12 306 code is invented for it.
    return category if code is None else {"extension": [x12.review_action(code, number)], **category}


def _period(request: PasRequest, item: Item, as_of: dt.date) -> dict[str, str]:
    """The order's validity period (MedicationRequest.dispenseRequest.validityPeriod,
    ServiceRequest.occurrencePeriod), else the period the item asks for, else from the as-of date."""
    for ref in item.orders if item.named or len(item.orders) == 1 else ():
        order = request.order(ref)
        dispense = order.get("dispenseRequest")
        found = (dispense.get("validityPeriod") if isinstance(dispense, dict) else None) or order.get("occurrencePeriod")
        if isinstance(found, dict) and isinstance(found.get("start"), str):
            return {k: v for k, v in found.items() if k in ("start", "end") and isinstance(v, str)}
    return item.serviced or {"start": as_of.isoformat()}
