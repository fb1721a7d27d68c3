"""Who may call, as FastAPI dependencies: every endpoint that needs an authenticated caller
(and most then read a JSON body) declares it instead of repeating the check.

With client authentication configured the call's JWT is verified (security.py) and its issuer
becomes the request's client; without it every call is the anonymous client (loopback only,
settings.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.requests import Request

from .body import read_json
from .errors import Unauthorized
from .security import ANONYMOUS_CLIENT, AuthError, Verifier
from .settings import Settings

log = logging.getLogger("cds.hooks")


class Gate:
    """A FastAPI dependency that refuses (401) a call without an accepted JWT."""

    def __init__(self, settings: Settings, verifier: Verifier | None) -> None:
        self.settings = settings
        self.verifier = verifier

    @property
    def open(self) -> bool:
        """No authentication configured: every call is let in."""
        return self.verifier is None

    async def admits(self, request: Request) -> bool:
        """Whether the call carries an accepted JWT (or none is needed); sets its client."""
        if self.verifier is None:
            request.state.client = ANONYMOUS_CLIENT
            return True
        assert self.settings.public_base_url is not None
        # The audience is the URL called, built from the configured base URL, never from headers.
        audience = self.settings.public_base_url.rstrip("/") + request.url.path[len(request.scope.get("root_path", "")):]
        try:
            claims = await anyio.to_thread.run_sync(self.verifier.verify, request.headers.get("authorization"),
                                                    audience)
        except AuthError as exc:
            log.info("JWT refused: %s", exc)
            return False
        # The tenant of DTR answers (cds/davinci/store.py): each issuer reads only its own.
        request.state.client = claims["iss"]
        return True

    async def __call__(self, request: Request) -> None:
        if not await self.admits(request):
            raise Unauthorized()

    def json(self, limit: int) -> Callable[[Request], Awaitable[Any]]:
        """A dependency giving an authenticated call's JSON body (at most `limit` bytes): the
        body is not read before the caller is known."""
        async def body(request: Request) -> Any:
            await self(request)
            return await read_json(request, limit)
        return body
