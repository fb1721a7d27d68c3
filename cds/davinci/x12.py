"""The X12 and PAS identifiers a `Claim/$submit` response carries, in one place.

Source: Da Vinci Prior Authorization Support (PAS) IG 2.2.1 (hl7.fhir.us.davinci-pas#2.2.1).
The review action codes are X12 code list 306 (HCR01), the required binding of the
reviewActionCode extension; the codes and displays are those of the IG's examples
(ig/fsh/Examples.fsh: A1 "Certified in total", A3 "Not Certified", A4 "Pending") and A6
"Modified" of specification.md spec-36. These are standard codes of the IG, not clinical content.
"""

from __future__ import annotations

from typing import Literal

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"

REQUEST_BUNDLE = PAS + "profile-pas-request-bundle"
RESPONSE_BUNDLE = PAS + "profile-pas-response-bundle"
CLAIM_PROFILES = frozenset({PAS + "profile-claim", PAS + "profile-claim-update"})
CLAIM_RESPONSE = PAS + "profile-claimresponse"
SUBMIT_OPERATION = "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-submit"
INQUIRE_OPERATION = "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-inquiry"

REVIEW_ACTION = PAS + "extension-reviewAction"
REVIEW_ACTION_CODE = PAS + "extension-reviewActionCode"
REQUESTED_SERVICE = PAS + "extension-requestedService"
ITEM_TRACE_NUMBER = PAS + "extension-itemTraceNumber"
PRE_AUTH_ISSUE_DATE = PAS + "extension-itemPreAuthIssueDate"
PRE_AUTH_PERIOD = PAS + "extension-itemPreAuthPeriod"
AUTHORIZED_DETAIL = PAS + "extension-itemAuthorizedDetail"
AUTHORIZED_PROVIDER = PAS + "extension-itemAuthorizedProvider"
INFO_CANCELLED = PAS + "modifierextension-infoCancelled"
CLAIM_UPDATE = PAS + "profile-claim-update"
CERTIFICATION_TYPE = PAS + "extension-certificationType"
# X12 1322 (UM02) "3" Cancel: on Claim.extension of a PAS Claim Update it cancels the whole request,
# no items needed (specification.md, "Updating authorization requests"); on an item, with
# infoCancelled, that item (spec-70).
CERTIFICATION_TYPE_SYSTEM = "https://codesystem.x12.org/005010/1322"
CANCEL = "3"
TRANSMISSION_IDENTIFIERS = PAS + "extension-TransmissionIdentifiers"
ERROR_PATH = PAS + "extension-errorPath"
COMMUNICATION_REQUEST = PAS + "profile-communicationrequest"
TASK = PAS + "profile-task"
# PASTempCodes (ig/fsh/Terminology.fsh): the PAS Task's code, reason and input types.
PAS_TEMP_CODES = "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes"
SERVICE_LINE_NUMBER = PAS + "extension-serviceLineNumber"

REVIEW_ACTION_SYSTEM = "https://codesystem.x12.org/005010/306"
ADJUDICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/adjudication"

Decision = Literal["A1", "A3", "A4", "A6"]
CERTIFIED: Decision = "A1"
NOT_CERTIFIED: Decision = "A3"
PENDED: Decision = "A4"
MODIFIED: Decision = "A6"
DISPLAYS: dict[str, str] = {
    CERTIFIED: "Certified in total",
    NOT_CERTIFIED: "Not Certified",
    PENDED: "Pending",
    MODIFIED: "Modified",
}
# What is authorized: the preAuthRef is issued when some item is.
AUTHORIZED: frozenset[str] = frozenset({CERTIFIED, MODIFIED})


def review_action(code: str, number: str | None = None) -> dict[str, object]:
    """The reviewAction extension of an adjudication: the X12 306 code and the authorization number."""
    parts: list[dict[str, object]] = []
    if number is not None:
        parts.append({"url": "number", "valueString": number})
    parts.append({"url": REVIEW_ACTION_CODE, "valueCodeableConcept": {"coding": [
        {"system": REVIEW_ACTION_SYSTEM, "code": code, "display": DISPLAYS[code]}]}})
    return {"url": REVIEW_ACTION, "extension": parts}
