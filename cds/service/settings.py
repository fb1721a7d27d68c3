"""The service's configuration: one pydantic model, passed to worker processes as JSON."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

ENV_VAR = "CDS_HOOKS_SETTINGS"
# The largest body is answered within the CDS Hooks ~500 ms on the project's 2-core machine:
# 1,940 distinct Conditions each read by a rule took 411 ms (217 ms of CPU) with the machine
# shared, 1.8 x the time of 1,000 (bench/bigrecord.py). A deployment that expects longer
# records raises it, and waits longer.
DEFAULT_MAX_BODY = 384 * 1024
# A completed DTR form is a few kB (the largest blank draft is about 4 kB): 16 times that.
DEFAULT_MAX_ANSWER_BYTES = 64 * 1024
DEFAULT_STORED_ANSWERS = 20


class TrustedIssuer(BaseModel):
    """A CDS client we accept JWTs from, and where its public keys are."""

    model_config = ConfigDict(extra="forbid")
    jwks_url: str | None = None
    jwks_file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TrustedIssuer:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("give exactly one of jwks_url and jwks_file")
        return self


class AuthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuers: dict[str, TrustedIssuer] = Field(min_length=1)
    # Clock skew tolerated between the CDS client and us, in seconds.
    leeway: int = 30
    # Signs the review links in cards, review sessions and form tokens (HMAC-SHA256). Secret so
    # that it is never printed; long enough that it cannot be guessed.
    review_secret: SecretStr = Field(min_length=32)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None: no JWT checks (the server then binds to loopback only).
    auth: AuthSettings | None = None
    cors_origins: list[str] = []
    max_body_bytes: int = DEFAULT_MAX_BODY
    feedback_db: Path = Path("cds-hooks.sqlite")
    # Where every evaluation is recorded (sqlite:///PATH or postgresql://...); None:
    # $CDS_AUDIT_URL, else sqlite:///cds-audit.sqlite.
    audit_url: str | None = None
    # Seconds for all FHIR fetches of one call; the spec asks for answers within ~500 ms.
    fetch_timeout: float = 0.4
    # The URL clients call us by (behind a proxy the request's own URL is not it); used for
    # the JWT audience and for links in cards. Required with auth; None: taken from each request
    # (loopback only).
    public_base_url: str | None = None
    # A fixed evaluation date (demos, tests); None: today.
    as_of: dt.date | None = None
    log_level: str = "info"
    # DTR QuestionnaireResponses kept per patient and client: the newest, and always the latest
    # completed one of each Questionnaire (an older one is never read again).
    max_stored_answers: int = Field(default=DEFAULT_STORED_ANSWERS, ge=1)
    # The largest QuestionnaireResponse body accepted (413 above).
    max_answer_bytes: int = Field(default=DEFAULT_MAX_ANSWER_BYTES, ge=1024)
    # The payer policy for CRD coverage information (cds/davinci/policy.py); None: the one
    # shipped with the rulesets (rulesets/davinci/payer-policy.yaml).
    payer_policy: Path | None = None
    # Where PAS prior authorization requests, Subscriptions and notification deliveries are kept
    # (sqlite:///PATH or postgresql://...); None: beside the feedback (feedback_db).
    pas_url: str | None = None
    # Days a PAS request stays queryable after its services end: at least six months (PAS spec-73).
    pas_retention_days: int = Field(default=183, ge=183)
    # Notifications go to https endpoints whose host resolves to public addresses only; a local
    # test receiver needs this off.
    subscription_https_only: bool = True
    # A notification or handshake not taken is tried this many times in all, the first retry
    # after pas_delivery_first_wait seconds, each next one after twice the wait before.
    pas_delivery_attempts: int = Field(default=4, ge=1, le=10)
    pas_delivery_first_wait: float = Field(default=2.0, gt=0, le=600)

    @model_validator(mode="after")
    def _audience_is_configured(self) -> Settings:
        # Taking the JWT audience from the Host header would accept a token minted for any
        # service whose name the caller sends: with auth the audience is configured, never derived.
        if self.auth is not None and not self.public_base_url:
            raise ValueError("authentication needs the public base URL (--public-base-url): "
                             "the JWT audience is never taken from request headers")
        return self

    def pas_store_url(self) -> str:
        return self.pas_url or f"sqlite:///{self.feedback_db}"

    def to_env(self) -> str:
        data = self.model_dump(mode="json")
        if self.auth is not None:
            # model_dump_json masks secrets; the worker processes need the real one.
            data["auth"]["review_secret"] = self.auth.review_secret.get_secret_value()
        return json.dumps(data)

    @classmethod
    def from_env(cls) -> Settings:
        raw = os.environ.get(ENV_VAR)
        return cls.model_validate_json(raw) if raw else cls()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
