"""Trusting CDS clients: verify the JWT each call carries (CDS Hooks 2.0, "Trusting CDS Clients").

Accepted: ES384 or RS384 signed by a key of an allowed issuer (its JWKS from a URL or a file),
`aud` equal to the URL called, numeric `exp`/`iat` in range and at most five minutes apart (plus
the clock skew), a `jti` never seen before. Everything else is refused the same way, so a
caller learns nothing about which check failed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import sqlite3
import threading
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
# The longest token lifetime accepted (exp - iat, and exp - now), before the clock skew: CDS Hooks
# 2.0 "Trusting CDS Clients" has the client set exp no more than five minutes after iat; a
# token valid for longer is a replay waiting to happen.
MAX_TOKEN_LIFETIME = 5 * 60
# Seconds between two fetches of an issuer's JWKS for a kid not in the cached set: a key rotated
# in is found within this time, and bogus kids cost the issuer's server one fetch at most.
JWKS_REFETCH_INTERVAL = 60
# Seconds a fetched JWKS is used before it is fetched again.
JWKS_LIFESPAN = 300
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
    """One issuer's public keys: its JWKS file read at start-up, or its JWKS URL fetched and
    cached (refetched when the cache expires, or for an unknown kid at most once per
    JWKS_REFETCH_INTERVAL)."""

    def __init__(self, issuer: TrustedIssuer) -> None:
        self.url = issuer.jwks_url
        self._client = jwt.PyJWKClient(issuer.jwks_url, cache_jwk_set=True, lifespan=JWKS_LIFESPAN, timeout=2) \
            if issuer.jwks_url else None
        self._set = read_jwks_file(issuer.jwks_file) if issuer.jwks_file else None
        self._lock = threading.Lock()
        self._refetched = -math.inf

    def find(self, kid: str | None, algorithm: str) -> Any:
        family = "EC" if algorithm.startswith("ES") else "RSA"
        matching = self._matching(self._keys(refresh=False), kid, family)
        if not matching and kid is not None and self._client is not None and self._may_refetch():
            # A key rotated in since we cached the set: look once more.
            matching = self._matching(self._keys(refresh=True), kid, family)
        if len(matching) != 1:
            raise AuthError("no single key matches kid and algorithm")
        return matching[0].key

    def _keys(self, refresh: bool) -> list[Any]:
        if self._client is None:
            assert self._set is not None
            return list(self._set.keys)
        return list(self._client.get_jwk_set(refresh=refresh).keys)

    @staticmethod
    def _matching(keys: list[Any], kid: str | None, family: str) -> list[Any]:
        return [k for k in keys if k.key_type == family and (kid is None or k.key_id == kid)]

    def _may_refetch(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._refetched < JWKS_REFETCH_INTERVAL:
                return False
            self._refetched = now
            return True


class JwksFileError(Exception):
    """A jwks_file that cannot be used; the message names it and says what to do."""


def read_jwks_file(path: Path) -> jwt.PyJWKSet:
    try:
        return jwt.PyJWKSet.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise JwksFileError(f"jwks_file {path}: cannot be read ({reason}); give the path of the "
                            "issuer's JWKS (JSON)") from None
    except (ValueError, jwt.PyJWTError):
        # ValueError includes json.JSONDecodeError, whose message would quote the file.
        raise JwksFileError(f"jwks_file {path}: not a JSON Web Key Set with a usable key; give the "
                            "issuer's JWKS as JSON: {\"keys\": [...]}") from None


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
        self._check_lifetime(claims)
        if not self.replay.first_use(issuer, claims["jti"], float(claims["exp"]) + self.leeway):
            raise AuthError("jti replayed")
        return claims

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """exp and iat are numbers (PyJWT takes "9999999999" as one) and the token lives at most
        MAX_TOKEN_LIFETIME (plus the skew) from when it was issued and from now."""
        exp, iat = claims["exp"], claims["iat"]
        if not all(_numeric(v) for v in (exp, iat)):
            raise AuthError("exp or iat is not a number")
        longest = MAX_TOKEN_LIFETIME + self.leeway
        if exp - iat > longest or exp - time.time() > longest:
            raise AuthError("token lifetime over five minutes")


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
