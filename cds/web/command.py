"""The `cds serve` subcommand. Imports the web stack only when it runs, so `cds evaluate`
stays as quick to start as before."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..service.settings import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_MAX_BODY, DEFAULT_STORED_ANSWERS

EXIT_USAGE = 2


def add_serve_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the CDS Hooks service (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1; others need --auth-config)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes, each with its own rules engine (default 1)")
    serve.add_argument("--auth-config", metavar="FILE",
                       help="YAML/JSON: issuers (each with jwks_url or jwks_file) whose JWTs are accepted, "
                            "and review_secret (32+ characters) that signs review links; "
                            "needs --public-base-url")
    serve.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                       help="allow browser calls from this origin (repeatable; '*' for any)")
    serve.add_argument("--feedback-db", default="cds-hooks.sqlite", metavar="PATH",
                       help="SQLite file for card feedback and seen JWT ids (default ./cds-hooks.sqlite)")
    serve.add_argument("--audit-url", metavar="URL",
                       help="audit trail of every evaluation: sqlite:///PATH or postgresql://... "
                            "(default $CDS_AUDIT_URL, else sqlite:///cds-audit.sqlite)")
    serve.add_argument("--pas-url", metavar="URL",
                       help="where PAS prior authorization requests and Subscriptions are kept: sqlite:///PATH or "
                            "postgresql://... (default: the --feedback-db file)")
    serve.add_argument("--pas-retention-days", type=int, default=183, metavar="DAYS",
                       help="days a PAS request stays queryable after its services end (default and least 183: "
                            "six months, PAS spec-73)")
    serve.add_argument("--subscription-allow-http", action="store_true",
                       help="let PAS Subscriptions notify plain http and hosts resolving to loopback or private addresses "
                            "(default: https to other hosts only)")
    serve.add_argument("--subscription-attempts", type=int, default=4, metavar="N",
                       help="tries in all of a PAS Subscription handshake or notification not taken (1-10; default 4)")
    serve.add_argument("--subscription-first-wait", type=float, default=2.0, metavar="SECONDS",
                       help="wait before the second try, doubled for each next one (default 2)")
    serve.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY, metavar="N",
                       help=f"largest request body, and the most fetched from fhirServer for one call "
                            f"(default {DEFAULT_MAX_BODY}: answered within ~500 ms)")
    serve.add_argument("--max-stored-answers", type=int, default=DEFAULT_STORED_ANSWERS, metavar="N",
                       help="DTR QuestionnaireResponses kept per patient and client; the latest completed one "
                            f"of each Questionnaire is always kept (default {DEFAULT_STORED_ANSWERS})")
    serve.add_argument("--max-answer-bytes", type=int, default=DEFAULT_MAX_ANSWER_BYTES, metavar="BYTES",
                       help=f"the largest QuestionnaireResponse accepted (default {DEFAULT_MAX_ANSWER_BYTES})")
    serve.add_argument("--fetch-timeout", type=float, default=0.4, metavar="SECONDS",
                       help="deadline for all FHIR fetches of one call (default 0.4)")
    serve.add_argument("--public-base-url", metavar="URL",
                       help="the URL clients call (JWT audience, card links); required with --auth-config")
    serve.add_argument("--payer-policy", metavar="FILE",
                       help="YAML: the payer's prior-authorization policy per therapy for the CRD coverage "
                            "information (default: rulesets/davinci/payer-policy.yaml)")
    serve.add_argument("--as-of", help="assess as of this date (YYYY-MM-DD; default today)")
    serve.add_argument("--ssl-certfile", metavar="PEM",
                       help="serve HTTPS with this certificate (CDS Hooks requires TLS; or use a TLS proxy)")
    serve.add_argument("--ssl-keyfile", metavar="PEM", help="the certificate's private key")
    serve.add_argument("--worker-healthcheck-timeout", type=_positive_seconds, default=60, metavar="SECONDS",
                       help="restart a worker that does not answer the supervisor's health check within "
                            "this time (default 60; with --workers above 1)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=run_serve)


def _positive_seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds of at least 1")
    return value


def run_serve(args: argparse.Namespace) -> int:
    import yaml
    from pydantic import ValidationError

    from ..audit import StoreError, default_url
    from ..davinci.policy import PolicyError, policy_for
    from ..knowledge import default as default_knowledge
    from ..service.security import JwksFileError, read_jwks_file
    from .serve import UnsafeBind, serve
    from ..service.settings import AuthSettings, Settings
    from ..yamlfile import safe_load

    try:
        auth = None
        if args.auth_config:
            with open(args.auth_config, encoding="utf-8") as handle:
                loaded = safe_load(handle)
            try:
                auth = AuthSettings.model_validate(loaded)
            except ValidationError as exc:
                print(f"cds serve: {auth_config_problem(args.auth_config, exc)}", file=sys.stderr)
                return EXIT_USAGE
            for issuer in auth.issuers.values():
                if issuer.jwks_file is not None:
                    # Read here, once: in a worker a bad file would be a traceback, restarted.
                    read_jwks_file(issuer.jwks_file)
            if not args.public_base_url:
                # The JWT audience must be configured: from request headers a caller could name
                # another service and replay its tokens here.
                print("cds serve: --auth-config needs --public-base-url (the URL clients call; "
                      "JWTs must name it as their audience)", file=sys.stderr)
                return EXIT_USAGE
        settings = Settings(
            auth=auth, cors_origins=args.cors_origin, feedback_db=args.feedback_db,
            max_body_bytes=args.max_body_bytes, fetch_timeout=args.fetch_timeout,
            max_stored_answers=args.max_stored_answers, max_answer_bytes=args.max_answer_bytes,
            public_base_url=args.public_base_url, as_of=args.as_of, audit_url=args.audit_url or default_url(),
            payer_policy=args.payer_policy, pas_url=args.pas_url, pas_retention_days=args.pas_retention_days,
            subscription_https_only=not args.subscription_allow_http,
            pas_delivery_attempts=args.subscription_attempts, pas_delivery_first_wait=args.subscription_first_wait,
        )
        if settings.payer_policy is not None:
            # Checked before any worker starts: a bad file is named here, once.
            knowledge = default_knowledge()
            policy_for(knowledge.folder, knowledge.rulesets, settings.payer_policy)
        serve(settings, host=args.host, port=args.port, workers=args.workers, log_level=args.log_level,
              ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
              worker_healthcheck_timeout=args.worker_healthcheck_timeout)
    except (OSError, yaml.YAMLError, ValidationError, UnsafeBind, StoreError, PolicyError, JwksFileError) as exc:
        print(f"cds serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


# What to do about each key of the auth config that is missing or wrong.
_AUTH_HINTS = {
    "review_secret": "set review_secret to a random string of 32+ characters "
                     "(python -c 'import secrets; print(secrets.token_urlsafe(32))')",
    "issuers": "list each trusted issuer (its iss) with its jwks_url or jwks_file",
}


def auth_config_problem(path: str, exc: Any) -> str:
    """One line for a ValidationError of the auth config: the file, the first key at fault and
    what to do (never the values: the file holds a secret)."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "(the file)"
    what = "missing" if error["type"] == "missing" else error["msg"]
    hint = _AUTH_HINTS.get(str(error["loc"][0]) if error["loc"] else "",
                           "see the README (Security, auth.yaml) for the keys of the auth config")
    return f"--auth-config {path}: {key}: {what}; {hint}"
