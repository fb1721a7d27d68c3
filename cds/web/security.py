"""Trusting CDS clients: verify the JWT each call carries (CDS Hooks 2.0, "Trusting CDS Clients").

Accepted: ES384 or RS384 signed by a key of an allowed issuer (its JWKS from a URL or a file),
`aud` equal to the URL called, `exp`/`iat` in range, a `jti` never seen before. Everything
else is refused the same way, so a caller learns nothing about which check failed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import jwt
from starlette.requests import Request

from .feedback import connect
from .settings import AuthSettings, TrustedIssuer

log = logging.getLogger(__name__)
# The specification recommends these two; `none` and symmetric (HMAC) algorithms are never
# accepted because they give no proof of who signed.
ALGORITHMS = ("ES384", "RS384")
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
# Seconds a card's review link stays valid: long enough to click it from the EHR, short enough
# that a link copied out of a log or history is soon useless.
LINK_LIFETIME = 15 * 60
# Seconds a review session (from one link) lasts: reading the assessment and deciding on it.
SESSION_LIFETIME = 60 * 60


# The one client there is without authentication: whoever reaches the (loopback) port.
ANONYMOUS_CLIENT = "anonymous"


def client_of(request: Request) -> str:
    """Who called, as authentication found (the JWT's issuer, or ANONYMOUS_CLIENT): the tenant
    whose DTR answers a call may store and read. Set only once a call is authenticated, so a
    handler that forgot to authenticate fails instead of reading another client's data."""
    return str(request.state.client)


class AuthError(Exception):
    """Why a token was refused: for our logs, never for the caller."""


class ReplayCache:
    """jti values seen, until their token expires; in SQLite so every worker shares them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with closing(connect(path)) as db:
            db.execute("CREATE TABLE IF NOT EXISTS jwt_seen (issuer TEXT NOT NULL, jti TEXT NOT NULL, "
                       "expires REAL NOT NULL, PRIMARY KEY (issuer, jti))")

    def first_use(self, issuer: str, jti: str, expires: float) -> bool:
        with closing(connect(self.path)) as db:
            db.execute("DELETE FROM jwt_seen WHERE expires < ?", (time.time(),))
            try:
                db.execute("INSERT INTO jwt_seen VALUES (?, ?, ?)", (issuer, jti, expires))
            except sqlite3.IntegrityError:
                return False
        return True


class _Keys:
    """One issuer's public keys."""

    def __init__(self, issuer: TrustedIssuer) -> None:
        self.url = issuer.jwks_url
        self._client = jwt.PyJWKClient(issuer.jwks_url, cache_jwk_set=True, lifespan=300, timeout=2) \
            if issuer.jwks_url else None
        self._set = jwt.PyJWKSet.from_dict(json.loads(Path(issuer.jwks_file).read_text())) \
            if issuer.jwks_file else None

    def find(self, kid: str | None, algorithm: str) -> Any:
        keys = self._client.get_jwk_set().keys if self._client is not None else self._set.keys  # type: ignore[union-attr]
        family = "EC" if algorithm.startswith("ES") else "RSA"
        matching = [k for k in keys if k.key_type == family and (kid is None or k.key_id == kid)]
        if not matching and kid is not None and self._client is not None:
            # A key rotated since we cached the set: look once more.
            matching = [k for k in self._client.get_jwk_set(refresh=True).keys
                        if k.key_type == family and k.key_id == kid]
        if len(matching) != 1:
            raise AuthError("no single key matches kid and algorithm")
        return matching[0].key


class Verifier:
    def __init__(self, settings: AuthSettings, replay: ReplayCache) -> None:
        self.leeway = settings.leeway
        self.issuers = {iss: _Keys(cfg) for iss, cfg in settings.issuers.items()}
        self.replay = replay

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The token's claims; AuthError for any token we do not accept."""
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError("no bearer token")
        token = authorization[len("Bearer "):].strip()
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if algorithm not in ALGORITHMS:
                raise AuthError(f"algorithm {algorithm!r} not accepted")
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            keys = self.issuers.get(issuer) if isinstance(issuer, str) else None
            if keys is None:
                raise AuthError("issuer not trusted")
            if "jku" in header and header["jku"] != keys.url:
                # A jku lets the token name its own keys; only the issuer's known set counts.
                raise AuthError("jku is not the issuer's JWKS URL")
            key = keys.find(header.get("kid"), algorithm)
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=audience, issuer=issuer,
                                leeway=self.leeway, options={"require": REQUIRED_CLAIMS})
        except AuthError:
            raise
        except (jwt.PyJWTError, ValueError, TypeError, OSError) as exc:
            raise AuthError(type(exc).__name__) from None
        if not isinstance(claims["jti"], str) or not claims["jti"]:
            raise AuthError("jti is not a string")
        if not self.replay.first_use(issuer, claims["jti"], float(claims["exp"]) + self.leeway):
            raise AuthError("jti replayed")
        return claims


class ReviewTokens:
    """Short-lived HMAC-SHA256 tokens for the review pages, each bound to one record id.

    A card link carries a link token; the page trades it for a session cookie for that record,
    and its forms carry a CSRF token bound to that session. The purpose is part of what is
    signed, so no kind of token can stand in for another.
    """

    def __init__(self, secret: str, link_lifetime: int = LINK_LIFETIME,
                 session_lifetime: int = SESSION_LIFETIME) -> None:
        self._key = secret.encode()
        self.link_lifetime = link_lifetime
        self.session_lifetime = session_lifetime

    def _sign(self, purpose: str, record_id: str, expires: int) -> str:
        message = f"{purpose}\n{record_id}\n{expires}".encode()
        return f"{expires}.{hmac.new(self._key, message, hashlib.sha256).hexdigest()}"

    def _valid(self, purpose: str, record_id: str, token: str | None) -> bool:
        if not token or len(token) > 100:
            return False
        expires, _, _ = token.partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(token, self._sign(purpose, record_id, int(expires)))

    def link(self, record_id: str) -> str:
        return self._sign("link", record_id, int(time.time()) + self.link_lifetime)

    def valid_link(self, record_id: str, token: str | None) -> bool:
        return self._valid("link", record_id, token)

    def session(self, record_id: str) -> str:
        return self._sign("session", record_id, int(time.time()) + self.session_lifetime)

    def valid_session(self, record_id: str, session: str | None) -> bool:
        return self._valid("session", record_id, session)

    def csrf(self, session: str) -> str:
        return hmac.new(self._key, f"csrf\n{session}".encode(), hashlib.sha256).hexdigest()

    def valid_csrf(self, session: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf(session))
