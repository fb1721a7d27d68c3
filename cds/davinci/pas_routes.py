"""The PAS endpoints beyond `$submit`'s decision: Subscriptions and `Claim/$inquire`, and what
`$submit` and a stored DTR answer do with kept requests (cds/davinci/pas_pended.py).

    POST   /fhir/Subscription        a PAS Subscription (201; handshake, then active)
    GET    /fhir/Subscription/{id}   read it back (the client's own only)
    PUT    /fhir/Subscription/{id}   a new version (handshake again)
    DELETE /fhir/Subscription/{id}   end it
    POST   /fhir/Claim/$inquire      a PAS Inquiry Request Bundle in, Parameters of Inquiry Response Bundles out

Authenticated as the other FHIR endpoints; bodies bounded; errors quote nothing.
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
from ..service.openapi import PAS_REQUEST, SUBSCRIPTION, json_body
from ..service.security import client_of
from ..service.settings import Settings
from .answers import amend as amend_with_answers
from .pas import Amend
from .pas_inquire import inquire
from .pas_pended import Keeping, redecide, submit_kept
from .pas_store import PasStore
from .pas_delivery import Delivering
from .pas_subscription import read_subscription, shown
from .store import ResponseStore

# A Subscription is a few hundred bytes.
MAX_SUBSCRIPTION_BYTES = 16 * 1024


class PasService:
    """What the FHIR routes call: `$submit` with kept requests, and answers that re-decide them."""

    def __init__(self, settings: Settings, knowledge: Knowledge, trail: AuditTrail, responses: ResponseStore,
                 pas: PasStore) -> None:
        self.settings, self.knowledge, self.trail, self.responses, self.pas = settings, knowledge, trail, responses, pas
        self.delivering = Delivering(pas, allow_internal=not settings.subscription_https_only,
                                     attempts=settings.pas_delivery_attempts,
                                     first_wait=settings.pas_delivery_first_wait)

    def _keeping(self, client: str) -> Keeping:
        return Keeping(self.pas, client, self.settings.pas_retention_days)

    def _amend(self, client: str) -> Amend:
        return lambda record, orders: amend_with_answers(record, orders, self.responses, self.knowledge, client)

    def today(self) -> dt.date:
        return self.settings.as_of or dt.date.today()

    def submit(self, body: Any, client: str, base_url: str) -> dict[str, Any]:
        bundle, kept, decided = submit_kept(body, self.knowledge, self.trail, self._keeping(client), base_url,
                                            self.today(), self._amend(client))
        if decided:
            self.delivering.notify(kept, base_url)
        return bundle

    def answered(self, client: str, patient: str, base_url: str) -> int:
        """After a stored answer: decide the client's pended requests about the patient again;
        notify for each that changed. Returns how many changed."""
        changed = redecide(self.knowledge, self.trail, self._keeping(client), patient, base_url, self.today(),
                           self._amend(client))
        for kept in changed:
            self.delivering.notify(kept, base_url)
        return len(changed)


def router(*, settings: Settings, service: PasService, gate: Gate, base_url: Callable[[Request], str]) -> APIRouter:
    app = APIRouter()
    pas = service.pas
    authenticated = [Depends(gate)]
    subscription_body = Depends(gate.json(min(settings.max_body_bytes, MAX_SUBSCRIPTION_BYTES)))
    fhir_body = Depends(gate.json(settings.max_body_bytes))

    @app.post("/fhir/Subscription", openapi_extra=json_body(SUBSCRIPTION, FHIR_JSON))
    async def create_subscription(request: Request, body: Any = subscription_body) -> Response:
        subscription = await anyio.to_thread.run_sync(read_subscription, body, client_of(request),
                                                      settings.subscription_https_only)
        await anyio.to_thread.run_sync(pas.add_subscription, subscription)
        service.delivering.handshake(subscription, base_url(request))
        location = f"{base_url(request)}/fhir/Subscription/{subscription.id}"
        return _fhir(shown(subscription), 201, {"Location": location})

    @app.get("/fhir/Subscription/{subscription_id}", dependencies=authenticated)
    async def read_one(subscription_id: str, request: Request) -> Response:
        found = await anyio.to_thread.run_sync(pas.subscription, client_of(request), subscription_id)
        if found is None:
            raise HookError(404, "no such Subscription")
        return _fhir(shown(found))

    @app.put("/fhir/Subscription/{subscription_id}", openapi_extra=json_body(SUBSCRIPTION, FHIR_JSON))
    async def update_one(subscription_id: str, request: Request, body: Any = subscription_body) -> Response:
        subscription = await anyio.to_thread.run_sync(read_subscription, body, client_of(request),
                                                      settings.subscription_https_only, subscription_id)
        if not await anyio.to_thread.run_sync(pas.replace_subscription, subscription):
            raise HookError(404, "no such Subscription")
        # A changed endpoint is confirmed again before it hears of any decision.
        service.delivering.handshake(subscription, base_url(request))
        return _fhir(shown(subscription))

    @app.delete("/fhir/Subscription/{subscription_id}", dependencies=authenticated)
    async def delete_one(subscription_id: str, request: Request) -> Response:
        if not await anyio.to_thread.run_sync(pas.remove_subscription, client_of(request), subscription_id):
            raise HookError(404, "no such Subscription")
        return Response(status_code=204)

    @app.post("/fhir/Claim/$inquire", openapi_extra=json_body(PAS_REQUEST, FHIR_JSON))
    async def claim_inquire(body: Any = fhir_body) -> Response:
        result = await anyio.to_thread.run_sync(inquire, body, pas)
        return _fhir(result)

    return app


def _fhir(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=FHIR_JSON, headers=headers)
