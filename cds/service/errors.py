"""Errors as FHIR OperationOutcome responses, one status per kind of failure."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from ..fhir import Problem, operation_outcome

# FHIR issue codes for the statuses this service answers with.
_ISSUE_CODES = {400: "invalid", 401: "login", 404: "not-found", 405: "not-supported",
                412: "incomplete", 413: "too-long", 415: "not-supported", 500: "exception",
                503: "transient"}
FHIR_JSON = "application/fhir+json"


class HookError(Exception):
    """A call that cannot be answered with cards; carries its HTTP status and problems."""

    def __init__(self, status: int, problems: list[Problem] | str, headers: dict[str, str] | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(source="request", message=problems)]
        self.status = status
        self.problems = problems
        self.headers = headers
        super().__init__("; ".join(str(p) for p in problems))


class Unauthorized(HookError):
    """A call without an accepted JWT. No detail on purpose: telling a caller which check
    failed helps an attacker, not a client."""

    def __init__(self) -> None:
        super().__init__(401, "authentication required", {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def outcome(status: int, problems: list[Problem]) -> dict[str, Any]:
    body = operation_outcome(problems)
    code = _ISSUE_CODES.get(status, "processing")
    for issue in body["issue"]:
        if issue["severity"] == "error":
            issue["code"] = code
    return body


def error_response(status: int, problems: list[Problem] | str, headers: dict[str, str] | None = None) -> JSONResponse:
    if isinstance(problems, str):
        problems = [Problem(source="request", message=problems)]
    return JSONResponse(outcome(status, problems), status_code=status, media_type=FHIR_JSON,
                        headers=headers)
