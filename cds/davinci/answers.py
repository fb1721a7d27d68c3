"""Completed answers in, record entries out.

`accept` checks a posted QuestionnaireResponse (FHIR R4B, a Questionnaire of this service, its
answers fit for their questions, linked to a CRD coverage-assertion-id of the same patient).
`record_entries` turns the stored answers of a patient's order into the entries the items'
data declares (rulesets/questionnaires/): an Observation or a Condition the criterion already
reads, named `QuestionnaireResponse/<id>#<item>` so the evidence points at the answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from ..audit import AuditTrail
from ..audit.inputs import tail
from ..fhir import Problem
from ..fhir.dates import day as _day
from ..fhir.record import PatientRecord
from ..hooks.errors import HookError
from ..knowledge import Knowledge
from . import fhir
from .canonical import questionnaire_url
from .items import Item, items
from .store import ResponseStore, StoredResponse

READ_STATUSES = frozenset({"completed", "amended"})
# FHIR R4 QuestionnaireResponse.status (required binding; fhir.resources does not check codes).
STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})
ANSWER_KEYS = {"boolean": "valueBoolean", "choice": "valueCoding", "quantity": "valueQuantity", "date": "valueDate"}
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def _refuse(message: str, status: int = 422) -> HookError:
    return HookError(status, [Problem(source="QuestionnaireResponse", message=message)])


def therapy_of(knowledge: Knowledge, canonical: str, base_url: str) -> str | None:
    """The therapy whose Questionnaire this canonical (`url` or `url|version`) names, at its
    current version; None for any other."""
    url, _, version = canonical.partition("|")
    for therapy, ruleset in knowledge.rulesets.items():
        if url == questionnaire_url(base_url, therapy) and version in ("", ruleset.version):
            return therapy
    return None


def accept(body: Any, knowledge: Knowledge, trail: AuditTrail, base_url: str) -> StoredResponse:
    """The response to store; HookError (400 or 422, an OperationOutcome) when it is not one."""
    if not isinstance(body, dict) or body.get("resourceType") != "QuestionnaireResponse":
        raise _refuse("the body must be a QuestionnaireResponse resource", 400)
    try:
        QuestionnaireResponse.model_validate(body)
    except ValidationError as exc:
        # Where, never what: validation messages quote the input, and an unknown key is input too.
        places = sorted({str(e["loc"][0]) for e in exc.errors()
                         if e["loc"] and e["loc"][0] in QuestionnaireResponse.model_fields})
        where = f" ({', '.join(places[:5])})" if places else ""
        raise _refuse(f"not a valid FHIR R4B QuestionnaireResponse{where}", 400) from None
    if body.get("status") not in STATUSES:
        raise _refuse("status is not a QuestionnaireResponse status", 400)
    therapy = therapy_of(knowledge, str(body.get("questionnaire") or ""), base_url)
    if therapy is None:
        raise _refuse("questionnaire is not a Questionnaire of this service at its current version")
    patient = tail(((body.get("subject") or {}).get("reference")))
    if not patient or not patient.startswith("Patient/"):
        raise _refuse("subject must reference the Patient")
    identifier = body.get("identifier") or {}
    record = trail.get(identifier["value"]) if identifier.get("system") == fhir.ASSERTION_SYSTEM \
        and isinstance(identifier.get("value"), str) and identifier["value"] else None
    if record is None or record.id != identifier.get("value"):
        raise _refuse(f"identifier must carry the coverage-assertion-id ({fhir.ASSERTION_SYSTEM}) "
                      "of the package's draft response")
    if record.patient != patient or therapy not in record.rulesets:
        raise _refuse("the coverage assertion is not about this patient and Questionnaire")
    _check_answers(body.get("item") or [], {i.link_id: i for i in items(knowledge, therapy)}, knowledge)
    authored = _day(body.get("authored")) or record.as_of
    orders = [ref for ref in _context(body) if not ref.startswith("Coverage/")]
    # Our id: the one the evidence will name (a client's id is its own).
    stored_id = str(uuid.uuid4())
    return StoredResponse(id=stored_id, patient=patient, therapy=therapy, assertion_id=record.id,
                          orders=orders, status=str(body["status"]), authored=authored,
                          resource={**body, "id": stored_id})


def _context(body: dict[str, Any]) -> list[str]:
    found = []
    for extension in body.get("extension") or []:
        if extension.get("url") == fhir.QR_CONTEXT:
            ref = tail((extension.get("valueReference") or {}).get("reference"))
            if ref:
                found.append(ref)
    return found


def _check_answers(answered: list[dict[str, Any]], questions: dict[str, Item], knowledge: Knowledge) -> None:
    for n, entry in enumerate(answered):
        question = questions.get(entry.get("linkId"))
        if question is None or entry.get("item"):
            raise _refuse(f"item[{n}] is no question of the Questionnaire")
        for answer in entry.get("answer") or []:
            key = ANSWER_KEYS[question.type]
            value = answer.get(key)
            if value is None:
                raise _refuse(f"{question.link_id}: the answer must be a {key}")
            if question.type == "choice" and not _offered(value, question, knowledge):
                raise _refuse(f"{question.link_id}: the answer is not one of the options")
            if question.type == "quantity" and (value.get("code") != question.unit.code  # type: ignore[union-attr]
                                                or value.get("system", fhir.UCUM) != fhir.UCUM
                                                or value.get("value") is None):
                raise _refuse(f"{question.link_id}: the quantity must be given in {question.unit.code}"  # type: ignore[union-attr]
                              " (UCUM)")


def _offered(coding: dict[str, Any], question: Item, knowledge: Knowledge) -> bool:
    return any((coding.get("system"), coding.get("code")) == (system, code)
               for option in question.options for system, code, _ in knowledge.valuesets.by_id[option].concepts)


def applicable(store: ResponseStore, patient: str, orders: Iterable[str]) -> list[StoredResponse]:
    """The patient's completed responses about these orders (or about no order in particular)."""
    wanted = {tail(o) for o in orders}
    return [r for r in store.for_patient(patient)
            if r.status in READ_STATUSES and (not r.orders or wanted & set(r.orders))]


