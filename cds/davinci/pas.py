"""`Claim/$submit`: a PAS Request Bundle in, a PAS Response Bundle out (PAS IG 2.2.1).

Each Claim item is decided by the therapy that claims its order (the order it names in
`requestedService`, else the Bundle's draft orders; cds/routing.py `one_answer` when several
claim it), from the same assessment the order-sign card and the DTR questionnaire come from:
eligible -> A1 (A6 when the requested HCPCS code is not the code the rules pick for the order),
not-eligible -> A3, insufficient-information / needs-review -> A4, with a CommunicationRequest
for each documentation item (pas_attachments.py). Every decided item is a record of the audit
trail (a claim line of the request's Claim; an item no therapy claims, a record without one); the
ClaimResponse names them. An item the rules cannot decide is a business error (pas_errors.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from ..audit import AuditTrail, Source, input_hash
from ..audit.claims import verdict
from ..audit.models import ClaimLine
from ..evaluate import assess_facts
from ..facts import PatientFacts
from ..fhir import InputError
from ..fhir.read import read_document
from ..fhir.record import build_records
from ..hooks.errors import HookError
from ..hooks.orders import therapy_orders
from ..knowledge import Knowledge
from ..models import Assessment, PatientAssessment
from ..routing import one_answer
from ..terminology.valuesets import HCPCS
from . import x12
from .canonical import questionnaire_canonical
from .pas_attachments import communication_requests
from .pas_codes import Coding, pas_codes
from .pas_errors import BusinessError, business_error, error_element, outcome, therapy_codes
from .pas_request import Item, PasRequest, as_list, read_request

SOURCE_HOOK = "Claim/$submit"


@dataclass(frozen=True)
class Decision:
    item: Item
    code: x12.Decision
    assessment: Assessment | None
    note: str | None
    record_id: str | None = None


def submit(body: Any, knowledge: Knowledge, trail: AuditTrail, base_url: str, as_of: dt.date,
           now: dt.datetime | None = None, via: Literal["hook", "cli"] = "hook") -> dict[str, Any]:
    """The PAS Response Bundle for one request; 4xx HookError for a Bundle that cannot be processed.
    `via`: who asked, as the audit trail's source says it (the service, or `cds pas submit`)."""
    request = read_request(body)
    result, facts_hash, facts, claimed = _assess(request, knowledge, as_of)
    base = base_url.rstrip("/")
    codes = pas_codes(knowledge.folder)
    known = therapy_codes(knowledge)
    errors = [e for e in (business_error(item, known) for item in request.items) if e is not None]
    failed = {e.sequence for e in errors}
    decisions = [_decide(item, result, claimed, knowledge, base) for item in request.items if item.sequence not in failed]
    response_id = str(uuid.uuid4())
    source = Source(kind=via, hook=SOURCE_HOOK, hook_instance=response_id)
    decisions = _record(decisions, request, result, facts, facts_hash, trail, source, as_of)
    attachments = {d.item.sequence: communication_requests(
        d.assessment, d.item.sequence, authorization_number(request),
        questionnaire_canonical(base, knowledge.rulesets[d.assessment.therapy]), codes.questionnaire_attachment,
        request.claim, response_id, base) for d in decisions if d.code == x12.PENDED and d.assessment is not None}
    stamp = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    return _bundle(request, decisions, errors, attachments, codes.reject_reason, response_id, base, as_of, stamp)


def _assess(request: PasRequest, knowledge: Knowledge, as_of: dt.date
            ) -> tuple[PatientAssessment, str, PatientFacts, dict[str, set[str]]]:
    try:
        entries = read_document(request.bundle, "Bundle")
        records = build_records(entries, strict=False, screen=knowledge.screen)
    except InputError as exc:
        raise HookError(400, exc.problems) from None
    record = next((r for r in records if r.reference == request.patient_ref), None)
    if record is None:
        raise HookError(422, "the Claim's patient could not be read from the Bundle")
    wanted = {ref for item in request.items for ref in item.orders}
    facts, claimed = therapy_orders(record, wanted, knowledge, as_of)
    digest = input_hash(e.resource for e in entries)
    # No therapy claiming: an evaluation of none, the record of the items pended for review.
    return assess_facts(facts, as_of, sorted(claimed)), digest, facts, claimed


def _decide(item: Item, result: PatientAssessment, claimed: dict[str, set[str]], knowledge: Knowledge,
            base: str) -> Decision:
    claimers = [result.assessment(t) for t, refs in sorted(claimed.items()) if refs & set(item.orders)]
    if not claimers:
        return Decision(item, x12.PENDED, None, "Pended for review: no home infusion therapy of this service claims "
                                          "the order of this item, so no rules decide it.")
    assessment = one_answer(claimers, knowledge.rulesets)
    if assessment.status == "eligible":
        if item.code == assessment.billing.code:
            return Decision(item, x12.CERTIFIED, assessment, None)
        return Decision(item, x12.MODIFIED, assessment,
                        f"Modified: the order supports {assessment.billing.code} ({assessment.title}), "
                        "authorized in the added item in place of the code requested.")
    if assessment.status == "not-eligible":
        not_met = [c for c in assessment.criteria if c.result == "not-met"]
        unmet = [c for c in not_met if c.required] or not_met
        text = "Not certified: unmet criteria: " + "; ".join(f"{c.id} ({c.reason})" for c in unmet)
        recommended = next((a for a in assessment.alternatives if a.recommended), None)
        if recommended is not None:
            text += f". Recommended alternative: {recommended.text}"
        return Decision(item, x12.NOT_CERTIFIED, assessment, text + ".")
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
    return Decision(item, x12.PENDED, assessment, ". ".join(parts) + ".")


