"""Card feedback (accepted, overridden) kept in SQLite, one row per outcome.

A connection per operation: workers are separate processes and FastAPI runs sync work in a
thread pool, and SQLite connections must not cross threads. WAL lets readers and one writer
work at once.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..private import create_private

NonEmpty = Field(min_length=1)
# Service id -> the hook it answers (the ids discovery lists and feedback is stored under).
SERVICE_HOOKS = {
    "home-infusion-patient-view": "patient-view",
    "home-infusion-order-select": "order-select",
    "home-infusion-order-sign": "order-sign",
}


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Coding(_Open):
    system: str = NonEmpty
    code: str = NonEmpty
    display: str | None = None


class OverrideReason(_Open):
    reason: Coding | None = None
    userComment: str | None = None


class AcceptedSuggestion(_Open):
    id: str = NonEmpty


class FeedbackItem(_Open):
    card: str = NonEmpty
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: dt.datetime


_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    received TEXT NOT NULL,
    service TEXT NOT NULL,
    card TEXT NOT NULL,
    outcome TEXT NOT NULL,
    outcome_timestamp TEXT NOT NULL,
    accepted_suggestions TEXT,
    override_system TEXT,
    override_code TEXT,
    override_display TEXT,
    user_comment TEXT
)
"""


def connect(path: Path) -> sqlite3.Connection:
    # SQLite makes its -wal and -shm files with the database file's mode.
    create_private(path)
    connection = sqlite3.connect(path, timeout=5.0, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        with closing(connect(path)) as db:
            db.execute(_SCHEMA)

    def add(self, service: str, items: list[FeedbackItem]) -> None:
        received = dt.datetime.now(dt.UTC).isoformat()
        rows = [_row(received, service, item) for item in items]
        with closing(connect(self.path)) as db:
            # One transaction: a body's outcomes are stored together or not at all.
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO feedback (received, service, card, outcome, outcome_timestamp, accepted_suggestions, "
                "override_system, override_code, override_display, user_comment) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            db.execute("COMMIT")

    def all(self) -> list[dict[str, Any]]:
        return self._select("SELECT * FROM feedback ORDER BY id", ())

    def for_cards(self, cards: list[str]) -> list[dict[str, Any]]:
        """The outcomes recorded for these cards, oldest first."""
        marks = ",".join("?" * len(cards))
        return self._select(f"SELECT * FROM feedback WHERE card IN ({marks}) ORDER BY id", tuple(cards)) if cards else []

    def _select(self, query: str, parameters: tuple[Any, ...]) -> list[dict[str, Any]]:
        with closing(connect(self.path)) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(query, parameters).fetchall()
        result = []
        for row in rows:
            record = {k: row[k] for k in row.keys() if row[k] is not None}
            if "accepted_suggestions" in record:
                record["accepted_suggestions"] = json.loads(record["accepted_suggestions"])
            result.append(record)
        return result


def _row(received: str, service: str, item: FeedbackItem) -> tuple[Any, ...]:
    reason = item.overrideReason.reason if item.overrideReason else None
    accepted = [s.id for s in item.acceptedSuggestions or []]
    return (
        received, service, item.card, item.outcome, item.outcomeTimestamp.isoformat(),
        json.dumps(accepted) if accepted else None,
        reason.system if reason else None, reason.code if reason else None,
        reason.display if reason else None,
        item.overrideReason.userComment if item.overrideReason else None,
    )