def record_entries(knowledge: Knowledge, responses: list[StoredResponse],
                   patient: str) -> list[tuple[str, Observation | Condition]]:
    """(reference, resource) for every answer whose item records an entry; for each question
    the latest response's answer counts."""
    out: list[tuple[str, Observation | Condition]] = []
    for question, response, answer in _latest(knowledge, responses):
        if question.records is None:
            continue
        resource = _entry(knowledge, question, answer, response, patient)
        if resource is not None:
            out.append((f"QuestionnaireResponse/{response.id}#{question.link_id}", resource))
    return out


def _entry(knowledge: Knowledge, question: Item, answer: dict[str, Any], response: StoredResponse,
           patient: str) -> Observation | Condition | None:
    assert question.records is not None
    info = knowledge.valuesets.by_id[question.records.valueset]
    system, code, display = info.concepts[0]
    concept = {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}],
               "text": f"{display or info.title} (answered in QuestionnaireResponse/{response.id})"}
    when = response.authored.isoformat()
    if question.records.condition is not None:
        if answer.get("valueBoolean") is not True:
            return None
        return Condition.model_validate({
            "resourceType": "Condition", "subject": {"reference": patient}, "code": concept,
            "clinicalStatus": {"coding": [{"system": _CLINICAL, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": _VERIFICATION, "code": "confirmed"}]},
            "recordedDate": when})
    value = {"valueCodeableConcept": {"coding": [answer["valueCoding"]]}} if question.type == "choice" \
        else {"valueQuantity": answer["valueQuantity"]}
    return Observation.model_validate({"resourceType": "Observation", "status": "final", "code": concept,
                                       "subject": {"reference": patient}, "effectiveDateTime": when, **value})


def attested(knowledge: Knowledge, responses: list[StoredResponse]) -> list[tuple[str, str]]:
    """(reference, documentation item id) for every documentation item the latest response
    about it answers yes: the clinician attests the documentation exists."""
    return [(f"QuestionnaireResponse/{response.id}#{question.link_id}", question.link_id)
            for question, response, answer in _latest(knowledge, responses)
            if question.kind == "documentation" and answer.get("valueBoolean") is True]


def _latest(knowledge: Knowledge, responses: list[StoredResponse]) -> list[tuple[Item, StoredResponse, dict[str, Any]]]:
    """Each question's answer in the latest response that answers it (by `authored`, then as
    stored), for the questions of the current Questionnaires."""
    latest: dict[tuple[str, str], tuple[StoredResponse, dict[str, Any]]] = {}
    for response in sorted(responses, key=lambda r: r.authored):
        for entry in response.resource.get("item") or []:
            if entry.get("answer"):
                latest[(response.therapy, entry["linkId"])] = (response, entry["answer"][0])
    out = []
    for (therapy, link_id), (response, answer) in sorted(latest.items()):
        question = next((i for i in items(knowledge, therapy) if i.link_id == link_id), None) \
            if therapy in knowledge.rulesets else None
        if question is not None:
            out.append((question, response, answer))
    return out


def amend(record: PatientRecord, orders: Iterable[str], store: ResponseStore, knowledge: Knowledge) -> None:
    """Add the answers about these orders to the record: the entries the rules read, and the
    documentation items attested."""
    responses = applicable(store, record.reference, orders)
    for ref, resource in record_entries(knowledge, responses, record.reference):
        if isinstance(resource, Observation):
            record.observations.append((ref, resource))
        else:
            record.conditions.append((ref, resource))
    record.documented.extend(attested(knowledge, responses))
