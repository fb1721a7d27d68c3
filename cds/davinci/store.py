"""Completed QuestionnaireResponses and the packages they answer, kept in SQLite beside card
feedback (one row each).

Both belong to a client (the JWT issuer; with authentication off the one anonymous client): a
package is recorded when `$questionnaire-package` hands it to that client, and a response is
stored only for a package issued to the client that posts it, and read only by that client.

A connection per operation, as cds/service/feedback.py: workers are processes, handlers threads.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..service.feedback import connect

# `client` and `version` are NULL on rows stored before answers were bound to a client and a
# Questionnaire version: such rows are kept (nothing is lost) but never read.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS questionnaire_response (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    received TEXT NOT NULL,
    patient TEXT NOT NULL,
    therapy TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    orders TEXT NOT NULL,
    status TEXT NOT NULL,
    authored TEXT NOT NULL,
    resource TEXT NOT NULL,
    client TEXT,
    version TEXT
)
"""
_ADDED_COLUMNS = ("client", "version")
_INDEX = ("CREATE INDEX IF NOT EXISTS questionnaire_response_client_patient "
          "ON questionnaire_response (client, patient)")
_PACKAGES = """
CREATE TABLE IF NOT EXISTS dtr_package (
    client TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    therapy TEXT NOT NULL,
    patient TEXT NOT NULL,
    version TEXT NOT NULL,
    orders TEXT NOT NULL,
    as_of TEXT NOT NULL,
    issued TEXT NOT NULL,
    PRIMARY KEY (client, assertion_id, therapy)
)
"""
READ_STATUSES = frozenset({"completed", "amended"})


class IssuedPackage(BaseModel):
    """A package this service handed to a client: the answers it may receive are about this
    patient, these orders and this Questionnaire version."""

    client: str
    assertion_id: str
    therapy: str
    patient: str
    version: str
    orders: list[str]
    as_of: dt.date


class StoredResponse(BaseModel):
    id: str
    patient: str
    therapy: str
    assertion_id: str
    orders: list[str]
    status: str
    authored: dt.date
    resource: dict[str, Any]
    client: str = ""
    # The Questionnaire version the answers were given to.
    version: str = ""


class ResponseStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(connect(path)) as db:
            # One writer at a time: workers starting together must not both add a column.
            db.execute("BEGIN IMMEDIATE")
            db.execute(_SCHEMA)
            _add_columns(db)
            db.execute(_INDEX)
            db.execute(_PACKAGES)
            db.execute("COMMIT")

    def issue(self, packages: list[IssuedPackage]) -> None:
        """Record packages handed out (again: the latest issue counts)."""
        issued = dt.datetime.now(dt.UTC).isoformat()
        with closing(connect(self.path)) as db:
            db.executemany(
                "INSERT OR REPLACE INTO dtr_package (client, assertion_id, therapy, patient, version, orders, as_of, "
                "issued) VALUES (?,?,?,?,?,?,?,?)",
                [(p.client, p.assertion_id, p.therapy, p.patient, p.version, json.dumps(p.orders),
                  p.as_of.isoformat(), issued) for p in packages])

    def package(self, client: str, assertion_id: str, therapy: str) -> IssuedPackage | None:
        with closing(connect(self.path)) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM dtr_package WHERE client = ? AND assertion_id = ? AND therapy = ?",
                             (client, assertion_id, therapy)).fetchone()
        if row is None:
            return None
        return IssuedPackage(client=row["client"], assertion_id=row["assertion_id"], therapy=row["therapy"],
                             patient=row["patient"], version=row["version"], orders=json.loads(row["orders"]),
                             as_of=dt.date.fromisoformat(row["as_of"]))

    def add(self, response: StoredResponse, keep: int) -> None:
        """Store the response; then keep at most `keep` of the client's responses about the
        patient: the newest, and always the latest completed one of each Questionnaire."""
        with closing(connect(self.path)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO questionnaire_response (id, received, patient, therapy, assertion_id, orders, status, "
                "authored, resource, client, version) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (response.id, dt.datetime.now(dt.UTC).isoformat(), response.patient, response.therapy,
                 response.assertion_id, json.dumps(response.orders), response.status,
                 response.authored.isoformat(), json.dumps(response.resource), response.client, response.version))
            rows = db.execute("SELECT seq, therapy, status FROM questionnaire_response WHERE client = ? "
                              "AND patient = ? ORDER BY seq DESC", (response.client, response.patient)).fetchall()
            db.executemany("DELETE FROM questionnaire_response WHERE seq = ?",
                           [(seq,) for seq in _dropped(rows, keep)])
            db.execute("COMMIT")

    def get(self, response_id: str) -> StoredResponse | None:
        found = self._select("SELECT * FROM questionnaire_response WHERE id = ?", (response_id,))
        return found[0] if found else None

    def for_patient(self, client: str, patient: str) -> list[StoredResponse]:
        """The client's responses about the patient, in the order received."""
        return self._select("SELECT * FROM questionnaire_response WHERE client = ? AND patient = ? ORDER BY seq",
                            (client, patient))

    def _select(self, query: str, parameters: tuple[Any, ...]) -> list[StoredResponse]:
        with closing(connect(self.path)) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(query, parameters).fetchall()
        return [StoredResponse(id=r["id"], patient=r["patient"], therapy=r["therapy"], assertion_id=r["assertion_id"],
                               orders=json.loads(r["orders"]), status=r["status"],
                               authored=dt.date.fromisoformat(r["authored"]), resource=json.loads(r["resource"]),
                               client=r["client"] or "", version=r["version"] or "")
                for r in rows]


def _dropped(rows: list[Any], keep: int) -> list[int]:
    """The seq of rows (newest first: seq, therapy, status) beyond the newest `keep`, sparing
    the latest completed response of each Questionnaire: a client saving drafts must not push
    out the answer that counts."""
    spared: dict[str, int] = {}
    for seq, therapy, status in rows:
        if status in READ_STATUSES:
            spared.setdefault(therapy, seq)
    room = max(0, keep - len(spared))
    others = [seq for seq, _, _ in rows if seq not in spared.values()]
    return others[room:]


def _add_columns(db: sqlite3.Connection) -> None:
    """Bring a file made by an earlier version up to this schema, keeping its rows."""
    present = {row[1] for row in db.execute("PRAGMA table_info(questionnaire_response)")}
    for column in _ADDED_COLUMNS:
        if column not in present:
            db.execute(f"ALTER TABLE questionnaire_response ADD COLUMN {column} TEXT")
