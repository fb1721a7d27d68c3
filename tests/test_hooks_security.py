"""JWTs from CDS clients: the valid one is accepted, every other answers 401 without detail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

from cds.web import AuthSettings, Settings, TrustedIssuer
from cds.service.settings import is_loopback

from .cli_support import run_cds
from .hooks_support.checks import CheckedClient, make_client
from .hooks_support.fhir_stub import FhirStub, fhir_stub
from .hooks_support.patients import hook_request, pain_patient
from .hooks_support.tokens import ISSUER, REVIEW_SECRET, ClientKeys

PATH = "/cds-services/home-infusion-patient-view"
AUDIENCE = "http://testserver" + PATH


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


@pytest.fixture()
def client(tmp_path: Path, keys: ClientKeys) -> Iterator[CheckedClient]:
    auth = AuthSettings(issuers={ISSUER: TrustedIssuer(jwks_file=keys.write_jwks(tmp_path))},
                        review_secret=REVIEW_SECRET)
    with make_client(tmp_path, auth=auth) as test_client:
        yield test_client


def _call(client: CheckedClient, token: str | None, path: str = PATH) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = client.post(path, json=hook_request("patient-view", "p1", pain_patient("p1")), headers=headers)
    if response.status_code == 401:
        # No detail: the same body whatever failed.
        assert response.json()["issue"][0]["diagnostics"] == "request: authentication required"
        assert response.headers["www-authenticate"].startswith("Bearer")
    return response.status_code


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_a_valid_token_is_accepted(client: CheckedClient, keys: ClientKeys, alg: str) -> None:
    assert _call(client, keys.token(AUDIENCE, alg=alg)) == 200


def test_discovery_needs_no_token(client: CheckedClient) -> None:
    assert client.get("/cds-services").status_code == 200


def test_no_token(client: CheckedClient) -> None:
    assert _call(client, None) == 401


def test_expired(client: CheckedClient, keys: ClientKeys) -> None:
    assert _call(client, keys.token(AUDIENCE, lifetime=-120)) == 401


def test_issued_in_the_future(client: CheckedClient, keys: ClientKeys) -> None:
    assert _call(client, keys.token(AUDIENCE, iat=int(time.time()) + 3600, lifetime=7200)) == 401


def test_wrong_audience(client: CheckedClient, keys: ClientKeys) -> None:
    assert _call(client, keys.token("http://testserver/cds-services/home-infusion-order-sign")) == 401


def test_wrong_issuer(client: CheckedClient, keys: ClientKeys) -> None:
    assert _call(client, keys.token(AUDIENCE, issuer="https://evil.example")) == 401


def test_unknown_key(client: CheckedClient) -> None:
    stranger = ClientKeys()  # same issuer and kid, another private key
    assert _call(client, stranger.token(AUDIENCE)) == 401
    assert _call(client, stranger.token(AUDIENCE, kid="ec-unknown")) == 401


def _unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return part(header) + "." + part(claims)


def _claims(jti: str) -> dict[str, object]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, "jti": jti}


def test_alg_none(client: CheckedClient) -> None:
    assert _call(client, _unsigned({"alg": "none", "typ": "JWT"}, _claims("none-1")) + ".") == 401


def test_hmac_signed_with_the_public_key(client: CheckedClient, keys: ClientKeys) -> None:
    # The classic confusion attack: HS384 keyed with the (public) RSA key's PEM.
    secret = keys.rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = _unsigned({"alg": "HS384", "typ": "JWT", "kid": "rsa-1"}, _claims("hs-1"))
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha384).digest()
    token = signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    assert _call(client, token) == 401


def test_replayed_jti(client: CheckedClient, keys: ClientKeys) -> None:
    token = keys.token(AUDIENCE)
    assert _call(client, token) == 200
    assert _call(client, token) == 401


def test_missing_jti(client: CheckedClient, keys: ClientKeys) -> None:
    now = int(time.time())
    token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}, keys.ec,
                       algorithm="ES384", headers={"kid": "ec-1"})
    assert _call(client, token) == 401


def test_a_foreign_jku_is_not_followed(client: CheckedClient, keys: ClientKeys) -> None:
    token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "iat": int(time.time()), "exp": int(time.time()) + 300,
                        "jti": "jku-1"}, keys.ec, algorithm="ES384",
                       headers={"kid": "ec-1", "jku": "https://evil.example/jwks.json"})
    assert _call(client, token) == 401


def test_feedback_needs_a_token_for_its_own_url(client: CheckedClient, keys: ClientKeys) -> None:
    body = {"feedback": [{"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "overridden",
                          "outcomeTimestamp": "2026-11-22T10:00:00Z"}]}
    path = PATH + "/feedback"
    assert client.post(path, json=body).status_code == 401
    assert client.post(path, json=body, headers={"Authorization": f"Bearer {keys.token(AUDIENCE)}"}).status_code == 401
    token = keys.token("http://testserver" + path)
    assert client.post(path, json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 200


@contextmanager
def _jwks_url_client(tmp_path: Path, keys: ClientKeys) -> Iterator[tuple[CheckedClient, FhirStub]]:
    """A client of an app that fetches the issuer's keys from a JWKS URL (a stub server)."""
    with fhir_stub() as stub:
        stub.add("/jwks.json", keys.jwks())
        auth = AuthSettings(issuers={ISSUER: TrustedIssuer(jwks_url=f"{stub.base}/jwks.json")},
                            review_secret=REVIEW_SECRET)
        with make_client(tmp_path, auth=auth) as client:
            yield client, stub


