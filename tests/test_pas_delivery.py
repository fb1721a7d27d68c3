"""PAS notification delivery that survives failure (issue #23): retries with backoff, the
Subscription's status and error count as the Subscriptions backport IG says, a bounded delivery
log, and the SSRF guard that resolves the endpoint's name and connects to the address it checked.

Real loopback receivers (tests/pas_support.py) and real name resolution (`localhost`), no mocks
of the network.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from cds.davinci.pas_delivery import Delivering
from cds.davinci.pas_store import Delivery, PasStore, StoredRequest, StoredSubscription
from cds.service.outbound import RefusedAddress, checked_address, is_public

from .hooks_support.checks import make_client
from .pas_support import receiving, subscription
from .test_pas_pended import SUBSCRIPTION, _settled

FAST = {"subscription_https_only": False, "pas_delivery_attempts": 3, "pas_delivery_first_wait": 0.05}
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def test_a_notification_not_taken_is_tried_again_until_it_is(tmp_path: Path) -> None:
    """Down for two attempts, then up: delivered on the third, the Subscription active, no error."""
    with receiving() as receiver, make_client(tmp_path, **FAST) as client:
        created = client.post(SUBSCRIPTION, json=subscription(receiver.url))
        path = created.headers["Location"].removeprefix("http://testserver")
        _settled(client, path, "active")
        store = PasStore(f"sqlite:///{tmp_path / 'hooks.sqlite'}")
        [kept] = store.of_client("anonymous")
        receiver.failures = 2
        delivering = Delivering(store, allow_internal=True, attempts=3, first_wait=0.05)
        assert delivering.notify(_request(kept.orgs, "anonymous"), "http://testserver") == 1
        assert delivering.settle(10)
        *_, first, second, third = receiver.wait(4)
    events = [_event(n) for n in (first, second, third)]
    assert events == ["1", "1", "1"]    # the same event each time
    outcomes = [(d.kind, d.outcome) for d in store.deliveries(kept.id)]
    assert outcomes == [("handshake", "HTTP 200"), *[("event-notification", "HTTP 503")] * 2,
                        ("event-notification", "HTTP 200")]
    [after] = store.of_client("anonymous")
    assert (after.status, after.errors, after.error) == ("active", 0, None)


def test_a_handshake_not_taken_is_tried_again_and_an_endpoint_never_up_is_in_error(tmp_path: Path) -> None:
    with receiving() as receiver, make_client(tmp_path, **FAST) as client:
        receiver.failures = 1
        path = client.post(SUBSCRIPTION, json=subscription(receiver.url)).headers["Location"].removeprefix(
            "http://testserver")
        assert _settled(client, path, "active")["status"] == "active"
        receiver.failures = 3
        moved = client.put(path, json=subscription(receiver.url + "/moved"))
        assert moved.status_code == 200 and moved.json()["status"] == "requested"
        shown = _settled(client, path, "error")
        assert "1 notification(s) not delivered" in shown["error"] and "HTTP 503" in shown["error"]
        # Its client PUTs it again: a new handshake, taken, makes it active; the error is cleared.
        assert client.put(path, json=subscription(receiver.url)).status_code == 200
        assert "error" not in _settled(client, path, "active")


def test_a_subscription_in_error_counts_events_without_hearing_of_them(tmp_path: Path) -> None:
    store = PasStore(f"sqlite:///{tmp_path / 'pas.sqlite'}")
    with receiving() as receiver:
        sub = _subscription(receiver.url, status="error")
        store.add_subscription(sub)
        delivering = Delivering(store, allow_internal=True)
        assert delivering.notify(_request(sub.orgs), "http://x") == 0
        assert delivering.notify(_request(sub.orgs), "http://x") == 0
        assert receiver.received == []
    [after] = store.of_client("c1")
    assert after.events == 2    # eventsSinceSubscriptionStart runs on (backport IG, handling errors)


# ---- the SSRF guard at delivery: the name resolved, the checked address connected to ----

def test_a_name_that_resolves_into_the_server_network_is_refused_at_delivery(tmp_path: Path) -> None:
    """The endpoint was accepted (say its name resolved elsewhere then): at delivery `localhost`
    resolves to loopback, so nothing is sent, and no retry hammers it."""
    store = PasStore(f"sqlite:///{tmp_path / 'pas.sqlite'}")
    with receiving() as receiver:
        port = receiver.server.server_address[1]
        sub = _subscription(f"http://localhost:{port}/notify")
        store.add_subscription(sub)
        delivering = Delivering(store, attempts=3, first_wait=0.05)
        delivering.handshake(sub, "http://x")
        assert delivering.settle(10)
        assert receiver.received == []
    [delivery] = store.deliveries(sub.id)
    assert not delivery.ok and delivery.outcome.startswith("refused: ")
    assert store.of_client("c1")[0].status == "error"


def test_an_allowed_local_receiver_gets_the_post_under_its_name(tmp_path: Path) -> None:
    store = PasStore(f"sqlite:///{tmp_path / 'pas.sqlite'}")
    with receiving() as receiver:
        port = receiver.server.server_address[1]
        sub = _subscription(f"http://localhost:{port}/notify")
        store.add_subscription(sub)
        delivering = Delivering(store, allow_internal=True)
        delivering.handshake(sub, "http://x")
        assert delivering.settle(10)
        [(headers, _)] = receiver.received
    # Connected to the address resolved and checked, the Host header still the endpoint's name.
    assert headers["Host"] == f"localhost:{port}"
    assert store.of_client("c1")[0].status == "active"


@pytest.mark.parametrize("address,public", [("127.0.0.1", False), ("10.1.2.3", False), ("100.64.0.1", False),
                                            ("169.254.169.254", False), ("::1", False), ("fe80::1", False),
                                            ("::ffff:127.0.0.1", False), ("224.0.0.1", False), ("0.0.0.0", False),
                                            ("93.184.216.34", True), ("::ffff:93.184.216.34", True),
                                            ("2606:4700::1111", True)])
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_names_are_judged_on_what_they_resolve_to() -> None:
    with pytest.raises(RefusedAddress):
        checked_address("localhost", 443)
    assert checked_address("localhost", 443, allow_internal=True) in ("127.0.0.1", "::1")
    assert checked_address("93.184.216.34", 443) == "93.184.216.34"


# ---- the delivery log's bound ----

def test_the_delivery_log_keeps_recent_rows_and_each_latest(tmp_path: Path) -> None:
    """Rows past the age or beyond the newest few of a Subscription go; the latest of each kind
    (what its status tells of) stays whatever its age; another Subscription's log is untouched;
    a deleted Subscription's log goes with it."""
    store = PasStore(f"sqlite:///{tmp_path / 'pas.sqlite'}", delivery_keep_days=30, delivery_keep_rows=3)
    for sub in ("s1", "s2"):
        store.add_subscription(_subscription("https://x.example/", id=sub))
    store.record_delivery(_delivery("s2", "handshake", NOW - dt.timedelta(days=90)))
    store.record_delivery(_delivery("s1", "handshake", NOW - dt.timedelta(days=60)))
    store.record_delivery(_delivery("s1", "event-notification", NOW - dt.timedelta(days=40), event=1))
    for n in range(2, 7):
        store.record_delivery(_delivery("s1", "event-notification", NOW - dt.timedelta(days=7 - n), event=n))
    assert [(d.kind, d.event) for d in store.deliveries("s1")] == [
        ("handshake", 0), ("event-notification", 4), ("event-notification", 5), ("event-notification", 6)]
    assert len(store.deliveries("s2")) == 1
    assert store.remove_subscription("c1", "s1") and store.deliveries("s1") == []


