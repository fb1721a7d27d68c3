"""Read a JSON request body without ever holding more than the configured limit."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from .errors import HookError


async def read_json(request: Request, limit: int) -> Any:
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
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        # Not the parser's message: it quotes the input.
        raise HookError(400, "request body is not valid JSON") from None