def test_keys_from_a_jwks_url(tmp_path: Path, keys: ClientKeys) -> None:
    with _jwks_url_client(tmp_path, keys) as (client, _):
        assert _call(client, keys.token(AUDIENCE, alg="RS384")) == 200
        assert _call(client, ClientKeys().token(AUDIENCE)) == 401


def test_the_audience_is_the_public_url_behind_a_proxy(tmp_path: Path, keys: ClientKeys) -> None:
    auth = AuthSettings(issuers={ISSUER: TrustedIssuer(jwks_file=keys.write_jwks(tmp_path))},
                        review_secret=REVIEW_SECRET)
    with make_client(tmp_path, auth=auth, public_base_url="https://cds.example.org/hooks") as client:
        assert _call(client, keys.token(AUDIENCE)) == 401
        assert _call(client, keys.token("https://cds.example.org/hooks" + PATH)) == 200


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                                ("127.3.0.1", True), ("0.0.0.0", False), ("10.0.0.5", False),
                                                ("example.org", False)])
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_auth_needs_a_public_base_url_and_a_review_secret(tmp_path: Path, keys: ClientKeys) -> None:
    issuers = {ISSUER: TrustedIssuer(jwks_file=keys.write_jwks(tmp_path))}
    with pytest.raises(ValidationError, match="public base URL"):
        Settings(auth=AuthSettings(issuers=issuers, review_secret=REVIEW_SECRET))
    for secret in ({}, {"review_secret": "short"}):
        with pytest.raises(ValidationError, match="review_secret"):
            AuthSettings(issuers=issuers, **secret)


@pytest.mark.parametrize(("config", "jwks", "args", "message"), [
    ("review_secret: " + REVIEW_SECRET, None, [], "--public-base-url"),
    ("", None, ["--public-base-url", "https://cds.example.org"], "review_secret: missing; set review_secret"),
    ("review_secret: " + REVIEW_SECRET, "{not json", ["--public-base-url", "https://cds.example.org"],
     "jwks.json: not a JSON Web Key Set"),
    ("review_secret: " + REVIEW_SECRET, '{"keys": 5}', ["--public-base-url", "https://cds.example.org"],
     "jwks.json: not a JSON Web Key Set"),
], ids=["no-url", "no-secret", "jwks-not-json", "jwks-no-keys"])
def test_serve_with_auth_refuses_to_start_with_one_line_naming_the_file_and_key(
        tmp_path: Path, keys: ClientKeys, config: str, jwks: str | None, args: list[str], message: str) -> None:
    jwks_file = keys.write_jwks(tmp_path)
    if jwks is not None:
        jwks_file.write_text(jwks)
    path = tmp_path / "auth.yaml"
    path.write_text(f"issuers:\n  {ISSUER}:\n    jwks_file: {jwks_file}\n{config}\n")
    result = run_cds("serve", "--auth-config", str(path), *args)
    assert result.returncode == 2 and message in result.stderr
    # One line, not a traceback or a pydantic dump; never the secret.
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and "pydantic" not in result.stderr
    assert REVIEW_SECRET not in result.stderr


