"""The attachments a pended item needs, asked for as PAS CommunicationRequests (PAS 2.2.1
additionalinfo.md, ig/fsh/CommunicationRequest.fsh): one per documentation item of the
therapy's assessment, each naming the item (serviceLineNumber), the payer who asks and the
provider who sends, the payer's attachment request code (rulesets/davinci/pas.yaml: the DTR
questionnaire code, ainfo-3) and the therapy's DTR questionnaire. They are entries of the
response Bundle, referenced from ClaimResponse.communicationRequest (every resource the
ClaimResponse references is in the Bundle, spec-31).

Beside them, one PAS Task per pended item (ig/fsh/Task.fsh; additionalinfo.md's Task <->
ClaimResponse mapping table): the same request as a provider system's CDex/DTR module takes
it (code attachment-request-questionnaire, the DTR questionnaire as its questionnaire context,
the item as its paLineNumber). The IG has the provider make this Task (ainfo-4, "In PAS, the
Task is created by the Provider"); the payer sends it ready-made, as the 2.2.1 test kit looks
for one in `$submit` responses. Its payer-url is where this server takes the answers (stored
DTR QuestionnaireResponses decide the request again): it has no CDex $submit-attachment.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..models import Assessment
from . import x12

_NAMESPACE = uuid.UUID("0b6d1f0e-51a4-4c51-9f43-7f3c2a9d4e21")


def communication_requests(assessment: Assessment, sequence: int, number: str, questionnaire: str, code: str,
                           claim: dict[str, Any], response_id: str, base: str) -> list[dict[str, Any]]:
    """The CommunicationRequests of one pended item (`number`: the request's authorization number)."""
    found = []
    for document in assessment.documentation:
        own = f"{number}-{sequence}-{document.id}"
        found.append({
            "resourceType": "CommunicationRequest", "id": str(uuid.uuid5(_NAMESPACE, f"{response_id}|{own}")),
            "meta": {"profile": [x12.COMMUNICATION_REQUEST]},
            "extension": [{"url": x12.SERVICE_LINE_NUMBER, "valuePositiveInt": sequence}],
            # The identifier is the attachment control number the provider answers with.
            "identifier": [{"system": f"{base}/fhir/pas/attachment-request", "value": own}],
            "status": "active",
            "subject": claim["patient"],
            "payload": [{"contentString": code}],
            "requester": claim["insurer"],
            "sender": claim["provider"],
            "note": [{"text": f"{document.text} Answer the DTR questionnaire {questionnaire}."}],
        })
    return found


def task(sequence: int, number: str, questionnaire: str, claim: dict[str, Any], request_ref: str,
         insurer: dict[str, Any] | None, provider: dict[str, Any] | None, response_id: str, base: str
         ) -> dict[str, Any]:
    """The PAS Task of one pended item. `insurer` / `provider`: the Claim's insurer and provider
    resources, whose first identifiers the Task names ("only send the identifier")."""
    own = f"{number}-{sequence}-questionnaire"
    found: dict[str, Any] = {
        "resourceType": "Task", "id": str(uuid.uuid5(_NAMESPACE, f"{response_id}|{own}")),
        "meta": {"profile": [x12.TASK]},
        "identifier": [{"system": f"{base}/fhir/pas/attachment-request", "value": own}],
        "status": "requested", "intent": "order",
        "code": _temp("attachment-request-questionnaire"),
        "for": claim["patient"],
        "reasonCode": _temp("priorAuthorization"),
        "reasonReference": {"reference": request_ref},
        "input": [
            {"type": _temp("payer-url"), "valueUrl": f"{base}/fhir/QuestionnaireResponse"},
            {"extension": [{"url": x12.SERVICE_LINE_NUMBER, "valuePositiveInt": sequence}],
             "type": _temp("questionnaire-context"), "valueString": questionnaire},
        ],
    }
    # The payer asks: the insurer's identifier, else this service's URL (an insurer sent without one).
    found["requester"] = {"identifier": _first_identifier(insurer) or {"system": "urn:ietf:rfc:3986",
                                                                       "value": f"{base}/fhir"}}
    owner = _first_identifier(provider)
    if owner is not None:
        found["owner"] = {"identifier": owner}
    return found


def _temp(code: str) -> dict[str, Any]:
    return {"coding": [{"system": x12.PAS_TEMP_CODES, "code": code}]}


def _first_identifier(resource: dict[str, Any] | None) -> dict[str, Any] | None:
    given = resource.get("identifier") if resource is not None else None
    first = given[0] if isinstance(given, list) and given else None
    return {k: v for k, v in first.items() if k in ("system", "value")} if isinstance(first, dict) else None
