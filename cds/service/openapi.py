"""The request bodies of the service in its OpenAPI description (FastAPI's `app.openapi()`).

The handlers read their bodies themselves (size limits, duplicate keys), so FastAPI cannot see
them; these schemas say what each endpoint takes, for clients and for the property-based tests
(schemathesis) that generate requests from the description. The description is not served
(less surface); `app.openapi()` builds it.
"""

from __future__ import annotations

from typing import Any

_OBJECT: dict[str, Any] = {"type": "object"}
_STRING = {"type": "string", "minLength": 1}
_RESOURCE = {"type": "object", "required": ["resourceType"], "properties": {"resourceType": _STRING}}

HOOK_REQUEST = {
    "type": "object", "required": ["hook", "hookInstance", "context"],
    "properties": {
        "hook": {"type": "string", "enum": ["patient-view", "order-select", "order-sign"]},
        "hookInstance": _STRING, "fhirServer": {"type": "string", "format": "uri"},
        "context": {"type": "object", "required": ["userId", "patientId"], "properties": {
            "userId": _STRING, "patientId": {"type": "string", "pattern": "^[A-Za-z0-9\\-.]{1,64}$"},
            "draftOrders": {"type": "object", "properties": {"resourceType": {"const": "Bundle"},
                                                              "entry": {"type": "array"}}},
            "selections": {"type": "array", "items": _STRING}}},
        "prefetch": {"type": "object", "additionalProperties": {"anyOf": [_RESOURCE, {"type": "null"}]}},
    },
}
FEEDBACK = {
    "type": "object", "required": ["feedback"],
    "properties": {"feedback": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["card", "outcome", "outcomeTimestamp"],
        "properties": {"card": _STRING, "outcome": {"enum": ["accepted", "overridden"]},
                       "outcomeTimestamp": {"type": "string", "format": "date-time"},
                       "acceptedSuggestions": {"type": "array", "items": {
                           "type": "object", "required": ["id"], "properties": {"id": _STRING}}},
                       "overrideReason": _OBJECT}}}},
}
# DTR 2.0.1 $questionnaire-package input (dtr-qpackage-input-parameters).
PACKAGE_PARAMETERS = {
    "type": "object", "required": ["resourceType", "parameter"],
    "properties": {"resourceType": {"const": "Parameters"}, "parameter": {"type": "array", "items": {
        "type": "object", "required": ["name"],
        "properties": {"name": {"enum": ["coverage", "order", "referenced", "questionnaire", "context"]},
                       "resource": _RESOURCE, "valueString": _STRING, "valueCanonical": _STRING}}}},
}
QUESTIONNAIRE_RESPONSE = {
    "type": "object", "required": ["resourceType", "questionnaire", "status", "subject"],
    "properties": {"resourceType": {"const": "QuestionnaireResponse"}, "questionnaire": _STRING,
                   "status": {"enum": ["in-progress", "completed", "amended", "entered-in-error", "stopped"]},
                   "subject": {"type": "object", "properties": {"reference": _STRING}},
                   "authored": {"type": "string", "format": "date-time"},
                   "item": {"type": "array", "items": {"type": "object", "required": ["linkId"],
                                                       "properties": {"linkId": _STRING, "answer": {"type": "array"}}}}},
}

# Da Vinci PAS: a request Bundle, or a Parameters holding it as `resource`.
PAS_REQUEST = {
    "type": "object", "required": ["resourceType"],
    "properties": {"resourceType": {"enum": ["Bundle", "Parameters"]}, "type": _STRING,
                   "entry": {"type": "array", "items": {"type": "object", "properties": {"resource": _RESOURCE}}},
                   "parameter": {"type": "array", "items": {"type": "object", "properties": {"resource": _RESOURCE}}}},
}

# Da Vinci PAS Subscription (profile-subscription: the PAS topic, rest-hook, full-resource).
SUBSCRIPTION = {
    "type": "object", "required": ["resourceType", "criteria", "channel"],
    "properties": {"resourceType": {"const": "Subscription"}, "criteria": _STRING,
                   "_criteria": {"type": "object"},
                   "channel": {"type": "object", "properties": {"type": _STRING, "endpoint": _STRING,
                                                                "payload": _STRING, "_payload": {"type": "object"},
                                                                "header": {"type": "array", "items": _STRING}}}},
}


def json_body(schema: dict[str, Any], media_type: str = "application/json") -> dict[str, Any]:
    """FastAPI's openapi_extra for an endpoint that takes this JSON body."""
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}
