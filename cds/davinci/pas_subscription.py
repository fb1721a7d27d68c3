"""PAS Subscriptions (IG 2.2.1 `profile-subscription`, the R4 Subscriptions backport): a sending
system asks to be told, on a rest-hook, when one of its pended requests is decided.

A Subscription names PASSubscriptionTopic, the rest-hook channel, full-resource content
(spec-56, spec-62) and filters by `org-identifier=<id>[,<id>...]` (spec-58; the IG's example
writes `orgIdentifier`, read too). It belongs to the client that created it (spec-59): only
that client reads, deletes or hears of it. A notification is a `history` Bundle: the
SubscriptionStatus Parameters first, then the full PAS Response Bundle (spec-61), as
`example/Bundle-PASSubscriptionNotification.json`. Delivery is an HTTP POST on a worker thread
with a bounded timeout; every attempt's outcome (status or failure, never the body) is
recorded, and nothing waits for it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from ..fhir import Problem
from ..service.errors import FHIR_JSON, HookError
from . import x12
from .pas_request import as_list
from .pas_store import Delivery, PasStore, StoredRequest, StoredSubscription

log = logging.getLogger("cds.pas")

TOPIC = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FILTER = BACKPORT + "backport-filter-criteria"
CONTENT = BACKPORT + "backport-payload-content"
PROFILE = x12.PAS + "profile-subscription"
# How a CapabilityStatement names the topics its Subscriptions serve.
TOPIC_CANONICAL = BACKPORT + "capabilitystatement-subscriptiontopic-canonical"
FILTER_NAMES = ("org-identifier=", "orgIdentifier=")
# A receiver that does not answer within this is recorded as failed; the decision stands.
TIMEOUT = httpx.Timeout(5.0, connect=2.0)
_senders = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pas-notify")


def _refuse(message: str, element: str | None = None) -> HookError:
    return HookError(422, [Problem(source="Subscription", element=element, message=message)])


def read_subscription(body: Any, client: str, https_only: bool, subscription_id: str | None = None
                      ) -> StoredSubscription:
    """A new Subscription of the client (or the new version of its `subscription_id`); HookError
    (400/422, an OperationOutcome that quotes nothing) when it is not a PAS Subscription this
    server can serve."""
    if not isinstance(body, dict) or body.get("resourceType") != "Subscription":
        raise HookError(400, [Problem(source="Subscription", message="the body must be a Subscription resource")])
    if body.get("criteria") != TOPIC:
        raise _refuse(f"criteria must be the PAS topic {TOPIC}", "Subscription.criteria")
    channel = body.get("channel")
    if not isinstance(channel, dict) or channel.get("type") != "rest-hook":
        raise _refuse("only the rest-hook channel is supported (spec-56)", "Subscription.channel.type")
    endpoint = channel.get("endpoint")
    allowed = ("https",) if https_only else ("https", "http")
    if not isinstance(endpoint, str) or urlsplit(endpoint).scheme not in allowed or not urlsplit(endpoint).hostname:
        raise _refuse(f"channel.endpoint must be an absolute {' or '.join(allowed)} URL", "Subscription.channel.endpoint")
    if https_only and _internal(urlsplit(endpoint).hostname or ""):
        # The server would POST into its own network on a client's word.
        raise _refuse("channel.endpoint must not be a loopback, private or link-local address",
                      "Subscription.channel.endpoint")
    if channel.get("payload", FHIR_JSON) != FHIR_JSON or _content(channel) != "full-resource":
        raise _refuse("the payload must be application/fhir+json with full-resource content (spec-62)",
                      "Subscription.channel.payload")
    orgs = _orgs(body)
    if not orgs:
        raise _refuse("a PAS Subscription filters by org-identifier=<sending system identifier> (spec-58)",
                      "Subscription.criteria")
    headers = [h for h in as_list(channel.get("header")) if isinstance(h, str) and ":" in h]
    subscription_id = subscription_id or str(uuid.uuid4())
    kept = {k: v for k, v in body.items() if k not in ("id", "meta", "text", "status", "channel")}
    resource = {**kept, "resourceType": "Subscription", "id": subscription_id, "meta": {"profile": [PROFILE]},
                "status": "requested",
                # The headers are sent to the endpoint, never returned: they may carry its token.
                "channel": {k: v for k, v in channel.items() if k != "header"}}
    return StoredSubscription(id=subscription_id, client=client, status="requested", orgs=orgs, endpoint=endpoint,
                              headers=headers, resource=resource, events=0,
                              created=dt.datetime.now(dt.UTC))


def _internal(host: str) -> bool:
    """Whether the host is written as an address inside the server's own network (names are not resolved)."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def _content(channel: dict[str, Any]) -> Any:
    payload = channel.get("_payload")
    extensions = as_list(payload.get("extension")) if isinstance(payload, dict) else []
    return next((e.get("valueCode") for e in extensions if isinstance(e, dict) and e.get("url") == CONTENT), None)


