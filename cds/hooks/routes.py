"""The CDS Hooks endpoints: discovery, service calls and feedback.

Handlers are async so that FHIR fetches overlap; evaluation runs in a worker thread (the
engine serialises itself with a lock and must never block the event loop). The app they are
mounted on (cds/web/app.py) supplies authentication, the stores and the base URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from ..audit import AuditTrail, StoreError
from ..davinci.policy import policy_for
from ..evaluator import Evaluator
from ..fhir.limits import LimitError
from ..fhir.record import PatientRecord
from ..service.access import Gate
from ..service.errors import HookError
from ..service.feedback import FeedbackStore
from ..service.openapi import FEEDBACK, HOOK_REQUEST, json_body
from ..service.security import ReviewTokens, client_of
from ..service.settings import Settings
from .discovery import Service, discovery, services
from .prefetch import resolve
from .requests import parse_call, parse_feedback
from .service import answer

log = logging.getLogger("cds.hooks")


def router(
    *,
    settings: Settings,
    evaluator: Evaluator,
    store: FeedbackStore,
    trail: AuditTrail,
    gate: Gate,
    base_url: Callable[[Request], str],
    tokens: ReviewTokens | None,
    paths: Callable[[], set[str]],
    amend: Callable[[str, PatientRecord, set[str]], None] | None = None,
) -> APIRouter:
    """amend(client, record, orders): adds what the calling client answered about the orders
    (DTR QuestionnaireResponses, cds/davinci) to the record."""
    app = APIRouter()

    async def service_for(service_id: str) -> Service:
        service = services(evaluator.knowledge).get(service_id)
        if service is None:
            # Not the id asked for: never echo request input.
            raise HookError(404, "no such CDS service; GET /cds-services lists them")
        return service

    caller_body = Depends(gate.json(settings.max_body_bytes))

    @app.get("/cds-services")
    async def list_services() -> Response:
        return _json(discovery(evaluator.knowledge))

    @app.post("/cds-services/{service_id}", openapi_extra=json_body(HOOK_REQUEST))
    async def call_service(request: Request, service: Service = Depends(service_for),
                           body: Any = caller_body) -> Response:
        # The dependencies run in this order: an unknown service is a 404 before the caller is checked.
        call = parse_call(body, service.hook)
        prefetch = await resolve(call, service.prefetch, settings.fetch_timeout, settings.max_body_bytes)
        available = paths()
        knowledge = evaluator.knowledge
        # Checked when the app was made (a bad file never serves); cached after the first read.
        policy = policy_for(knowledge.folder, knowledge.rulesets, settings.payer_policy)
        client = client_of(request)
        amend_for_client = (lambda record, orders: amend(client, record, orders)) if amend is not None else None
        try:
            result = await anyio.to_thread.run_sync(
                lambda: answer(call, prefetch, service, evaluator, base_url=base_url(request), as_of=settings.as_of,
                               available_paths=available, trail=trail, policy=policy, amend=amend_for_client))
        except HookError:
            raise
        except LimitError as exc:
            raise HookError(413, exc.problems) from None
        except (StoreError, SQLAlchemyError) as exc:
            # No card without its audit record: the trail must hold every evaluation shown.
            log.error("audit trail append failed with %s", type(exc).__name__)
            raise HookError(503, "the evaluation could not be recorded in the audit trail") from None
        except Exception as exc:  # noqa: BLE001 - a record no rule can read is answered, not a 500
            # The type only: messages and tracebacks can quote patient data.
            log.error("assessment failed with %s", type(exc).__name__)
            raise HookError(400, "the record in this request could not be assessed") from None
        if tokens is not None:
            _sign_review_links(result, base_url(request) + "/review/", tokens)
        return _json(result)

    @app.post("/cds-services/{service_id}/feedback", openapi_extra=json_body(FEEDBACK))
    async def feedback(service: Service = Depends(service_for), body: Any = caller_body) -> Response:
        parsed = parse_feedback(body)
        await anyio.to_thread.run_sync(store.add, service.id, parsed.feedback)
        return Response(status_code=200)

    return app


def _sign_review_links(result: dict[str, Any], prefix: str, tokens: ReviewTokens) -> None:
    """Give each card's review link a short-lived token for its record: with auth the review
    page opens only from a link this service made."""
    for card in result.get("cards", []):
        for link in card.get("links", []):
            url = link.get("url", "")
            if url.startswith(prefix) and "?" not in url:
                link["url"] = f"{url}?token={tokens.link(url[len(prefix):])}"


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")
