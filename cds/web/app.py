"""The web service, assembled: CDS Hooks (cds/hooks), review pages (cds/review) and the
criteria catalog (cds/catalog) and the Da Vinci FHIR endpoints (cds/davinci) on one FastAPI app,
with the instances they share (cds/service: settings, authentication, the feedback store; the
audit trail), error answers and the access log. They all stand below this module, which alone
puts them together; hooks and review never import each other (tests/test_layout.py).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware

from .. import knowledge as _knowledge
from ..audit import AuditTrail
from ..catalog import routes as catalog_routes
from ..davinci import answers as dtr_answers
from ..davinci import routes as dtr_routes
from ..davinci.pas_store import PasStore
from ..davinci.policy import policy_for
from ..davinci.store import ResponseStore
from ..evaluator import Evaluator
from ..hooks.routes import router as hooks_router
from ..review import router as review_router
from ..service.access import Gate
from ..service.errors import HookError, error_response
from ..service.feedback import FeedbackStore
from ..service.security import ReplayCache, ReviewTokens, Verifier
from ..service.settings import Settings

log = logging.getLogger("cds.hooks")


# Generation 0 collected every 50,000 allocations (Python's default: 700); the older
# generations at their usual multiples.
GC_THRESHOLDS = (50_000, 10, 10)


def create_app(settings: Settings | None = None, knowledge: _knowledge.Knowledge | None = None) -> FastAPI:
    """knowledge: the rulesets the service runs; by default the process's (CDS_RULESETS or those shipped)."""
    settings = settings or Settings()
    # Loaded and compiled before the first call, not during it.
    evaluator = Evaluator(knowledge or _knowledge.default())
    # httpx logs each request's URL at INFO, and our FHIR query URLs carry the patient id.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    store = FeedbackStore(settings.feedback_db)
    # Once per worker process: every evaluation this app makes is appended to it.
    trail = AuditTrail.open(settings.audit_url)
    # Completed DTR QuestionnaireResponses, beside the feedback.
    responses = ResponseStore(settings.feedback_db)
    # PAS prior authorization requests kept to be decided again, and Subscriptions.
    pas = PasStore(settings.pas_store_url())
    verifier = Verifier(settings.auth, ReplayCache(settings.feedback_db)) if settings.auth else None
    gate = Gate(settings, verifier)
    tokens = ReviewTokens(settings.auth.review_secret.get_secret_value()) if settings.auth else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if verifier is None:
            log.warning("no CDS client authentication configured: calls are not authenticated")
        # A payer policy that cannot be used stops the service here, not on its first order.
        policy_for(evaluator.knowledge.folder, evaluator.knowledge.rulesets, settings.payer_policy)
        # A large record allocates millions of short-lived objects (parsed JSON, models,
        # facts); at the default threshold (700) the collector ran thousands of times in one
        # call and took 40 % of a 20,000-Condition patient-view. Collections stay, less often.
        gc.set_threshold(*GC_THRESHOLDS)
        yield
        trail.close()
        pas.close()

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
        return error_response(exc.status, exc.problems, exc.headers)

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

    app.include_router(hooks_router(settings=settings, evaluator=evaluator, store=store, trail=trail, gate=gate,
                                    base_url=base_url, tokens=tokens, paths=lambda: _route_paths(app.routes),
                                    amend=lambda client, record, drafts: dtr_answers.amend(
                                        record, drafts, responses, evaluator.knowledge, client)))
    app.include_router(dtr_routes.router(settings=settings, knowledge=evaluator.knowledge, trail=trail, responses=responses, pas=pas,
                                         gate=gate, base_url=base_url))
    app.include_router(catalog_routes.router(knowledge=evaluator.knowledge))

    app.include_router(review_router(evaluator=evaluator, trail=trail, feedback=store, settings=settings, base_url=base_url,
                                     tokens=tokens, bearer=None if gate.open else gate.admits))
    return app


def create_app_from_env() -> FastAPI:
    """For uvicorn workers: each process builds its own app (and engine) from the settings."""
    settings = Settings.from_env()
    # Worker processes start without the parent's logging set-up.
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return create_app(settings)


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
