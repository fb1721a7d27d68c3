"""Prefetch: take what the client sent, fetch what it left out from its FHIR server.

An omitted key, or one the client filled with an OperationOutcome (its own fetch failed),
is read from fhirServer with the fhirAuthorization token, following search pages, all within
one deadline. When that cannot be done the call answers 412, as the specification says.
A key given as null means the client has no data for it.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx
import orjson

from .errors import HookError
from .requests import ParsedCall
from ..web.settings import is_loopback

log = logging.getLogger(__name__)
_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z0-9_]+)\s*\}\}")
# A server that keeps handing out next links must not keep us forever.
MAX_PAGES = 50


async def resolve(call: ParsedCall, templates: dict[str, str], timeout: float) -> dict[str, Any]:
    """Every template key with its data: a resource, a Bundle, or None for no data."""
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
        resolved.update(await _fetch_all(call, {k: templates[k] for k in missing}, timeout))
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


async def _fetch_all(call: ParsedCall, templates: dict[str, str], timeout: float) -> dict[str, Any]:
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
            results[key] = await _fetch(client, base, queries[key])
        except _FetchError as exc:
            failed[key] = str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure to read means 412, never 500
            failed[key] = type(exc).__name__

    try:
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=False) as client:
                async with anyio.create_task_group() as group:
                    for key in queries:
                        group.start_soon(one, client, key)
    except TimeoutError:
        raise HookError(412, f"prefetch {keys} not given, and fhirServer did not answer within {timeout:g} s") from None
    if failed:
        # Keys and reasons only: URLs carry the patient id.
        log.warning("prefetch fetch failed for %s", ", ".join(f"{k} ({v})" for k, v in failed.items()))
        raise HookError(412, "could not read from fhirServer: " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    return results


class _FetchError(Exception):
    pass


async def _fetch(client: httpx.AsyncClient, base: str, query: str) -> Any:
    """A read's resource, or a search's Bundle with the entries of every page."""
    document = await _get(client, f"{base}/{query}")
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        return document
    entries = list(document.get("entry") or [])
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
        document = await _get(client, next_url)
        if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
            raise _FetchError("next page is not a Bundle")
        entries.extend(document.get("entry") or [])
    raise _FetchError(f"more than {MAX_PAGES} pages")


async def _get(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url)
    if response.status_code != 200:
        raise _FetchError(f"status {response.status_code}")
    return orjson.loads(response.content)


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