def _subscription(endpoint: str, status: str = "requested", id: str = "sub-1") -> StoredSubscription:
    return StoredSubscription(id=id, client="c1", status=status, orgs=["1234567893"], endpoint=endpoint, headers=[],
                              resource={"resourceType": "Subscription", "id": id}, events=0, created=NOW)


def _delivery(sub: str, kind: str, time_: dt.datetime, event: int = 0) -> Delivery:
    return Delivery(subscription=sub, event=event, kind=kind, time=time_, ok=True, outcome="HTTP 200")


def _request(orgs: list[str], client: str = "c1") -> StoredRequest:
    response = {"resourceType": "Bundle", "id": "r1", "type": "collection", "entry": []}
    return StoredRequest(key="PA1", client=client, patient="Patient/p", state="decided", as_of=NOW.date(),
                         claims=[], members=[], providers=[], orgs=orgs, request={}, response=response, records={},
                         codes={}, submitted=NOW, decided=NOW, keep_until=NOW.date())


def _event(notification: dict) -> str:
    status = notification["entry"][0]["resource"]
    return next(p["valueString"] for p in status["parameter"] if p["name"] == "events-since-subscription-start")


def test_a_store_made_before_delivery_errors_were_kept_opens_with_its_subscriptions(tmp_path: Path) -> None:
    """A file whose pas_subscription table has no error columns (the earlier schema) gains them."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE pas_subscription (id VARCHAR(36) PRIMARY KEY, client TEXT NOT NULL, status VARCHAR(16)"
                   " NOT NULL, orgs TEXT NOT NULL, endpoint TEXT NOT NULL, headers TEXT NOT NULL, resource TEXT NOT"
                   " NULL, events INTEGER NOT NULL, created VARCHAR(40) NOT NULL)")
        db.execute("INSERT INTO pas_subscription VALUES ('s0', 'c1', 'active', '[\"1\"]', 'https://x.example/', '[]',"
                   " '{}', 3, '2026-11-01T00:00:00Z')")
    store = PasStore(f"sqlite:///{path}")
    [old] = store.of_client("c1")
    assert (old.status, old.events, old.errors, old.error) == ("active", 3, 0, None)
    store.failed("s0", "HTTP 503")
    assert store.of_client("c1")[0].errors == 1


def test_serve_refuses_a_retry_policy_out_of_bounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cds.cli import main

    assert main(["serve", "--subscription-attempts", "0", "--feedback-db", str(tmp_path / "f.sqlite"),
                 "--audit-url", f"sqlite:///{tmp_path / 'a.sqlite'}"]) == 2
    assert "pas_delivery_attempts" in capsys.readouterr().err