@pytest.mark.parametrize("host", ["evil.example", "testserver"])
def test_the_audience_never_comes_from_the_host_header(tmp_path: Path, keys: ClientKeys, host: str) -> None:
    # A token minted for another service (its URL as aud) and that service's name as Host.
    auth = AuthSettings(issuers={ISSUER: TrustedIssuer(jwks_file=keys.write_jwks(tmp_path))},
                        review_secret=REVIEW_SECRET)
    with make_client(tmp_path, auth=auth, public_base_url="https://cds.example.org") as client:
        token = keys.token(f"https://{host}{PATH}")
        response = client.post(PATH, json=hook_request("patient-view", "p1", pain_patient("p1")),
                               headers={"Authorization": f"Bearer {token}", "Host": host,
                                        "X-Forwarded-Proto": "https"})
    assert response.status_code == 401


def test_worker_processes_get_the_review_secret(tmp_path: Path, keys: ClientKeys) -> None:
    # Settings travel to uvicorn workers as JSON, where pydantic masks secrets by default.
    auth = AuthSettings(issuers={ISSUER: TrustedIssuer(jwks_file=keys.write_jwks(tmp_path))},
                        review_secret=REVIEW_SECRET)
    settings = Settings(auth=auth, public_base_url="https://cds.example.org")
    again = Settings.model_validate_json(settings.to_env())
    assert again.auth is not None and again.auth.review_secret.get_secret_value() == REVIEW_SECRET
    assert REVIEW_SECRET not in repr(settings)


def _signed(keys: ClientKeys, **claims: object) -> str:
    """A token signed with the client's key, its claims as given (over the usual ones)."""
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(payload, keys.ec, algorithm="ES384", headers={"kid": "ec-1"})


@pytest.mark.parametrize("claims", [
    {"exp": "9999999999"}, {"exp": 1e308}, {"exp": 10**30}, {"exp": True},
    {"iat": str(int(time.time()))},
    # Signed validly, but valid for longer than the five minutes CDS Hooks allows (plus skew).
    {"exp": int(time.time()) + 3600},
    {"iat": int(time.time()) - 3000, "exp": int(time.time()) + 200},
], ids=["exp-string", "exp-1e308", "exp-10^30", "exp-bool", "iat-string", "exp-in-an-hour", "lifetime-53-min"])
def test_exp_and_iat_are_numbers_at_most_five_minutes_apart(client: CheckedClient, keys: ClientKeys,
                                                           claims: dict[str, object]) -> None:
    assert _call(client, _signed(keys, **claims)) == 401


def test_five_minutes_and_the_skew_are_accepted(client: CheckedClient, keys: ClientKeys) -> None:
    now = int(time.time())
    assert _call(client, _signed(keys, iat=now - 10, exp=now + 300)) == 200
    assert _call(client, _signed(keys, iat=now, exp=now + 320.5)) == 200


def test_unknown_kids_fetch_the_jwks_at_most_once_per_interval(tmp_path: Path, keys: ClientKeys) -> None:
    with _jwks_url_client(tmp_path, keys) as (client, stub):
        assert _call(client, keys.token(AUDIENCE)) == 200
        for n in range(20):
            assert _call(client, keys.token(AUDIENCE, kid=f"bogus-{n}")) == 401
        assert _call(client, keys.token(AUDIENCE, alg="RS384")) == 200
    fetches = [path for path, _ in stub.seen if path == "/jwks.json"]
    # The first fetch, then one refetch for the first unknown kid; the other 19 wait their turn.
    assert len(fetches) == 2, fetches
