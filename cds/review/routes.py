"""The review pages: GET/POST /review, GET /review/{assessment-id}, POST .../decision, assets."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from ..audit import AuditRecord, AuditTrail
from ..evaluator import Evaluator
from ..service.feedback import FeedbackStore
from ..service.overrides import OVERRIDE_REASONS
from ..service.security import ReviewTokens
from ..service.settings import Settings
from . import decisions as _decisions
from .assess import assess_and_record
from .fixtures import DEFAULT_FOLDER, Fixture, fixtures
from .inputs import BadInput, Field, read_as_of, read_text
from .pages import page
from .view import therapies

log = logging.getLogger("cds.review")
STATIC = Path(__file__).parent / "static"
ASSETS = {"review.css": "text/css", "review.js": "text/javascript"}
# Full record ids only: the trail also finds records by id prefix or number, which must not
# let anyone walk through other patients' assessments.
RECORD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SESSION_COOKIE = "review_session"


def router(
    *,
    evaluator: Evaluator,
    trail: AuditTrail,
    feedback: FeedbackStore,
    settings: Settings,
    base_url: Callable[[Request], str],
    fixtures_folder: Path | None = DEFAULT_FOLDER,
    tokens: ReviewTokens | None = None,
    bearer: Callable[[Request], Awaitable[bool]] | None = None,
) -> APIRouter:
    """tokens and bearer: with authentication configured, how review links and sessions are
    signed and how a request's bearer JWT is checked; None: no authentication (loopback)."""
    routes = APIRouter()
    known = fixtures(evaluator.knowledge, fixtures_folder)

    async def has_bearer(request: Request) -> bool:
        return bearer is not None and "authorization" in request.headers and await bearer(request)

    def session_for(request: Request, record_id: str) -> str | None:
        """The request's review session cookie when it is valid for this record."""
        value = request.cookies.get(SESSION_COOKIE)
        return value if tokens is not None and tokens.valid_session(record_id, value) else None

    def start_session(request: Request, record_id: str) -> Response:
        """Trade a valid link token for a session cookie, and drop the token from the URL."""
        assert tokens is not None
        response = RedirectResponse(f"{_root(request)}/review/{record_id}", status_code=303,
                                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        # Lax, not Strict: a Strict cookie set on the answer to a click in the EHR (another
        # site) is not sent on the redirect that follows. Lax cookies go only with top-level
        # GETs from other sites, and every POST also needs the CSRF token.
        response.set_cookie(SESSION_COOKIE, tokens.session(record_id), max_age=tokens.session_lifetime,
                            path=f"{_root(request)}/review/{record_id}", httponly=True, samesite="lax",
                            secure=(settings.public_base_url or "").startswith("https:"))
        return response

    def with_link(request: Request, record_id: str) -> str:
        location = f"{_root(request)}/review/{record_id}"
        return f"{location}?token={tokens.link(record_id)}" if tokens is not None else location

    def today() -> dt.date:
        return settings.as_of or dt.date.today()

    def form_page(request: Request, status: int = 200, form: dict[str, str] | None = None,
                  errors: dict[str, BadInput] | None = None) -> Response:
        values = {"fixture": "", "bundle": "", "as_of": today().isoformat(), **(form or {})}
        return page("review.html.j2", status, root=_root(request), form=values, errors=errors or {},
                    fixtures=list(known.values()), therapies=list(evaluator.knowledge.rulesets))

    @routes.get("/review", include_in_schema=False)
    async def review_form(request: Request) -> Response:
        if tokens is not None and not await has_bearer(request):
            return _unauthorized()
        return form_page(request)

    @routes.post("/review", include_in_schema=False)
    async def review_submit(request: Request) -> Response:
        refused = _cross_origin(request, base_url)
        if refused is not None:
            return refused
        # A bearer JWT only: a browser never sends one on its own, so no CSRF token is needed.
        if tokens is not None and not await has_bearer(request):
            return _unauthorized()
        form: dict[str, str] = {}
        try:
            if int(request.headers.get("content-length") or 0) > settings.max_body_bytes:
                raise BadInput("patient", f"The data is larger than {settings.max_body_bytes / 1_000_000:.2g} MB: "
                                          "give one patient's record.")
            async with request.form(max_files=1, max_fields=10, max_part_size=settings.max_body_bytes) as data:
                form = {k: v for k in ("fixture", "bundle", "as_of") if isinstance(v := data.get(k), str)}
                upload = data.get("upload")
                as_of = read_as_of(form.get("as_of", ""), today())
                text, source, field = await _chosen(form, upload if isinstance(upload, UploadFile) else None, known)
            fixture = known.get(form.get("fixture", ""))
            if fixture is not None and fixture.as_of is not None and not form.get("as_of", "").strip():
                as_of = fixture.as_of
            submitted = await anyio.to_thread.run_sync(read_text, text, source, field)
            record_id = await anyio.to_thread.run_sync(assess_and_record, evaluator, trail, submitted, as_of)
        except BadInput as problem:
            return form_page(request, 422, form, {problem.field: problem})
        except MultiPartException:
            return form_page(request, 422, form, {"patient": BadInput("patient", "The form could not be read: "
                                                                      "submit it again from this page.")})
        except Exception as exc:  # noqa: BLE001 - shown on the page, never an error page
            # The type only: messages can quote patient data.
            log.error("review assessment failed with %s", type(exc).__name__)
            return form_page(request, 500, form, {"patient": BadInput(
                "patient", "This record could not be assessed or stored. Nothing was recorded; "
                           "try again, and tell the service's administrators if it happens again.")})
        return RedirectResponse(with_link(request, record_id), status_code=303)

    @routes.get("/review/static/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            return page("missing.html.j2", 404, root="", heading="Not found", message="No such file.")
        return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    def load(assessment_id: str) -> AuditRecord | None:
        if not RECORD_ID.match(assessment_id):
            return None
        record = trail.get(assessment_id)
        return record if record is not None and record.id == assessment_id else None

    def record_page(request: Request, record: AuditRecord, status: int = 200, saved: str | None = None,
                    errors: dict[str, str] | None = None, csrf: str | None = None) -> Response:
        decided = {a["therapy"]: _decisions.decisions(feedback, record, a["therapy"])
                   for a in record.assessment.get("assessments", [])}
        result = record.patient_assessment()
        return page(
            "record.html.j2", status, root=_root(request), record_id=record.id, patient=record.patient,
            as_of=record.as_of.isoformat(), recorded=_when(record.time), source=_source(record),
            input_hash=record.input_hash, warnings=result.warnings,
            therapies=therapies(record, _root(request), decided, evaluator.knowledge), saved=saved, errors=errors or {},
            reasons=OVERRIDE_REASONS, comment_limit=_decisions.COMMENT_LIMIT, csrf=csrf,
        )

    def not_found(request: Request) -> Response:
        return page("missing.html.j2", 404, root=_root(request), heading="No such assessment",
                    message="No stored assessment has this id. Check the link, or review the patient again.")

    @routes.get("/review/{assessment_id}", include_in_schema=False)
    async def review_record(assessment_id: str, request: Request) -> Response:
        csrf = None
        if tokens is not None:
            # Before the record is looked up: without access, no hint whether it exists.
            if "token" in request.query_params:
                if tokens.valid_link(assessment_id, request.query_params["token"]):
                    return start_session(request, assessment_id)
                return _unauthorized()
            session = session_for(request, assessment_id)
            if session is not None:
                csrf = tokens.csrf(session)
            elif not await has_bearer(request):
                return _unauthorized()
        record = await anyio.to_thread.run_sync(load, assessment_id)
        if record is None:
            return not_found(request)
        saved = request.query_params.get("saved")
        return await anyio.to_thread.run_sync(lambda: record_page(request, record, saved=saved, csrf=csrf))

    @routes.post("/review/{assessment_id}/decision", include_in_schema=False)
    async def decide(assessment_id: str, request: Request) -> Response:
        refused = _cross_origin(request, base_url)
        if refused is not None:
            return refused
        # Who may post, before the body is read; the CSRF token in the body after.
        session = session_for(request, assessment_id) if tokens is not None else None
        if tokens is not None and session is None and not await has_bearer(request):
            return _unauthorized()
        try:
            async with request.form(max_files=0, max_fields=10, max_part_size=64_000) as data:
                values = {k: v.strip() for k in ("therapy", "outcome", "reason", "comment", "csrf")
                          if isinstance(v := data.get(k), str)}
        except MultiPartException:
            values = {}
        csrf = None
        if tokens is not None and session is not None:
            # The cookie goes with any request the browser makes; the token only with our form.
            if not tokens.valid_csrf(session, values.get("csrf")):
                return _unauthorized()
            csrf = tokens.csrf(session)
        record = await anyio.to_thread.run_sync(load, assessment_id)
        if record is None:
            return not_found(request)
        therapy = values.get("therapy", "")
        if therapy not in {a["therapy"] for a in record.assessment.get("assessments", [])} \
                or values.get("outcome") not in ("accepted", "overridden"):
            return page("missing.html.j2", 400, root=_root(request), heading="Decision not recorded",
                        message="The form did not name an assessment of this record. Go back and try again.")
        reason = values.get("reason") or None
        if values["outcome"] == "overridden" and reason not in _decisions.REASONS:
            message = "Choose the reason for overriding this assessment."
            return await anyio.to_thread.run_sync(
                lambda: record_page(request, record, 422, errors={therapy: message}, csrf=csrf))
        comment = (values.get("comment") or "")[:_decisions.COMMENT_LIMIT] or None
        await anyio.to_thread.run_sync(_decisions.record_decision, feedback, record, therapy, values["outcome"],
                                       reason if values["outcome"] == "overridden" else None, comment)
        return RedirectResponse(f"{_root(request)}/review/{record.id}?saved={therapy}#decision-{therapy}",
                                status_code=303)

    return routes


async def _chosen(form: dict[str, str], upload: UploadFile | None,
                  known: dict[str, Fixture]) -> tuple[str, str, Field]:
    """The text to assess, a name for it, and the control it came from."""
    given = []
    if form.get("fixture"):
        given.append("a fixture patient")
    if upload is not None and upload.filename:
        given.append("a file")
    if form.get("bundle", "").strip():
        given.append("pasted text")
    if not given:
        raise BadInput("patient", "No patient record given: pick a fixture patient, paste FHIR JSON or upload a file.")
    if len(given) > 1:
        raise BadInput("patient", f"Give the record one way only: you gave {' and '.join(given)}.")
    if form.get("fixture"):
        fixture = known.get(form["fixture"])
        if fixture is None:
            raise BadInput("fixture", "No such fixture patient: choose one from the list.")
        text = await anyio.to_thread.run_sync(fixture.text)
        return text, f"fixture {fixture.name}", "fixture"
    if upload is not None and upload.filename:
        raw = await upload.read()
        try:
            return raw.decode("utf-8-sig"), f"file {upload.filename}", "upload"
        except UnicodeDecodeError:
            raise BadInput("upload", f"{upload.filename} is not a text file: upload FHIR JSON or NDJSON.") from None
    return form["bundle"], "pasted text", "bundle"


def _cross_origin(request: Request, base_url: Callable[[Request], str]) -> Response | None:
    """Forms from another site must not record assessments or decisions in a clinician's name."""
    origin = request.headers.get("origin")
    if origin is None:
        return None
    own = {_origin(base_url(request)), f"{request.url.scheme}://{request.url.netloc}"}
    if origin in own:
        return None
    log.info("cross-origin form refused (origin %s)", origin)
    return page("missing.html.j2", 403, root=_root(request), heading="Refused",
                message="This form was sent from another site.")


def _unauthorized() -> Response:
    # No detail: which check failed helps an attacker, not a clinician.
    return Response("unauthorized", status_code=401, media_type="text/plain",
                    headers={"Cache-Control": "no-store"})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _when(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _source(record: AuditRecord) -> str:
    source = record.source
    if source.kind == "hook":
        return f"CDS Hooks {source.hook} call {source.hook_instance}"
    if source.kind == "batch":
        return f"batch audit {source.run}"
    if source.kind == "cli":
        return "the command line"
    return "the review page"
