"""Rest-hook delivery of PAS Subscription handshakes and notifications, retried, never waited for.

Each delivery is a POST on a worker thread, guarded against requests into the server's own
network (cds/service/outbound.py, checked on the address it connects to). A failed attempt
(no 2xx, a timeout, a refused connection) is tried again after a growing wait (backoff doubled
each time), up to `attempts`; the wait runs on a timer, so no worker sleeps and no request waits.
Every attempt's outcome is logged in `pas_delivery` (status or failure, never a body). Then, as
the Subscriptions backport IG says (workflow: a failed handshake makes the Subscription
`error`; handling errors: the server updates the status and keeps counting events): taken ->
`active`, its error count cleared; failed on every attempt -> `error`, its error count up by one
and the failure kept (GET shows it). A Subscription in error hears of nothing until its client
PUTs it (a new handshake); its event count runs on meanwhile, so the next notification shows the
gap (eventsSinceSubscriptionStart) and `$inquire` gives what was missed. An endpoint refused by
the address check is not tried again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpcore
import orjson

from ..service.errors import FHIR_JSON
from ..service.outbound import WIRE_ERRORS, RefusedAddress, Unresolved, post
from .pas_store import Delivery, PasStore, StoredRequest, StoredSubscription
from .pas_subscription import notification

log = logging.getLogger("cds.pas")

# A receiver that does not answer within this is a failed attempt; the decision stands.
CONNECT_SECONDS, ANSWER_SECONDS = 2.0, 5.0
_senders = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pas-notify")


class Delivering:
    """How the server delivers: the store that logs it, whether an endpoint may be internal
    (a local test receiver), and the retry policy (`first_wait`: seconds before the second
    attempt, doubled for each next one)."""

    def __init__(self, store: PasStore, *, allow_internal: bool = False, attempts: int = 4,
                 first_wait: float = 2.0) -> None:
        self.store, self.allow_internal, self.attempts, self.first_wait = store, allow_internal, attempts, first_wait
        self._pending = 0       # deliveries under way, retries included (`settle` waits for none)
        self._idle = threading.Condition()

    def handshake(self, subscription: StoredSubscription, base_url: str) -> None:
        """Confirm the endpoint (backport handshake): active once it answers 2xx, error when it never does."""
        self._send(subscription, "handshake", notification(subscription, "handshake", 0, base_url), 0)

    def notify(self, request: StoredRequest, base_url: str) -> int:
        """Send the request's current response to each active Subscription of its client whose
        org-identifier filter names one of the request's organisations; returns how many, at once.
        A Subscription in error counts the event without hearing of it."""
        sent = 0
        for subscription in self.store.of_client(request.client):
            if subscription.status not in ("active", "error") or not set(subscription.orgs) & set(request.orgs):
                continue
            event = self.store.next_event(subscription.id)
            if subscription.status == "active":
                bundle = notification(subscription, "event-notification", event, base_url, request.response)
                self._send(subscription, "event-notification", bundle, event)
                sent += 1
        return sent

    def settle(self, timeout: float) -> bool:
        """Wait until no attempt is under way (tests); False when some still are after timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _send(self, subscription: StoredSubscription, kind: str, bundle: dict[str, Any], event: int) -> None:
        with self._idle:
            self._pending += 1
        _senders.submit(self._attempt, subscription, kind, orjson.dumps(bundle), event, 1)

    def _attempt(self, subscription: StoredSubscription, kind: str, body: bytes, event: int, attempt: int) -> None:
        again = False
        try:
            ok, outcome, final = self._post(subscription, body)
            self.store.record_delivery(Delivery(subscription=subscription.id, event=event, kind=kind,
                                                time=dt.datetime.now(dt.UTC), ok=ok, outcome=outcome))
            if ok:
                self.store.delivered(subscription.id)
            elif final or attempt >= self.attempts:
                self.store.failed(subscription.id, outcome)
                # The subscription's id and the outcome only: the endpoint may carry a token in its query.
                log.warning("PAS %s of subscription %s not delivered after %d attempt(s): %s",
                            kind, subscription.id, attempt, outcome)
            else:
                again = True
                timer = threading.Timer(self.first_wait * 2 ** (attempt - 1), _senders.submit,
                                        (self._attempt, subscription, kind, body, event, attempt + 1))
                timer.daemon = True
                timer.start()
        except Exception:  # a store gone away must not kill the worker; the log says what
            log.exception("PAS %s of subscription %s: delivery bookkeeping failed", kind, subscription.id)
        finally:
            if not again:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _post(self, subscription: StoredSubscription, body: bytes) -> tuple[bool, str, bool]:
        """(taken, outcome, final: not worth another attempt)."""
        headers = {"Content-Type": FHIR_JSON}
        for line in subscription.headers:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        try:
            status = post(subscription.endpoint, body, headers, connect_timeout=CONNECT_SECONDS,
                          timeout=ANSWER_SECONDS, allow_internal=self.allow_internal)
        except RefusedAddress as exc:
            return False, f"refused: {exc}", True
        except Unresolved as exc:
            return False, f"not delivered: {exc}", False
        except httpcore.TimeoutException:
            return False, "timed out", False
        except WIRE_ERRORS as exc:
            return False, f"not delivered: {type(exc).__name__}", False
        return 200 <= status < 300, f"HTTP {status}", False
