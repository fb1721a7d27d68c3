"""Prior authorization requests, PAS Subscriptions and notification deliveries, kept in SQLite
(default) or PostgreSQL through SQLAlchemy Core, as the audit trail is (cds/audit/store.py).

A request is kept with its current response Bundle so that later answers re-decide it
(pended -> decided), `$inquire` finds it and a notification carries it. Requests stay
queryable until `keep_until`: the end of the service period asked for (else the decision day)
plus the retention setting, at least six months (PAS spec-73); older rows are dropped when a
request is saved. Rows belong to a client (the JWT issuer), as DTR answers do. The delivery
log is bounded: rows older than `delivery_keep_days` and beyond the newest `delivery_keep_rows`
of a Subscription are dropped when one is recorded, but never a Subscription's latest delivery
of each kind (what its status and error tell of); a deleted Subscription's log goes with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import orjson
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import (Boolean, Column, Connection, Index, Integer, MetaData, String, Table, Text, and_, delete,
                        func, insert, inspect, select, text, update)
from sqlalchemy.engine import make_url

from ..audit.store import engine_for
from ..private import create_private

metadata = MetaData()
requests = Table(
    "pas_request", metadata,
    Column("key", String(40), primary_key=True),
    Column("client", Text, nullable=False),
    Column("patient", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("claims", Text, nullable=False),
    Column("members", Text, nullable=False),
    Column("providers", Text, nullable=False),
    Column("orgs", Text, nullable=False),
    Column("request", Text, nullable=False),
    Column("response", Text, nullable=False),
    Column("records", Text, nullable=False),
    Column("codes", Text, nullable=False),
    Column("submitted", String(40), nullable=False),
    Column("decided", String(40), nullable=True),
    Column("keep_until", String(10), nullable=False),
    Index("pas_request_client_patient", "client", "patient"),
    Index("pas_request_keep_until", "keep_until"),
)
# Each member id of a request, so that an inquiry reads only the requests about its patient.
members = Table(
    "pas_request_member", metadata,
    Column("key", String(40), nullable=False),
    Column("member", Text, nullable=False),
    Index("pas_request_member_member", "member"),
    Index("pas_request_member_key", "key"),
)
subscriptions = Table(
    "pas_subscription", metadata,
    Column("id", String(36), primary_key=True),
    Column("client", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("orgs", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    # channel.header lines (a bearer token for the receiver): sent, never shown or logged.
    Column("headers", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("events", Integer, nullable=False),
    Column("created", String(40), nullable=False),
    # Deliveries that failed every attempt since the last one taken, and the latest failure.
    Column("errors", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=True),
)
# Columns added after the table was first made: brought in by ALTER TABLE on open.
_ADDED = {"pas_subscription": ("errors INTEGER NOT NULL DEFAULT 0", "error TEXT")}
# The delivery log's bound (see the module text).
DELIVERY_KEEP_DAYS = 30
DELIVERY_KEEP_ROWS = 200
deliveries = Table(
    "pas_delivery", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("subscription", String(36), nullable=False),
    Column("event", Integer, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("time", String(40), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("outcome", Text, nullable=False),
    Index("pas_delivery_subscription", "subscription"),
)

# cancelled: the submitter cancelled every item (certificationType 3); kept for queries, never decided.
State = Literal["pended", "decided", "cancelled"]


class StoredRequest(BaseModel):
    key: str                      # the authorization number (cds/davinci/pas.py)
    client: str
    patient: str                  # "Patient/<id>"
    state: State
    as_of: dt.date
    claims: list[str]             # the Claim's identifiers ("system|value") and its reference
    members: list[str]            # the patient's member / subscriber ids
    providers: list[str]          # the requesting provider's identifiers (NPI)
    orgs: list[str]               # what a Subscription's org-identifier filter matches
    request: dict[str, Any]       # the request Bundle, re-read when answers arrive
    response: dict[str, Any]      # the current response Bundle
    records: dict[str, str]       # item sequence -> the audit record of its current decision
    codes: dict[str, str | None]  # item sequence -> its current X12 306 code (None: cancelled)
    submitted: dt.datetime
    decided: dt.datetime | None
    keep_until: dt.date


class StoredSubscription(BaseModel):
    id: str
    client: str
    status: str
    orgs: list[str]
    endpoint: str
    headers: list[str]
    resource: dict[str, Any]
    events: int
    created: dt.datetime
    errors: int = 0               # deliveries failed on every attempt since the last one taken
    error: str | None = None      # the latest such failure ("HTTP 503", "timed out"; never a body)


class Delivery(BaseModel):
    subscription: str
    event: int
    kind: str                     # "handshake" or "event-notification"
    time: dt.datetime
    ok: bool
    outcome: str                  # "HTTP 200", "timed out", "refused: ..." (never the body)


_INSTANT = TypeAdapter(dt.datetime)
_JSON = ("claims", "members", "providers", "orgs", "request", "response", "records", "codes", "headers", "resource")


def _row(model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(mode="json")
    return {k: orjson.dumps(v).decode() if k in _JSON else v for k, v in data.items()}


def _read(row: Any) -> dict[str, Any]:
    return {k: orjson.loads(v) if k in _JSON else v for k, v in dict(row).items()}


class PasStore:
    def __init__(self, url: str, delivery_keep_days: int = DELIVERY_KEEP_DAYS,
                 delivery_keep_rows: int = DELIVERY_KEEP_ROWS) -> None:
        self.engine = engine_for(url)
        self.delivery_keep_days, self.delivery_keep_rows = delivery_keep_days, delivery_keep_rows
        if self.engine.dialect.name == "sqlite":
            create_private(make_url(url).database or "")
        with self._writing() as conn:
            metadata.create_all(conn)
            for table, columns in _ADDED.items():
                present = {c["name"] for c in inspect(conn).get_columns(table)}
                for column in columns:
                    if column.split()[0] not in present:
                        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column}"))

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        # SQLite: BEGIN IMMEDIATE (cds/audit/store.py's begin hook), so read-then-write is atomic.
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=True)
            with conn.begin():
                yield conn

    # ---- requests ----

    def save(self, request: StoredRequest, today: dt.date | None = None) -> None:
        """Insert or replace the request; drop requests past their retention."""
        expired = (today or dt.date.today()).isoformat()
        with self._writing() as conn:
            conn.execute(delete(requests).where(requests.c.key == request.key))
            conn.execute(delete(members).where(members.c.key == request.key))
            conn.execute(insert(requests).values(**_row(request)))
            if request.members:
                conn.execute(insert(members), [{"key": request.key, "member": m} for m in request.members])
            gone = select(requests.c.key).where(requests.c.keep_until < expired)
            conn.execute(delete(members).where(members.c.key.in_(gone)))
            conn.execute(delete(requests).where(requests.c.keep_until < expired))

    def get(self, key: str) -> StoredRequest | None:
        found = self._requests(requests.c.key == key)
        return found[0] if found else None

    def pended(self, client: str, patient: str) -> list[StoredRequest]:
        return self._requests(and_(requests.c.client == client, requests.c.patient == patient,
                                   requests.c.state == "pended"))

    def of_patient(self, client: str, patient: str) -> list[StoredRequest]:
        return self._requests(and_(requests.c.client == client, requests.c.patient == patient))

    def of_members(self, wanted: set[str]) -> list[StoredRequest]:
        """The requests about a patient with one of these member ids."""
        keys = select(members.c.key).where(members.c.member.in_(sorted(wanted)))
        return self._requests(requests.c.key.in_(keys))

    def all(self) -> list[StoredRequest]:
        return self._requests(None)

    def _requests(self, where: Any) -> list[StoredRequest]:
        query = select(requests).order_by(requests.c.submitted)
        with self.engine.connect() as conn:
            rows = conn.execute(query if where is None else query.where(where)).mappings().all()
        return [StoredRequest.model_validate(_read(r)) for r in rows]

    # ---- subscriptions ----

    def add_subscription(self, subscription: StoredSubscription) -> None:
        with self._writing() as conn:
            conn.execute(insert(subscriptions).values(**_row(subscription)))

    def replace_subscription(self, subscription: StoredSubscription) -> bool:
        """A new version of one of the client's Subscriptions (False: the client has none by that id)."""
        # Its event count runs on from its creation (eventsSinceSubscriptionStart), whatever changes.
        values = {k: v for k, v in _row(subscription).items() if k not in ("events", "created")}
        with self._writing() as conn:
            done = conn.execute(update(subscriptions).where(and_(subscriptions.c.client == subscription.client,
                                                                 subscriptions.c.id == subscription.id))
                                .values(**values))
        return bool(done.rowcount)

    def subscription(self, client: str, subscription_id: str) -> StoredSubscription | None:
        found = self._subscriptions(and_(subscriptions.c.client == client, subscriptions.c.id == subscription_id))
        return found[0] if found else None

    def of_client(self, client: str) -> list[StoredSubscription]:
        """The client's Subscriptions (only the submitter hears of its requests: spec-59)."""
        return self._subscriptions(subscriptions.c.client == client)

    def delivered(self, subscription_id: str) -> None:
        """A delivery was taken: the Subscription is active, its error count back to none."""
        with self._writing() as conn:
            conn.execute(update(subscriptions).where(subscriptions.c.id == subscription_id)
                         .values(status="active", errors=0, error=None))

    def failed(self, subscription_id: str, outcome: str) -> None:
        """A delivery failed on every attempt: the Subscription is in error (backport IG, handling errors)."""
        with self._writing() as conn:
            conn.execute(update(subscriptions).where(subscriptions.c.id == subscription_id)
                         .values(status="error", errors=subscriptions.c.errors + 1, error=outcome))

    def remove_subscription(self, client: str, subscription_id: str) -> bool:
        with self._writing() as conn:
            done = conn.execute(delete(subscriptions).where(and_(subscriptions.c.client == client,
                                                                 subscriptions.c.id == subscription_id)))
            if done.rowcount:
                conn.execute(delete(deliveries).where(deliveries.c.subscription == subscription_id))
        return bool(done.rowcount)

    def next_event(self, subscription_id: str) -> int:
        """The subscription's next event number (eventsSinceSubscriptionStart)."""
        with self._writing() as conn:
            count = conn.execute(select(subscriptions.c.events).where(subscriptions.c.id == subscription_id)).scalar()
            number = int(count or 0) + 1
            conn.execute(update(subscriptions).where(subscriptions.c.id == subscription_id).values(events=number))
        return number

    def _subscriptions(self, where: Any) -> list[StoredSubscription]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(subscriptions).where(where).order_by(subscriptions.c.created)).mappings().all()
        return [StoredSubscription.model_validate(_read(r)) for r in rows]

    # ---- deliveries ----

    def record_delivery(self, delivery: Delivery) -> None:
        """Log one attempt; drop what the bound leaves out of the Subscription's log."""
        with self._writing() as conn:
            conn.execute(insert(deliveries).values(**delivery.model_dump(mode="json")))
            mine = deliveries.c.subscription == delivery.subscription
            latest = select(func.max(deliveries.c.seq)).where(mine).group_by(deliveries.c.kind)
            newest = select(deliveries.c.seq).where(mine).order_by(deliveries.c.seq.desc()).limit(
                self.delivery_keep_rows)
            # Compared as stored: the same JSON form of a datetime.
            oldest = _INSTANT.dump_python(delivery.time - dt.timedelta(days=self.delivery_keep_days), mode="json")
            conn.execute(delete(deliveries).where(
                mine, deliveries.c.seq.not_in(latest),
                (deliveries.c.time < oldest) | deliveries.c.seq.not_in(newest)))

    def deliveries(self, subscription_id: str) -> list[Delivery]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(deliveries).where(deliveries.c.subscription == subscription_id)
                                .order_by(deliveries.c.seq)).mappings().all()
        return [Delivery.model_validate({k: v for k, v in r.items() if k != "seq"}) for r in rows]

    def close(self) -> None:
        self.engine.dispose()
