"""PAS Subscriptions (IG 2.2.1 `profile-subscription`, the R4 Subscriptions backport): a sending
system asks to be told, on a rest-hook, when one of its pended requests is decided.

A Subscription names PASSubscriptionTopic, the rest-hook channel, full-resource content
(spec-56, spec-62) and filters by `org-identifier=<id>[,<id>...]` (spec-58; the IG's example
writes `orgIdentifier`, read too). It belongs to the client that created it (spec-59): only
that client reads, deletes or hears of it. A notification is a `history` Bundle: the
SubscriptionStatus Parameters first, then the full PAS Response Bundle (spec-61), as
`example/Bundle-PASSubscriptionNotification.json`. Delivery (retried, never waited for) is
cds/davinci/pas_delivery.py's. An endpoint is refused when its host resolves to an address that
is not public (cds/service/outbound.py), unless the server allows a local receiver.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlsplit

from ..fhir import Problem
from ..service.errors import FHIR_JSON, HookError
from ..service.outbound import RefusedAddress, Unresolved, checked_address
from . import x12
from .pas_request import as_list
from .pas_store import StoredSubscription

TOPIC = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FILTER = BACKPORT + "backport-filter-criteria"
CONTENT = BACKPORT + "backport-payload-content"
PROFILE = x12.PAS + "profile-subscription"
# How a CapabilityStatement names the topics its Subscriptions serve.
TOPIC_CANONICAL = BACKPORT + "capabilitystatement-subscriptiontopic-canonical"
FILTER_NAMES = ("org-identifier=", "orgIdentifier=")


def _refuse(message: str, element: str | None = None) -> HookError:
    return HookError(422, [Problem(source="Subscription", element=element, message=message)])


def read_subscription(body: Any, client: str, https_only: bool, subscription_id: str | None = None
                      ) -> StoredSubscription:
    """A new Subscription of the client (or the new version of its `subscription_id`); HookError
    (400/422, an OperationOutcome that quotes nothing) when it is not a PAS Subscription this
    server can serve. Resolves the endpoint's host name: call it off the event loop."""
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
    if https_only:
        # The server would POST into its own network on a client's word; checked again at each
        # delivery, on the address it connects to. A name that does not resolve now is not
        # refused: its handshake fails and the Subscription says so (error).
        try:
            checked_address(urlsplit(endpoint).hostname or "", urlsplit(endpoint).port or 443)
        except Unresolved:
            pass
        except (RefusedAddress, ValueError):
            raise _refuse("channel.endpoint must name a host that resolves to public addresses only (not "
                          "loopback, private or link-local)", "Subscription.channel.endpoint") from None
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
    """The Subscription as the server reads it back: its status now, its channel headers left
    out, and (R4 Subscription.error) why it is in error."""
    found = {**subscription.resource, "status": subscription.status}
    if subscription.status == "error" and subscription.error:
        found["error"] = (f"{subscription.errors} notification(s) not delivered after every attempt; the latest: "
                          f"{subscription.error}. PUT the Subscription to confirm its endpoint again.")
    return found


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
