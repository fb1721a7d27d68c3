"""Read a JSON request body without ever holding more than the configured limit."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.requests import Request

from ..fhir import Problem
from .errors import HookError

JSON_TYPES = frozenset({"application/json", "application/fhir+json"})
# Every JSON string, and whether a colon follows it (an object key). Outside strings JSON has
# no quote, so scanning string after string never falls out of step.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?', re.DOTALL)
_SPACE_BEFORE_COLON = re.compile(rb'"\s+:')
# A quote written as a unicode escape: orjson writes it back as \", so counts would differ.
_QUOTE_ESCAPE = re.compile(rb"\\u0022", re.IGNORECASE)
_KEY_SHOWN = 64


async def read_json(request: Request, limit: int) -> Any:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise HookError(415, "the request body must be JSON (Content-Type application/json or application/fhir+json)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HookError(413, f"request body over {limit} bytes")
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HookError(413, f"request body over {limit} bytes")
        chunks.append(chunk)
    return parse(b"".join(chunks))


def parse(raw: bytes) -> Any:
    """The JSON value; HookError 400 if it is not JSON or an object repeats a key (FHIR JSON
    forbids it, and parsers disagree on which value wins)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Not the parser's message: it quotes the input.
        raise HookError(400, "request body is not valid JSON") from None
    if _repeats_key(raw, value):
        # Rare: only now pay for the slow parse that sees every key.
        found = _first_duplicate(json.loads(raw, object_pairs_hook=_Pairs))
        if found is not None:
            where, key = (_capped(part) for part in found)
            raise HookError(400, [Problem(source="request", element=where or None,
                                          message=f"duplicate JSON key {key!r}")])
    return value


def _repeats_key(raw: bytes, value: Any) -> bool:
    """Whether the text holds more object keys than the parsed value: orjson keeps only the
    last of repeated keys."""
    # Fast and usual: orjson's compact output writes every key as `"...":` and every quote in a
    # string as `\"`, as the input does unless it escapes a quote as \u0022 or puts a space before
    # a colon. Then the input has as many `":` as the value written back, unless a key was dropped.
    if _SPACE_BEFORE_COLON.search(raw) is None and _QUOTE_ESCAPE.search(raw) is None:
        try:
            return raw.count(b'":') != orjson.dumps(value).count(b'":')
        except orjson.JSONEncodeError:
            pass
    # Pretty-printed, or a string holding '":': scan the strings one by one (slower, exact).
    return sum(1 for found in _STRING.findall(raw) if found) != _count_keys(value)


def _capped(text: str, limit: int = _KEY_SHOWN) -> str:
    # Keys are element names, not patient data; still, never echo much of the input.
    return text if len(text) <= limit else text[:limit] + "…"


def _count_keys(value: Any) -> int:
    stack, count = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key-value pairs, repeats kept."""


def _first_duplicate(value: Any, path: str = "") -> tuple[str, str] | None:
    """(where, key) of the first repeated key, depth first."""
    children: list[tuple[str, Any]] = []
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, item in value:
            if key in seen:
                return path, key
            seen.add(key)
            children.append((f"{path}.{key}" if path else key, item))
    elif isinstance(value, list):
        children = [(f"{path}[{n}]", item) for n, item in enumerate(value)]
    for where, item in children:
        found = _first_duplicate(item, where)
        if found is not None:
            return found
    return None
