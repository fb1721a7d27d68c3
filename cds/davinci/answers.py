"""Completed answers in, record entries out.

`accept` checks a posted QuestionnaireResponse (FHIR R4B, a Questionnaire of this service at
its current version, its answers fit for their questions, `authored` not in the future, and
echoing the coverage-assertion-id of a package this service issued to the same client for the
same patient and Questionnaire version). `amend` reads, for one client's order, the latest
completed response of each Questionnaire that answers the current version, and turns its
answers into the entries the items' data declares (rulesets/questionnaires/): an Observation or
a Condition the criterion already reads, named `QuestionnaireResponse/<id>#<item>` so the
evidence points at the answer.
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

from ..audit.inputs import tail
from ..fhir import Problem
from ..fhir.dates import day as _day
from ..fhir.record import PatientRecord
from ..knowledge import Knowledge
from ..service.errors import HookError
from . import fhir
from .canonical import questionnaire_url
from .items import Item, items
from .store import READ_STATUSES, IssuedPackage, ResponseStore, StoredResponse

# FHIR R4 QuestionnaireResponse.status (required binding; fhir.resources does not check codes).
STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})
ANSWER_KEYS = {"boolean": "valueBoolean", "choice": "valueCoding", "quantity": "valueQuantity", "date": "valueDate"}
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# Clock skew tolerated on `authored` (as on JWT times).
SKEW = dt.timedelta(minutes=5)


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


def accept(body: Any, knowledge: Knowledge, store: ResponseStore, base_url: str, client: str) -> StoredResponse:
    """The response to store; HookError (400 or 422, an OperationOutcome) when it is not one."""
    if not isinstance(body, dict) or body.get("resourceType") != "QuestionnaireResponse":
        raise _refuse("the body must be a QuestionnaireResponse resource", 400)
    try:
        validated = QuestionnaireResponse.model_validate(body)
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
    package = _package(body, store, client, therapy)
    if package.patient != patient or package.version != knowledge.rulesets[therapy].version:
        raise _refuse("the package is not about this patient and Questionnaire version")
    _check_answers(body.get("item") or [], {i.link_id: i for i in items(knowledge, therapy)}, knowledge)
    if _in_future(validated.authored):
        raise _refuse("authored is after now")
    authored = _day(body.get("authored")) or package.as_of
    # The orders are the package's: a response counts for no order its package was not issued for.
    named = [ref for ref in _context(body) if not ref.startswith("Coverage/")]
    orders = [o for o in package.orders if o in named] if named else package.orders
    # Our id: the one the evidence will name (a client's id is its own).
    stored_id = str(uuid.uuid4())
    return StoredResponse(id=stored_id, patient=patient, therapy=therapy, assertion_id=package.assertion_id,
                          orders=orders, status=str(body["status"]), authored=authored,
                          resource={**body, "id": stored_id}, client=client, version=package.version)


def _package(body: dict[str, Any], store: ResponseStore, client: str, therapy: str) -> IssuedPackage:
    """The package the response answers: the one issued to this client whose coverage-assertion-id
    the response's identifier echoes."""
    identifier = body.get("identifier") or {}
    value = identifier.get("value") if identifier.get("system") == fhir.ASSERTION_SYSTEM else None
    package = store.package(client, value, therapy) if isinstance(value, str) and value else None
    if package is None:
        raise _refuse(f"identifier must carry the coverage-assertion-id ({fhir.ASSERTION_SYSTEM}) of a "
                      "$questionnaire-package this service issued to this client for this Questionnaire")
    return package


def _in_future(authored: dt.datetime | dt.date | str | None) -> bool:
    """Whether `authored` (as the R4B model reads it: an aware datetime, a date, or a partial
    date as text) is after now: a future date would shadow every later answer. A date without
    a time is in the future while that day has begun nowhere (UTC+14 is the earliest zone)."""
    now = dt.datetime.now(dt.UTC)
    if isinstance(authored, dt.datetime):
        return authored > now + SKEW
    first = _day(authored, "first")
    return first is not None and first > (now + dt.timedelta(hours=14)).date()


def issued_packages(parameters: dict[str, Any], client: str, knowledge: Knowledge,
                    base_url: str) -> list[IssuedPackage]:
    """The packages of a `$questionnaire-package` answer that can be answered: those whose draft
    carries a coverage-assertion-id, as the draft says (patient, orders, version, day)."""
    found = []
    for parameter in parameters.get("parameter") or []:
        if parameter.get("name") != fhir.PACKAGE_PARAMETER:
            continue
        for entry in parameter["resource"]["entry"]:
            draft = entry["resource"]
            if draft["resourceType"] != "QuestionnaireResponse" or "identifier" not in draft:
                continue
            therapy = therapy_of(knowledge, draft["questionnaire"], base_url)
            assert therapy is not None
            found.append(IssuedPackage(
                client=client, assertion_id=draft["identifier"]["value"], therapy=therapy,
                patient=draft["subject"]["reference"], version=knowledge.rulesets[therapy].version,
                orders=[r for r in _context(draft) if not r.startswith("Coverage/")],
                as_of=dt.date.fromisoformat(draft["authored"])))
    return found


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
            problem = misfit(answer, question, knowledge)
            if problem is not None:
                raise _refuse(f"{question.link_id}: {problem}")


