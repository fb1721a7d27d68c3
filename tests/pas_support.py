"""What the PAS workflow tests share: a real HTTP receiver for rest-hook notifications, a PAS
Subscription for it, and a PAS request made from a hooks test patient (tests/hooks_support)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from cds.davinci.pas_example import EXAMPLE_NPI, request_for
from cds.davinci.pas_subscription import CONTENT, FILTER, TOPIC
from cds.knowledge import Knowledge


class Receiver:
    """A rest-hook endpoint on loopback: keeps each POSTed notification; answers `status`, or
    503 to the next `failures` POSTs (a receiver down for a while)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.failures = 0
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver._arrived:
                    failing, receiver.failures = receiver.failures > 0, max(0, receiver.failures - 1)
                self.send_response(503 if failing else receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver._arrived:
                    receiver.received.append((dict(self.headers), body))
                    receiver._arrived.notify_all()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first `count` notifications, once they have arrived (AssertionError after timeout)."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.received) >= count, timeout), self.received
            return [body for _, body in self.received[:count]]


@contextmanager
def receiving(status: int = 200) -> Iterator[Receiver]:
    receiver = Receiver(status)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def subscription(endpoint: str, org: str = EXAMPLE_NPI, header: str | None = None) -> dict[str, Any]:
    """A PAS Subscription (profile-subscription) as the IG's example, filtered by org-identifier."""
    channel: dict[str, Any] = {"type": "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json",
                               "_payload": {"extension": [{"url": CONTENT, "valueCode": "full-resource"}]}}
    if header:
        channel["header"] = [header]
    return {"resourceType": "Subscription", "status": "requested", "reason": "PAS decisions for my organization",
            "criteria": TOPIC, "_criteria": {"extension": [{"url": FILTER, "valueString": f"org-identifier={org}"}]},
            "channel": channel}


def pas_request(prefetch: dict[str, Any], order: dict[str, Any], as_of: dt.date, code: str,
                knowledge: Knowledge) -> dict[str, Any]:
    """A PAS Request Bundle for an order-sign test patient's prefetch (Patient, searchsets) and order."""
    resources = [prefetch["patient"]]
    for key in ("conditions", "medications", "procedures", "observations", "immunizations"):
        resources += [e["resource"] for e in prefetch.get(key, {}).get("entry", [])]
    entries = [{"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, r['resourceType'] + '/' + r['id'])}",
                "resource": r} for r in [*resources, order]]
    return request_for(entries, entries[-1], f"{prefetch['patient']['id']}-pa", as_of, code, knowledge)


def notified_response(notification: dict[str, Any]) -> dict[str, Any]:
    """The ClaimResponse a full-resource notification carries (checked as the test kit does:
    SubscriptionStatus first, its focus an entry that is a collection Bundle with a ClaimResponse)."""
    assert notification["resourceType"] == "Bundle" and notification["type"] == "history"
    status = notification["entry"][0]["resource"]
    assert status["resourceType"] == "Parameters"
    parameters = {p["name"]: p for p in status["parameter"]}
    assert parameters["type"]["valueCode"] == "event-notification"
    assert parameters["topic"]["valueCanonical"] == TOPIC
    focus = next(p for p in parameters["notification-event"]["part"] if p["name"] == "focus")
    [entry] = [e for e in notification["entry"] if e["fullUrl"] == focus["valueReference"]["reference"]]
    bundle = entry["resource"]
    assert bundle["type"] == "collection"
    response = bundle["entry"][0]["resource"]
    assert response["resourceType"] == "ClaimResponse"
    return dict(response)

