"""Read a JSON request body without ever holding more than the configured limit."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson
from starlette.requests import Request

from ..fhir import Problem
from .errors import HookError

JSON_TYPES = frozenset({"application/json", "application/fhir+json"})
# A surrogate written as an escape (\uD800-\uDFFF); a backslash before it may be escaped itself,
# which only costs a second, strict parse.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1
# JSON nesting accepted: FHIR needs a few dozen levels (a Bundle entry's QuestionnaireResponse
# with items nested ten deep is about 45).
MAX_DEPTH = 100
_ORJSON_DEPTH = 254
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
    forbids it, and parsers disagree on which value wins).

    Repeats are seen while parsing: every object is built from its key-value pairs by
    `_unique`, which refuses a repeated key, whatever escapes spell it. The standard library's
    parser is held to what orjson (used everywhere else) accepts: UTF-8 only, no NaN or
    Infinity, no number too large for a double, no unpaired surrogate.
    """
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique, parse_constant=_refuse,
                           parse_float=_finite, parse_int=_integer)
        if _SURROGATE_ESCAPE.search(raw) is not None:
            # Rare: an escaped surrogate, paired or not; orjson refuses an unpaired one.
            orjson.loads(raw)
        _check_depth(value)
    except _Repeated:
        # Rare: only now pay for the slow parse that says where the repeat is (the text after
        # the repeat may still be invalid: the first parse stopped there).
        try:
            found = _first_duplicate(json.loads(raw, object_pairs_hook=_Pairs))
        except (ValueError, RecursionError):
            raise HookError(400, "request body is not valid JSON") from None
        where, key = (_capped(part) for part in found or ("", ""))
        raise HookError(400, [Problem(source="request", element=where or None,
                                      message=f"duplicate JSON key {key!r}")]) from None
    except (orjson.JSONEncodeError, RecursionError):
        raise HookError(400, f"request body nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        # Not the parser's message: it quotes the input. (UnicodeDecodeError and
        # orjson.JSONDecodeError are ValueErrors.)
        raise HookError(400, "request body is not valid JSON") from None
    return value


def _check_depth(value: Any) -> None:
    """orjson.JSONEncodeError when the value nests deeper than MAX_DEPTH.

    orjson refuses to write past 254 levels (so such a value could not be hashed into the audit
    trail), and the FHIR models exhaust the stack well before that (a 126-deep extension). The
    value is written inside 254 - MAX_DEPTH lists, so orjson's own bound (in C, one pass, no
    copy kept) becomes ours.
    """
    wrapped = value
    for _ in range(_ORJSON_DEPTH - MAX_DEPTH):
        wrapped = [wrapped]
    orjson.dumps(wrapped)


class _Repeated(Exception):
    """An object repeats a key."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _Repeated
    return value


def _refuse(constant: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _integer(text: str) -> int | float:
    # Beyond 64 bits orjson gives a float (and cannot write such an int back out).
    number = int(text)
    return number if _INT_MIN <= number <= _UINT_MAX else _finite(text)


def _capped(text: str, limit: int = _KEY_SHOWN) -> str:
    # Keys are element names, not patient data; still, never echo much of the input.
    return text if len(text) <= limit else text[:limit] + "…"


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
