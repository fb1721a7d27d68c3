"""The CDS Hooks service: discovery, service calls and feedback over FastAPI.

Handlers are async so that FHIR fetches overlap; evaluation runs in a worker thread (the
engine serialises itself with a lock and must never block the event loop).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware

from .. import knowledge as _knowledge
from ..audit import AuditTrail, StoreError
from ..catalog import routes as catalog_routes
from ..fhir.limits import LimitError
from ..review import router as review_router
from .body import read_json
from .discovery import Service, discovery, services
from .errors import HookError, error_response, unauthorized
from .feedback import FeedbackStore
from .prefetch import resolve
from .requests import parse_call, parse_feedback
from .security import AuthError, ReplayCache, ReviewTokens, Verifier
from .service import answer
from .settings import Settings

log = logging.getLogger("cds.hooks")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # httpx logs each request's URL at INFO, and our FHIR query URLs carry the patient id.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    store = FeedbackStore(settings.feedback_db)
    # Once per worker process: every evaluation this app makes is appended to it.
    trail = AuditTrail.open(settings.audit_url)
    verifier = Verifier(settings.auth, ReplayCache(settings.feedback_db)) if settings.auth else None
    tokens = ReviewTokens(settings.auth.review_secret.get_secret_value()) if settings.auth else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if verifier is None:
            log.warning("no CDS client authentication configured: calls are not authenticated")
        # Load and compile the rulesets before the first call, not during it.
        await anyio.to_thread.run_sync(_knowledge.default)
        yield
        trail.close()

    # No generated docs: the API is the CDS Hooks specification's, and less surface is safer.
    app = FastAPI(title="Home infusion CDS Hooks service", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.feedback = store
    app.state.audit = trail
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # Our own access log: the route template, never the query string, body or headers.
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        log.info("%s %s %d %.1f ms", request.method, getattr(route, "path", "<no route>"),
                 response.status_code, (time.perf_counter() - start) * 1000)
        return response

    @app.exception_handler(HookError)
    async def hook_error(request: Request, exc: HookError) -> Response:
        return error_response(exc.status, exc.problems)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = {404: "no such endpoint", 405: "method not allowed"}.get(exc.status_code, "request refused")
        return error_response(exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(400, "invalid request")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # The type only: messages and tracebacks can quote patient data.
        log.error("unexpected %s while answering %s", type(exc).__name__, request.method)
        return error_response(500, "internal error")

    def base_url(request: Request) -> str:
        if settings.public_base_url:
            return settings.public_base_url.rstrip("/")
        # Only without auth (Settings refuses auth without a public base URL): the JWT
        # audience is never built from request headers.
        return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"

    async def authenticate(request: Request) -> Response | None:
        if verifier is None:
            return None
        assert settings.public_base_url is not None
        audience = settings.public_base_url.rstrip("/") + request.url.path[len(request.scope.get("root_path", "")):]
        try:
            await anyio.to_thread.run_sync(verifier.verify, request.headers.get("authorization"), audience)
        except AuthError as exc:
            log.info("JWT refused: %s", exc)
            return unauthorized()
        return None

    def service_for(service_id: str) -> Service:
        service = services(_knowledge.default()).get(service_id)
        if service is None:
            # Not the id asked for: never echo request input.
            raise HookError(404, "no such CDS service; GET /cds-services lists them")
        return service

    @app.get("/cds-services")
    async def list_services() -> Response:
        return _json(discovery(_knowledge.default()))

    @app.post("/cds-services/{service_id}")
    async def call_service(service_id: str, request: Request) -> Response:
        service = service_for(service_id)
        refused = await authenticate(request)
        if refused is not None:
            return refused
        call = parse_call(await read_json(request, settings.max_body_bytes), service.hook)
        prefetch = await resolve(call, service.prefetch, settings.fetch_timeout)
        paths = _route_paths(app.routes)
        try:
            result = await anyio.to_thread.run_sync(
                lambda: answer(call, prefetch, service, base_url=base_url(request), as_of=settings.as_of,
                               available_paths=paths, trail=trail))
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

    @app.post("/cds-services/{service_id}/feedback")
    async def feedback(service_id: str, request: Request) -> Response:
        service = service_for(service_id)
        refused = await authenticate(request)
        if refused is not None:
            return refused
        parsed = parse_feedback(await read_json(request, settings.max_body_bytes))
        await anyio.to_thread.run_sync(store.add, service.id, parsed.feedback)
        return Response(status_code=200)

    app.include_router(catalog_routes.router())

    async def bearer(request: Request) -> bool:
        return await authenticate(request) is None

    app.include_router(review_router(trail=trail, feedback=store, settings=settings, base_url=base_url,
                                     tokens=tokens, bearer=bearer if verifier is not None else None))
    return app


def create_app_from_env() -> FastAPI:
    """For uvicorn workers: each process builds its own app (and engine) from the settings."""
    settings = Settings.from_env()
    # Worker processes start without the parent's logging set-up.
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return create_app(settings)


def _sign_review_links(result: dict[str, Any], prefix: str, tokens: ReviewTokens) -> None:
    """Give each card's review link a short-lived token for its record: with auth the review
    page opens only from a link this service made."""
    for card in result.get("cards", []):
        for link in card.get("links", []):
            url = link.get("url", "")
            if url.startswith(prefix) and "?" not in url:
                link["url"] = f"{url}?token={tokens.link(url[len(prefix):])}"


def _route_paths(routes: Any) -> set[str]:
    """Every route path, including those of included routers (FastAPI may keep an included
    router as one route object without a path of its own)."""
    found: set[str] = set()
    for route in routes:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            found.add(path)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found |= _route_paths(inner.routes)
    return found


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")
