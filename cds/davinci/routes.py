"""The FHIR endpoints of the DTR payer service, under /fhir:

    GET  /fhir/metadata                                  CapabilityStatement
    GET  /fhir/Questionnaire/{id}                        a therapy's Questionnaire
    GET  /fhir/ValueSet/{id}                             a ValueSet a Questionnaire uses
    POST /fhir/Questionnaire/$questionnaire-package      and POST /fhir/$questionnaire-package
    POST /fhir/QuestionnaireResponse                     store a completed response
    POST /fhir/Claim/$submit                             PAS: a prior authorization request decided

Authenticated as the hooks are (cds/web/app.py hands in the service's `Gate`); the packages issued
and the answers stored belong to the calling client (cds/davinci/store.py). Errors are FHIR
OperationOutcomes that never quote the request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Request, Response

from ..audit import AuditTrail
from ..knowledge import Knowledge
from ..service.access import Gate
from ..service.errors import FHIR_JSON, HookError
from ..service.openapi import PACKAGE_PARAMETERS, PAS_REQUEST, QUESTIONNAIRE_RESPONSE, json_body
from ..service.security import client_of
from ..service.settings import Settings
from .answers import accept, issued_packages
from .canonical import questionnaire_id
from .fhir import OPERATION
from .operation import questionnaire_package
from . import pas_routes, x12
from .pas_routes import PasService
from .pas_store import PasStore
from .pas_subscription import PROFILE as SUBSCRIPTION_PROFILE
from .pas_subscription import TOPIC, TOPIC_CANONICAL as SUBSCRIPTION_TOPIC_CANONICAL
from .policy import policy_for
from .questionnaire import build_questionnaire, build_valuesets
from .store import ResponseStore

PACKAGE_PATHS = ("/fhir/Questionnaire/$questionnaire-package", "/fhir/$questionnaire-package")


def router(*, settings: Settings, knowledge: Knowledge, trail: AuditTrail, responses: ResponseStore,
           pas: PasStore, gate: Gate, base_url: Callable[[Request], str]) -> APIRouter:
    app = APIRouter()
    authenticated = [Depends(gate)]
    fhir_body = Depends(gate.json(settings.max_body_bytes))
    # A completed form is small: a larger body is refused before it is read whole.
    answer_body = Depends(gate.json(min(settings.max_body_bytes, settings.max_answer_bytes)))
    service = PasService(settings, knowledge, trail, responses, pas)
    app.include_router(pas_routes.router(settings=settings, service=service, gate=gate, base_url=base_url))

    @app.get("/fhir/metadata")
    async def metadata(request: Request) -> Response:
        return _fhir(capability_statement(base_url(request)))

    @app.get("/fhir/Questionnaire/{resource_id}", dependencies=authenticated)
    async def questionnaire(resource_id: str, request: Request) -> Response:
        therapy = next((t for t in knowledge.rulesets if questionnaire_id(t) == resource_id), None)
        if therapy is None:
            raise HookError(404, "no such Questionnaire; GET /criteria lists the therapies")
        return _fhir(build_questionnaire(knowledge, therapy, base_url(request)))

    @app.get("/fhir/ValueSet/{resource_id}", dependencies=authenticated)
    async def valueset(resource_id: str, request: Request) -> Response:
        for therapy in knowledge.rulesets:
            for found in build_valuesets(knowledge, therapy, base_url(request)):
                if found["id"] == resource_id:
                    return _fhir(found)
        raise HookError(404, "no such ValueSet")

    async def package(request: Request, body: Any = fhir_body) -> Response:
        day = settings.as_of or dt.date.today()
        policy = policy_for(knowledge.folder, knowledge.rulesets, settings.payer_policy)
        result = await anyio.to_thread.run_sync(
            lambda: questionnaire_package(body, knowledge, trail, base_url(request), day, policy))
        # Answers are taken only to packages handed out, and only from the client they went to.
        issued = issued_packages(result, client_of(request), knowledge, base_url(request))
        await anyio.to_thread.run_sync(responses.issue, issued)
        return _fhir(result)

    for path in PACKAGE_PATHS:
        app.add_api_route(path, package, methods=["POST"],
                          openapi_extra=json_body(PACKAGE_PARAMETERS, FHIR_JSON))

    @app.post("/fhir/QuestionnaireResponse", openapi_extra=json_body(QUESTIONNAIRE_RESPONSE, FHIR_JSON))
    async def store_response(request: Request, body: Any = answer_body) -> Response:
        client = client_of(request)
        stored = await anyio.to_thread.run_sync(
            lambda: accept(body, knowledge, responses, base_url(request), client))
        await anyio.to_thread.run_sync(responses.add, stored, settings.max_stored_answers)
        # Pended prior authorization requests of this client about the patient are decided again.
        redecided = await anyio.to_thread.run_sync(service.answered, client, stored.patient, base_url(request))
        outcome = {"resourceType": "OperationOutcome", "issue": [{
            "severity": "information", "code": "informational",
            "diagnostics": f"stored as QuestionnaireResponse/{stored.id}, linked to coverage assertion "
                           f"{stored.assertion_id}; its answers count in the next assessment of the order"
                           + (f"; {redecided} pended prior authorization request(s) decided again"
                              if redecided else "")}]}
        return _fhir(outcome, 201, {"Location": f"{base_url(request)}/fhir/QuestionnaireResponse/{stored.id}"})

    @app.post("/fhir/Claim/$submit", openapi_extra=json_body(PAS_REQUEST, FHIR_JSON))
    async def claim_submit(request: Request, body: Any = fhir_body) -> Response:
        client = client_of(request)
        result = await anyio.to_thread.run_sync(lambda: service.submit(body, client, base_url(request)))
        return _fhir(result)

    return app


def capability_statement(base_url: str) -> dict[str, Any]:
    """What this server does, as DTR's payer CapabilityStatement asks: the package operation on
    Questionnaire, reading Questionnaire and ValueSet, creating QuestionnaireResponse; and PAS's
    IntermediaryCapabilities: Claim/$submit, Claim/$inquire and rest-hook Subscriptions on the
    PAS topic."""
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": dt.date.today().isoformat(),
        "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
        "implementation": {"description": "Home infusion CDS: Da Vinci DTR payer service (no CQL; prefill on the server) "
                                          "and PAS prior authorization (Claim/$submit, Claim/$inquire, Subscription)",
                           "url": f"{base_url}/fhir"},
        # No `instantiates` of DTR's dtr-payer-service: its $log-questionnaire-errors and
        # ValueSet/$expand are not offered.
        "rest": [{"mode": "server", "resource": [
            {"type": "Questionnaire", "interaction": [{"code": "read"}],
             "operation": [{"name": "questionnaire-package", "definition": OPERATION}]},
            {"type": "ValueSet", "interaction": [{"code": "read"}]},
            {"type": "QuestionnaireResponse", "interaction": [{"code": "create"}]},
            # PAS IntermediaryCapabilities names the operations by their versioned canonicals.
            {"type": "Claim", "operation": [{"name": "submit", "definition": f"{x12.SUBMIT_OPERATION}|2.2.1"},
                                            {"name": "inquire", "definition": f"{x12.INQUIRE_OPERATION}|2.2.1"}]},
            {"extension": [{"url": SUBSCRIPTION_TOPIC_CANONICAL, "valueCanonical": TOPIC}],
             "type": "Subscription", "supportedProfile": [SUBSCRIPTION_PROFILE],
             "interaction": [{"code": "create"}, {"code": "read"}, {"code": "update"}, {"code": "delete"}]},
        ]}],
    }


def _fhir(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=FHIR_JSON, headers=headers)
