"""Completed QuestionnaireResponses, kept in SQLite beside card feedback (one row each), each
linked to the CRD coverage-assertion-id (the audit record) it answers.

A connection per operation, as cds/web/feedback.py: workers are processes, handlers threads.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..web.feedback import connect

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
    resource TEXT NOT NULL
)
"""
_INDEX = "CREATE INDEX IF NOT EXISTS questionnaire_response_patient ON questionnaire_response (patient)"


class StoredResponse(BaseModel):
    id: str
    patient: str
    therapy: str
    assertion_id: str
    orders: list[str]
    status: str
    authored: dt.date
    resource: dict[str, Any]


class ResponseStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(connect(path)) as db:
            db.execute(_SCHEMA)
            db.execute(_INDEX)

    def add(self, response: StoredResponse) -> None:
        with closing(connect(self.path)) as db:
            db.execute(
                "INSERT INTO questionnaire_response (id, received, patient, therapy, assertion_id, orders, status, "
                "authored, resource) VALUES (?,?,?,?,?,?,?,?,?)",
                (response.id, dt.datetime.now(dt.UTC).isoformat(), response.patient, response.therapy,
                 response.assertion_id, json.dumps(response.orders), response.status,
                 response.authored.isoformat(), json.dumps(response.resource)))

    def get(self, response_id: str) -> StoredResponse | None:
        found = self._select("SELECT * FROM questionnaire_response WHERE id = ?", (response_id,))
        return found[0] if found else None

    def for_patient(self, patient: str) -> list[StoredResponse]:
        """The patient's responses, oldest first."""
        return self._select("SELECT * FROM questionnaire_response WHERE patient = ? ORDER BY seq", (patient,))

    def _select(self, query: str, parameters: tuple[Any, ...]) -> list[StoredResponse]:
        with closing(connect(self.path)) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(query, parameters).fetchall()
        return [StoredResponse(id=r["id"], patient=r["patient"], therapy=r["therapy"], assertion_id=r["assertion_id"],
                               orders=json.loads(r["orders"]), status=r["status"],
                               authored=dt.date.fromisoformat(r["authored"]), resource=json.loads(r["resource"]))
                for r in rows]
