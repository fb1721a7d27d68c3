"""One DTR questionnaire package per therapy: a collection Bundle holding the Questionnaire
(first, rule dtrb-1), the ValueSets it uses, and a draft QuestionnaireResponse prefilled on the
server from the assessment (no CQL is shipped: the record was read by the rules already).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..facts import ObservationFact, PatientFacts
from ..knowledge import Knowledge
from ..models import Assessment
from . import fhir
from .canonical import questionnaire_url
from .items import Item, items
from .questionnaire import build_questionnaire, build_valuesets, versioned

AUTO = "auto"      # DTR 2.0.1 information-origin source for answers the service filled in


class Subject(BaseModel):
    """What a package is about: the patient, the orders and coverage, and the CRD assertion."""

    model_config = ConfigDict(frozen=True)

    patient: str
    orders: tuple[str, ...] = ()
    coverage: str | None = None
    assertion_id: str | None = None
    as_of: dt.date
    # CRD DocReason: withpa when the payer policy needs prior authorization, else withclaim
    # (as CRD's doc-purpose says).
    intended_use: str = "withpa"


def package_bundle(knowledge: Knowledge, therapy: str, assessment: Assessment | None, facts: PatientFacts | None,
                   subject: Subject, base_url: str) -> dict[str, Any]:
    questionnaire = build_questionnaire(knowledge, therapy, base_url)
    valuesets = build_valuesets(knowledge, therapy, base_url)
    response = draft_response(knowledge, therapy, assessment, facts, subject, base_url)
    base = base_url.rstrip("/")
    entries = [{"fullUrl": questionnaire["url"], "resource": questionnaire}]
    entries += [{"fullUrl": f"{base}/fhir/ValueSet/{v['id']}", "resource": v} for v in valuesets]
    entries.append({"fullUrl": f"urn:uuid:{response['id']}", "resource": response})
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "meta": {"profile": [fhir.PACKAGE_BUNDLE]},
            "type": "collection", "timestamp": _now(), "entry": entries}


def draft_response(knowledge: Knowledge, therapy: str, assessment: Assessment | None, facts: PatientFacts | None,
                   subject: Subject, base_url: str) -> dict[str, Any]:
    ruleset = knowledge.rulesets[therapy]
    contexts = [r for r in (subject.coverage, *subject.orders) if r]
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse", "id": str(uuid.uuid4()),
        "meta": {"profile": [fhir.QUESTIONNAIRE_RESPONSE]},
        "extension": [
            *({"url": fhir.QR_CONTEXT, "valueReference": {"reference": r}} for r in contexts),
            {"url": fhir.INTENDED_USE, "valueCodeableConcept": {"coding": [
                {"system": fhir.CRD_TEMP, "code": subject.intended_use,
                 "display": fhir.INTENDED_USES[subject.intended_use]}]}},
        ],
        "questionnaire": versioned(questionnaire_url(base_url, therapy), ruleset.version),
        "status": "in-progress",
        "subject": {"reference": subject.patient},
        "authored": subject.as_of.isoformat(),
        "item": [_answered(item, assessment, facts, knowledge) for item in items(knowledge, therapy)],
    }
    if subject.assertion_id:
        response["identifier"] = {"system": fhir.ASSERTION_SYSTEM, "value": subject.assertion_id}
    return response


def _answered(item: Item, assessment: Assessment | None, facts: PatientFacts | None,
              knowledge: Knowledge) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.link_id, "text": item.text}
    value = prefill(item, assessment, facts, knowledge)
    if value is not None:
        origin = {"url": fhir.INFORMATION_ORIGIN, "extension": [{"url": "source", "valueCode": AUTO}]}
        out["answer"] = [{"extension": [origin], **value}]
    return out


def prefill(item: Item, assessment: Assessment | None, facts: PatientFacts | None,
            knowledge: Knowledge) -> dict[str, Any] | None:
    """The answer the record gives, as `{"valueX": ...}`; None when it tells nothing.

    Only criteria the rules settled (met or not-met) are answered, from their own evidence: a
    yes/no item with the result, a choice or quantity item with the most recent observation
    among the evidence. Documentation items are never answered: the record cannot show them.
    """
    if item.kind != "criterion" or assessment is None:
        return None
    criterion = next((c for c in assessment.criteria if c.id == item.link_id), None)
    if criterion is None or criterion.result not in ("met", "not-met"):
        return None
    if item.type == "boolean":
        return {"valueBoolean": criterion.result == "met"}
    if item.records is None or item.records.observation is None or facts is None:
        return None
    evidence = set(criterion.evidence)
    seen = [o for o in facts.observations if o.ref in evidence and item.records.observation in o.vs]
    latest = max(seen, key=lambda o: o.date or dt.date.min, default=None)
    if latest is None:
        return None
    if item.type == "quantity":
        return _quantity(item, latest, knowledge)
    return _choice(item, latest, knowledge)


def _choice(item: Item, observation: ObservationFact, knowledge: Knowledge) -> dict[str, Any] | None:
    # The facts keep the value sets an answer is in, not its code: the coding is told only when
    # one option value set holds the answer and that value set has one concept.
    matched = [knowledge.valuesets.by_id[o] for o in item.options if o in observation.answers]
    if len(matched) != 1 or len(matched[0].concepts) != 1:
        return None
    system, code, display = matched[0].concepts[0]
    return {"valueCoding": {"system": system, "code": code, **({"display": display} if display else {})}}


def _quantity(item: Item, observation: ObservationFact, knowledge: Knowledge) -> dict[str, Any] | None:
    assert item.unit is not None
    # The record's unit as printed (mmHg for mm[Hg]) or one that converts: the answer is in the item's.
    value = None if observation.value is None else knowledge.terminology.units.convert(
        observation.value, observation.unit, item.unit.code, observation.vs)
    if value is None:
        return None
    return {"valueQuantity": {"value": round(value, 6), "unit": item.unit.display or item.unit.code,
                              "system": fhir.UCUM, "code": item.unit.code}}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
