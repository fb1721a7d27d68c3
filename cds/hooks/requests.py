"""The CDS Hooks 2.0 request bodies (service call and feedback) as pydantic models.

Context fields follow the hook library (patient-view 1.0, order-select 1.0, order-sign 1.1);
unknown fields are allowed because hooks and extensions add them over time.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ..fhir import Problem
from ..service.errors import HookError
from ..service.feedback import FeedbackItem

NonEmpty = Field(min_length=1)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(_Open):
    # Secret so that it can never be printed or logged by accident.
    access_token: SecretStr
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str = NonEmpty
    subject: str = NonEmpty


class PatientViewContext(_Open):
    userId: str = NonEmpty
    # A FHIR id (R4 datatype id): it goes into FHIR queries and references.
    patientId: str = Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$")
    encounterId: str | None = None


class OrderSignContext(PatientViewContext):
    draftOrders: dict[str, Any]

    @field_validator("draftOrders")
    @classmethod
    def _bundle(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("resourceType") != "Bundle":
            raise ValueError("must be a FHIR Bundle")
        if not isinstance(value.get("entry", []), list):
            raise ValueError("Bundle.entry must be an array")
        return value


class OrderSelectContext(OrderSignContext):
    selections: list[str] = Field(min_length=1)


CONTEXTS: dict[str, type[PatientViewContext]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


class HookRequest(_Open):
    hook: str = NonEmpty
    hookInstance: str = NonEmpty
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    # A key's value may be null: the client found no data for it.
    prefetch: dict[str, Any] | None = None


class ParsedCall(BaseModel):
    """A validated call: the request and its hook's typed context."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    request: HookRequest
    context: PatientViewContext


def parse_call(body: Any, hook: str) -> ParsedCall:
    """Validate a service call for a hook; HookError 400 naming every problem."""
    request = _validate(HookRequest, body, "")
    if request.hook != hook:
        raise HookError(400, [Problem(source="request", element="hook",
                                      # Never the value sent: it is the caller's input.
                                      message=f"this service answers {hook} only")])
    if request.fhirAuthorization is not None and request.fhirServer is None:
        raise HookError(400, [Problem(source="request", element="fhirServer",
                                      message="required when fhirAuthorization is given")])
    context = _validate(CONTEXTS[hook], request.context, "context.")
    return ParsedCall(request=request, context=context)


class FeedbackRequest(_Open):
    feedback: list[FeedbackItem] = Field(min_length=1)


def parse_feedback(body: Any) -> FeedbackRequest:
    parsed = _validate(FeedbackRequest, body, "")
    problems = []
    for n, item in enumerate(parsed.feedback):
        where = f"feedback[{n}]"
        if item.outcome == "accepted" and not item.acceptedSuggestions:
            problems.append(Problem(source="request", element=f"{where}.acceptedSuggestions",
                                    message="required when the outcome is accepted"))
        if item.outcome == "accepted" and item.overrideReason is not None:
            problems.append(Problem(source="request", element=f"{where}.overrideReason",
                                    message="only for an overridden card"))
        if item.outcome == "overridden" and item.acceptedSuggestions:
            problems.append(Problem(source="request", element=f"{where}.acceptedSuggestions",
                                    message="only for an accepted card"))
    if problems:
        raise HookError(400, problems)
    return parsed


def _validate(model: type[Any], data: Any, prefix: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HookError(400, [_problem(error, prefix) for error in exc.errors()]) from None


def _problem(error: Any, prefix: str) -> Problem:
    path = prefix + ".".join(str(part) for part in error["loc"])
    if len(path) > 200:
        # A path can hold keys the caller chose (prefetch keys, extensions): never echo much.
        path = path[:200] + "…"
    message = "required" if error["type"] == "missing" else error["msg"]
    # Never echo the input value: it may hold a token or patient data.
    return Problem(source="request", element=path.rstrip(".") or None, message=message)
