"""The attachments a pended item needs, asked for as PAS CommunicationRequests (PAS 2.2.1
additionalinfo.md, ig/fsh/CommunicationRequest.fsh): one per documentation item of the
therapy's assessment, each naming the item (serviceLineNumber), the payer who asks and the
provider who sends, the payer's attachment request code (rulesets/davinci/pas.yaml: the DTR
questionnaire code, ainfo-3) and the therapy's DTR questionnaire. They are entries of the
response Bundle, referenced from ClaimResponse.communicationRequest (every resource the
ClaimResponse references is in the Bundle, spec-31).
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