def _record(decisions: list[Decision], request: PasRequest, result: PatientAssessment, facts: PatientFacts,
            digest: str, trail: AuditTrail, source: Source, as_of: dt.date) -> list[Decision]:
    done = []
    for d in decisions:
        if d.assessment is None:
            # No therapy claims the item's order: pended for review, on record as an evaluation of
            # no therapy (a claim line names a therapy), the item told in its warnings.
            told = f"{request.claim_ref} item {d.item.sequence}: prior authorization {d.code} {x12.DISPLAYS[d.code]}: " \
                   "no home infusion therapy claims its order"
            unclaimed = result.narrowed([]).model_copy(update={"warnings": [*result.warnings, told]})
            record = trail.append(source=source, input_hash=digest, assessment=unclaimed, facts=facts)
            done.append(Decision(d.item, d.code, None, d.note, record.id))
            continue
        judged, reasons = verdict(d.assessment)
        line = ClaimLine(claim=request.claim_ref, sequence=d.item.sequence, code=d.assessment.therapy,
                         service_date=as_of, verdict=judged,
                         reasons=[f"prior authorization {d.code} {x12.DISPLAYS[d.code]}", *reasons])
        record = trail.append(source=source, input_hash=digest, assessment=result.narrowed([d.assessment]),
                              facts=facts, claim=line)
        done.append(Decision(d.item, d.code, d.assessment, d.note, record.id))
    return done


def authorization_number(request: PasRequest) -> str:
    """Stable (the same request gets the same number) and unique per Claim identifier, patient and Claim."""
    identifiers = [f"{i.get('system')}|{i.get('value')}" for i in as_list(request.claim.get("identifier"))
                   if isinstance(i, dict)]
    given = request.bundle.get("identifier")
    bundle_id = given if isinstance(given, dict) else {}
    key = "|".join([*identifiers, str(bundle_id.get("system")), str(bundle_id.get("value")),
                    request.patient_ref, request.claim_ref])
    return "PA" + hashlib.sha256(key.encode()).hexdigest()[:14].upper()


def _bundle(request: PasRequest, decisions: list[Decision], errors: list[BusinessError],
            attachments: dict[int, list[dict[str, Any]]], reason: Coding, response_id: str, base: str, as_of: dt.date,
            stamp: str) -> dict[str, Any]:
    number = authorization_number(request)
    by_sequence = {d.item.sequence: d for d in decisions}
    failed = {e.sequence: e for e in errors}
    # processNote numbers in the order of the items: a decision's note or an error's text.
    notes = [text for i in request.items for text in [by_sequence[i.sequence].note if i.sequence in by_sequence
                                                       else failed[i.sequence].text] if text]
    items, added = [], []
    for request_item in request.items:
        d = by_sequence.get(request_item.sequence)
        own = f"{number}-{request_item.sequence}"
        trace = request_item.trace or {"system": f"{base}/fhir/pas/item-trace-number", "value": own}
        extensions: list[dict[str, Any]] = [{"url": x12.ITEM_TRACE_NUMBER, "valueIdentifier": trace}]
        if d is None:
            # A business error: answered (spec-46), with no decision; the error names the element.
            items.append({"extension": extensions, "itemSequence": request_item.sequence,
                          "noteNumber": [notes.index(failed[request_item.sequence].text) + 1],
                          "adjudication": [{"category": _SUBMITTED}]})
            continue
        if d.item.serviced:
            extensions.append({"url": x12.PAS + "extension-itemRequestedServiceDate", "valuePeriod": d.item.serviced})
        granted = [{"url": x12.PRE_AUTH_ISSUE_DATE, "valueDate": as_of.isoformat()},
                   {"url": x12.PRE_AUTH_PERIOD, "valuePeriod": _period(request, d.item, as_of)}]
        if d.code == x12.CERTIFIED:
            extensions += granted
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
                "productOrService": {"coding": [{"system": HCPCS, "code": code}]},
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
        "outcome": outcome(len(errors), len(request.items)),
    }
    if any(d.code in x12.AUTHORIZED for d in decisions):
        response["preAuthRef"] = number
    response["item"] = items
    if added:
        response["addItem"] = added
    if notes:
        response["processNote"] = [{"number": n, "type": "display", "text": text} for n, text in enumerate(notes, 1)]
    asked = [resource for i in request.items for resource in attachments.get(i.sequence, [])]
    if asked:
        response["communicationRequest"] = [{"reference": f"urn:uuid:{r['id']}"} for r in asked]
    if errors:
        response["error"] = [error_element(e, reason) for e in errors]
    entries = [{"fullUrl": f"urn:uuid:{response_id}", "resource": response},
               *({"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in asked)]
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


_SUBMITTED = {"coding": [{"system": x12.ADJUDICATION_SYSTEM, "code": "submitted"}]}


def _adjudication(code: str, number: str | None) -> dict[str, Any]:
    return {"extension": [x12.review_action(code, number)], "category": _SUBMITTED}


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