def _orgs(body: dict[str, Any]) -> list[str]:
    criteria = body.get("_criteria")
    extensions = as_list(criteria.get("extension")) if isinstance(criteria, dict) else []
    found: list[str] = []
    for extension in extensions:
        value = extension.get("valueString") if isinstance(extension, dict) and extension.get("url") == FILTER else None
        if not isinstance(value, str):
            continue
        for name in FILTER_NAMES:
            if value.startswith(name):
                found += [v.strip() for v in value[len(name):].split(",") if v.strip()]
    return found


def shown(subscription: StoredSubscription) -> dict[str, Any]:
    """The Subscription as the server reads it back: its status now, its channel headers left out."""
    return {**subscription.resource, "status": subscription.status}


def notification(subscription: StoredSubscription, kind: str, event: int, base_url: str,
                 response: dict[str, Any] | None = None) -> dict[str, Any]:
    """The notification Bundle: SubscriptionStatus first, then (event-notification) the full
    PAS Response Bundle as the event's focus."""
    base = base_url.rstrip("/")
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    parameters: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": f"{base}/fhir/Subscription/{subscription.id}"}},
        {"name": "topic", "valueCanonical": TOPIC},
        {"name": "status", "valueCode": "active"},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(event)},
    ]
    entries: list[dict[str, Any]] = []
    if response is not None:
        focus = f"{base}/fhir/Bundle/{response['id']}"
        parameters.append({"name": "notification-event", "part": [
            {"name": "event-number", "valueString": str(event)},
            {"name": "timestamp", "valueInstant": stamp},
            {"name": "focus", "valueReference": {"reference": focus}}]})
        entries.append({"fullUrl": focus, "resource": response})
    status = {"resourceType": "Parameters", "id": str(uuid.uuid4()),
              "meta": {"profile": [BACKPORT + "backport-subscription-status-r4"]}, "parameter": parameters}
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "history", "timestamp": stamp,
            "entry": [{"fullUrl": f"urn:uuid:{status['id']}", "resource": status,
                       "request": {"method": "GET", "url": f"{base}/fhir/Subscription/{subscription.id}/$status"},
                       "response": {"status": "200"}}, *entries]}


def post(store: PasStore, subscription: StoredSubscription, kind: str, bundle: dict[str, Any], event: int) -> bool:
    """POST the notification; record what came of it. True when the receiver took it (2xx)."""
    headers = {"Content-Type": FHIR_JSON}
    for line in subscription.headers:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            answer = client.post(subscription.endpoint, content=orjson.dumps(bundle), headers=headers)
        ok, outcome = answer.is_success, f"HTTP {answer.status_code}"
    except httpx.TimeoutException:
        ok, outcome = False, "timed out"
    except httpx.HTTPError as exc:
        ok, outcome = False, f"not delivered: {type(exc).__name__}"
    store.record_delivery(Delivery(subscription=subscription.id, event=event, kind=kind,
                                   time=dt.datetime.now(dt.UTC), ok=ok, outcome=outcome))
    if not ok:
        # The subscription's id and the outcome only: the endpoint may carry a token in its query.
        log.warning("PAS notification %s of subscription %s: %s", kind, subscription.id, outcome)
    return ok


def handshake(store: PasStore, subscription: StoredSubscription, base_url: str) -> Future[None]:
    """Confirm the endpoint (backport handshake) on a worker thread: active when it answers 2xx, else error."""
    def send() -> None:
        ok = post(store, subscription, "handshake", notification(subscription, "handshake", 0, base_url), 0)
        store.set_status(subscription.id, "active" if ok else "error")
    return _senders.submit(send)


def notify(store: PasStore, request: StoredRequest, base_url: str) -> list[Future[bool]]:
    """Send the request's current response to each active Subscription of its client whose
    org-identifier filter names one of the request's organisations; returns at once."""
    sent = []
    for subscription in store.subscribed(request.client):
        if not set(subscription.orgs) & set(request.orgs):
            continue
        event = store.next_event(subscription.id)
        bundle = notification(subscription, "event-notification", event, base_url, request.response)
        sent.append(_senders.submit(post, store, subscription, "event-notification", bundle, event))
    return sent