def misfit(answer: dict[str, Any], question: Item, knowledge: Knowledge) -> str | None:
    """What is wrong with this answer to the question (None: it fits)."""
    key = ANSWER_KEYS[question.type]
    value = answer.get(key)
    if value is None:
        return f"the answer must be a {key}"
    if question.type == "choice" and not _offered(value, question, knowledge):
        return "the answer is not one of the options"
    if question.type == "quantity" and (value.get("code") != question.unit.code  # type: ignore[union-attr]
                                        or value.get("system", fhir.UCUM) != fhir.UCUM
                                        or value.get("value") is None):
        return f"the quantity must be given in {question.unit.code} (UCUM)"  # type: ignore[union-attr]
    return None


def _offered(coding: dict[str, Any], question: Item, knowledge: Knowledge) -> bool:
    return any((coding.get("system"), coding.get("code")) == (system, code)
               for option in question.options for system, code, _ in knowledge.valuesets.by_id[option].concepts)


def applicable(store: ResponseStore, client: str, patient: str, orders: Iterable[str]) -> list[StoredResponse]:
    """The latest completed response (as received) of each Questionnaire, among the client's
    responses about the patient and one of these orders."""
    wanted = {tail(o) for o in orders}
    latest: dict[str, StoredResponse] = {}
    for response in store.for_patient(client, patient):
        if response.status in READ_STATUSES and wanted & set(response.orders):
            latest[response.therapy] = response
    return list(latest.values())


def current(knowledge: Knowledge, responses: list[StoredResponse], warnings: list[Problem]) -> list[StoredResponse]:
    """The responses that answer the current version of their Questionnaire; each other one is
    a warning (its answers may not fit the questions asked now)."""
    kept = []
    for response in responses:
        ruleset = knowledge.rulesets.get(response.therapy)
        if ruleset is not None and response.version == ruleset.version:
            kept.append(response)
            continue
        now = f", not the current version {ruleset.version}" if ruleset is not None else ""
        warnings.append(Problem(source=f"QuestionnaireResponse/{response.id}", severity="warning", message=(
            f"answers version {response.version or 'unknown'} of the {response.therapy} Questionnaire{now}: "
            "its answers are not read; answer the current Questionnaire")))
    return kept


def record_entries(knowledge: Knowledge, responses: list[StoredResponse],
                   patient: str) -> list[tuple[str, Observation | Condition]]:
    """(reference, resource) for every answer whose item records an entry; for each question
    the latest response's answer counts."""
    return _entries(knowledge, _latest(knowledge, responses), patient)


def _entries(knowledge: Knowledge, answers: list[tuple[Item, StoredResponse, dict[str, Any]]],
             patient: str) -> list[tuple[str, Observation | Condition]]:
    out: list[tuple[str, Observation | Condition]] = []
    for question, response, answer in answers:
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


def _attested(answers: list[tuple[Item, StoredResponse, dict[str, Any]]]) -> list[tuple[str, str]]:
    """(reference, documentation item id) for every documentation item answered yes: the
    clinician attests the documentation exists."""
    return [(f"QuestionnaireResponse/{response.id}#{question.link_id}", question.link_id)
            for question, response, answer in answers
            if question.kind == "documentation" and answer.get("valueBoolean") is True]


def _latest(knowledge: Knowledge, responses: list[StoredResponse],
            warnings: list[Problem] | None = None) -> list[tuple[Item, StoredResponse, dict[str, Any]]]:
    """Each question's answer in the latest response (in the order given: as received) that
    answers it, for the questions of the current Questionnaires. An answer that does not fit
    its question as asked now is left out (and reported in `warnings`)."""
    latest: dict[tuple[str, str], tuple[StoredResponse, dict[str, Any]]] = {}
    for response in responses:
        for entry in response.resource.get("item") or []:
            if entry.get("answer"):
                latest[(response.therapy, entry["linkId"])] = (response, entry["answer"][0])
    out = []
    for (therapy, link_id), (response, answer) in sorted(latest.items()):
        question = next((i for i in items(knowledge, therapy) if i.link_id == link_id), None) \
            if therapy in knowledge.rulesets else None
        problem = misfit(answer, question, knowledge) if question is not None else None
        if question is not None and problem is None:
            out.append((question, response, answer))
        elif problem is not None and warnings is not None:
            warnings.append(Problem(source=f"QuestionnaireResponse/{response.id}", element=link_id,
                                    severity="warning", message=f"not read: {problem}"))
    return out


def amend(record: PatientRecord, orders: Iterable[str], store: ResponseStore, knowledge: Knowledge,
          client: str) -> None:
    """Add the client's answers about these orders to the record: the entries the rules read,
    and the documentation items attested; answers not read are the record's warnings."""
    responses = current(knowledge, applicable(store, client, record.reference, orders), record.warnings)
    answers = _latest(knowledge, responses, record.warnings)
    for ref, resource in _entries(knowledge, answers, record.reference):
        if isinstance(resource, Observation):
            record.observations.append((ref, resource))
        else:
            record.conditions.append((ref, resource))
    record.documented.extend(_attested(answers))
