"""Prefetch: take what the client sent, fetch what it left out from its FHIR server.

An omitted key, or one the client filled with an OperationOutcome (its own fetch failed),
is read from fhirServer with the fhirAuthorization token, following search pages, all within
one deadline. When that cannot be done the call answers 412, as the specification says.
A key given as null means the client has no data for it.

What is fetched is bounded as a request body is: all the responses of one call together at most
the body cap (each read as a stream, stopped at the cap), and at most the resources cap. Every
failure to read gives the same 412 text, after the same deadline: what failed (a closed port, a
status, a cap) goes to the server log only, so that a caller cannot probe ports through us.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx
import orjson

from ..fhir.limits import limits
from ..service.errors import HookError
from ..service.settings import is_loopback
from .requests import ParsedCall

log = logging.getLogger(__name__)
_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z0-9_]+)\s*\}\}")
# A server that keeps handing out next links must not keep us forever.
MAX_PAGES = 50


async def resolve(call: ParsedCall, templates: dict[str, str], timeout: float, max_bytes: int) -> dict[str, Any]:
    """Every template key with its data: a resource, a Bundle, or None for no data; max_bytes:
    the most read from fhirServer for this call."""
    given = call.request.prefetch or {}
    resolved: dict[str, Any] = {}
    missing: list[str] = []
    for key in templates:
        value = given.get(key, ...)
        if value is ... or _is_outcome(value):
            missing.append(key)
        else:
            resolved[key] = value
    if missing:
        resolved.update(await _fetch_all(call, {k: templates[k] for k in missing}, timeout, _Budget(max_bytes)))
    return resolved


def render(template: str, context: dict[str, Any]) -> str:
    """A template with its {{context.x}} tokens filled in, URL-escaped."""
    def value(match: re.Match[str]) -> str:
        field = context.get(match.group(1))
        if not isinstance(field, (str, int, float)) or isinstance(field, bool):
            # Only root-level primitive context fields may be tokens (spec: prefetch tokens).
            raise HookError(400, f"prefetch token {match.group(0)} has no primitive value in the context")
        return quote(str(field), safe="")
    return _TOKEN.sub(value, template)


async def _fetch_all(call: ParsedCall, templates: dict[str, str], timeout: float, budget: _Budget) -> dict[str, Any]:
    request = call.request
    keys = ", ".join(templates)
    if request.fhirServer is None or request.fhirAuthorization is None:
        raise HookError(412, f"prefetch {keys} not given, and no fhirServer with fhirAuthorization to read it from")
    base = request.fhirServer.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname or "")):
        # The bearer token must not cross the network in clear text.
        raise HookError(412, f"prefetch {keys} not given, and fhirServer is not an https URL")
    queries = {key: render(t, request.context) for key, t in templates.items()}
    headers = {"Authorization": f"Bearer {request.fhirAuthorization.access_token.get_secret_value()}",
               "Accept": "application/fhir+json"}
    results: dict[str, Any] = {}
    failed: dict[str, str] = {}

    async def one(client: httpx.AsyncClient, key: str) -> None:
        try:
            results[key] = await _fetch(client, base, queries[key], budget)
        except _FetchError as exc:
            failed[key] = str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure to read means 412, never 500
            failed[key] = type(exc).__name__

    deadline = anyio.current_time() + timeout
    try:
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=False) as client:
                async with anyio.create_task_group() as group:
                    for key in queries:
                        group.start_soon(one, client, key)
    except TimeoutError:
        failed.update({key: f"no answer within {timeout:g} s" for key in queries
                       if key not in results and key not in failed})
    if failed:
        # Keys and reasons only: URLs carry the patient id.
        log.warning("prefetch fetch failed for %s", ", ".join(f"{k} ({v})" for k, v in failed.items()))
        # A refused connection fails at once, a server that answers later: every failure waits
        # out the deadline, so that neither the text nor the time tells them apart.
        await anyio.sleep(max(0.0, deadline - anyio.current_time()))
        raise HookError(412, f"prefetch {keys} not given, and it could not be read from fhirServer")
    return results


class _Budget:
    """What one call may still read from fhirServer: bytes, and resources."""

    def __init__(self, max_bytes: int) -> None:
        self.bytes = max_bytes
        self.resources = limits().max_resources

    def take_bytes(self, count: int) -> None:
        self.bytes -= count
        if self.bytes < 0:
            raise _FetchError("over the byte cap (max body bytes, --max-body-bytes)")

    def take_resources(self, count: int) -> None:
        self.resources -= count
        if self.resources < 0:
            raise _FetchError("over the resources cap (max resources per patient, $CDS_MAX_RESOURCES)")


class _FetchError(Exception):
    pass


async def _fetch(client: httpx.AsyncClient, base: str, query: str, budget: _Budget) -> Any:
    """A read's resource, or a search's Bundle with the entries of every page."""
    document = await _get(client, f"{base}/{query}", budget)
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise _FetchError("not a FHIR resource")
    if document["resourceType"] != "Bundle":
        return document
    entries = _entries(document, budget)
    seen = {f"{base}/{query}"}
    for _ in range(MAX_PAGES):
        next_url = _next_link(document)
        if next_url is None:
            # One Bundle of every page's entries, as if the server had answered in one page.
            return {"resourceType": "Bundle", "type": "searchset", "entry": entries}
        if not _same_origin(next_url, base):
            # The token is for fhirServer; sending it elsewhere would leak it.
            raise _FetchError("next page is on another server")
        if next_url in seen:
            raise _FetchError("next page link loops")
        seen.add(next_url)
        document = await _get(client, next_url, budget)
        if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
            raise _FetchError("next page is not a Bundle")
        entries.extend(_entries(document, budget))
    raise _FetchError(f"more than {MAX_PAGES} pages")


def _entries(bundle: dict[str, Any], budget: _Budget) -> list[Any]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise _FetchError("Bundle.entry is not a list")
    budget.take_resources(len(entries))
    return entries


async def _get(client: httpx.AsyncClient, url: str, budget: _Budget) -> Any:
    """The JSON at url, read as a stream and given up as soon as it is over the byte budget."""
    async with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise _FetchError(f"status {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > budget.bytes:
            budget.take_bytes(int(declared))
        chunks: list[bytes] = []
        async for chunk in response.aiter_bytes():
            budget.take_bytes(len(chunk))
            chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise _FetchError("not JSON") from None


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def _is_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"
