"""Where the trail lives: one table in SQLite or PostgreSQL, through SQLAlchemy Core.

The table refuses UPDATE and DELETE (triggers), appends are serialised across processes
(SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), and a row's
`prev_hash` is unique, so two writers can never fork the chain.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (Column, Connection, Engine, Index, Integer, MetaData, String, Table, Text,
                        create_engine, event, func, inspect, select)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError

from ..private import create_private, open_private
from .chain import COLUMNS, GENESIS

DEFAULT_URL = "sqlite:///cds-audit.sqlite"
# A fixed key for pg_advisory_xact_lock: every writer of the trail takes the same lock.
_PG_LOCK = 0x0CD5A0D17

metadata = MetaData()
records = Table(
    "audit_record", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("id", String(36), nullable=False, unique=True),
    Column("time", String(40), nullable=False),
    Column("source", Text, nullable=False),
    Column("patient", String(200), nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("rulesets", Text, nullable=False),
    Column("assessment", Text, nullable=False),
    Column("facts", Text, nullable=False),
    Column("claim", Text, nullable=True),
    Column("unit_key", String(64), nullable=True),
    Column("item_key", String(64), nullable=True, unique=True),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False),
    Index("audit_record_patient", "patient"),
    Index("audit_record_unit_key", "unit_key"),
)

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS audit_record_no_update BEFORE UPDATE ON audit_record
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_record_no_delete BEFORE DELETE ON audit_record
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
]
_PG_FUNCTION = """CREATE OR REPLACE FUNCTION audit_record_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$"""
_PG_TRIGGERS = {
    "audit_record_no_change": """CREATE TRIGGER audit_record_no_change BEFORE UPDATE OR DELETE ON audit_record
       FOR EACH ROW EXECUTE FUNCTION audit_record_refuse()""",
    "audit_record_no_truncate": """CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_record
       FOR EACH STATEMENT EXECUTE FUNCTION audit_record_refuse()""",
}


class StoreError(Exception):
    """The trail's storage cannot be opened or used; the message says why."""


def engine_for(url: str) -> Engine:
    """An engine for sqlite:///PATH or postgresql://... (psycopg 3)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r} (use sqlite:///PATH or postgresql://...)") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return create_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    if backend != "sqlite":
        raise StoreError(f"unsupported audit URL {parsed.render_as_string()!r}: use sqlite:///PATH or postgresql://...")
    if not parsed.database or parsed.database == ":memory:":
        raise StoreError("an audit trail needs a file: sqlite:///PATH")
    engine = create_engine(parsed, connect_args={"timeout": 60})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling defers it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a killed process loses nothing committed; only power loss can.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Writers take the write lock up front, so "read the last hash, then insert" is atomic.
    mode = "IMMEDIATE" if connection.get_execution_options().get("write") else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


class Store:
    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.engine = engine_for(url)
        self.dialect = self.engine.dialect.name
        if not create and not self._exists():
            # A reader must not create what it was asked to check: a misspelt path would
            # otherwise "verify" as an intact, empty trail.
            self.engine.dispose()
            raise StoreError(f"no audit trail at {self.safe_url}")
        if self.dialect == "sqlite":
            # Before SQLite makes it (and its -wal and -shm files, which take its mode): 0600.
            try:
                create_private(make_url(self.url).database or "")
            except OSError as exc:
                self.engine.dispose()
                raise StoreError(f"cannot create the audit trail at {self.safe_url}: {exc.strerror}") from None
        with self.writing() as conn:
            metadata.create_all(conn)
            for statement in self._missing_triggers(conn):
                conn.exec_driver_sql(statement)

    def _exists(self) -> bool:
        if self.dialect == "sqlite":
            database = make_url(self.url).database or ""
            if not Path(database).is_file():
                return False
        with self.readable(), self.engine.connect() as conn:
            return inspect(conn).has_table(records.name)

    def _missing_triggers(self, conn: Connection) -> list[str]:
        """DDL for the triggers that are not there (a role that may only insert and select
        can open a trail whose owner set it up)."""
        if self.dialect == "sqlite":
            return _SQLITE_TRIGGERS
        present = {r[0] for r in conn.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_record'::regclass")}
        missing = [ddl for name, ddl in _PG_TRIGGERS.items() if name not in present]
        return [_PG_FUNCTION, *missing] if missing else []

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def readable(self) -> Iterator[None]:
        """Database errors as StoreError, in one line: a trail file truncated, overwritten or not
        SQLite at all, or a table missing a column, is named as such, never a traceback."""
        try:
            yield
        except DatabaseError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
            raise StoreError(f"cannot use the audit trail at {self.safe_url}: {reason}") from None

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction that holds the trail's write lock until it commits."""
        with self.readable(), self._writer_queue(), self.engine.connect() as conn:
            conn = conn.execution_options(write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK)))
                yield conn

    @contextmanager
    def _writer_queue(self) -> Iterator[None]:
        """SQLite: writers of all processes wait in turn on an OS file lock next to the trail.

        SQLite's own busy handler sleeps with back-off (up to 100 ms a try) while another
        process holds the write lock; that sleep was the p95 tail of order-sign with two
        workers. flock wakes the next writer as soon as the lock is released.
        """
        if self.dialect != "sqlite":
            yield
            return
        database = make_url(self.url).database or ""
        lock = open_private(f"{database}.write-lock")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        finally:
            os.close(lock)

    def head(self, conn: Connection) -> tuple[int, str]:
        """The last record's number and hash (0 and the genesis hash for an empty trail)."""
        last = conn.execute(select(records.c.seq, records.c.hash).order_by(records.c.seq.desc()).limit(1)).first()
        return (int(last[0]), str(last[1])) if last else (0, GENESIS)

    def insert(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if rows:
            conn.execute(records.insert(), rows)

    def existing_units(self, conn: Connection, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            query = select(records.c.unit_key).where(records.c.unit_key.in_(keys[start:start + 500])).distinct()
            found.update(r[0] for r in conn.execute(query))
        return found

    def unit_keys(self) -> set[str]:
        with self.readable(), self.engine.connect() as conn:
            rows = conn.execute(select(records.c.unit_key).where(records.c.unit_key.is_not(None)).distinct())
            return {r[0] for r in rows}

    def rows(self, batch: int = 500) -> Iterator[dict[str, Any]]:
        """Every row in seq order, read in pages so a long trail never sits in memory."""
        after = 0
        while True:
            with self.readable(), self.engine.connect() as conn:
                page = conn.execute(
                    select(*[records.c[c] for c in COLUMNS]).where(records.c.seq > after)
                    .order_by(records.c.seq).limit(batch)
                ).mappings().all()
            if not page:
                return
            for row in page:
                yield dict(row)
            after = page[-1]["seq"]

    def row(self, key: str) -> dict[str, Any] | None:
        """A row by id, by a unique id prefix, or by #seq."""
        with self.readable(), self.engine.connect() as conn:
            query = select(*[records.c[c] for c in COLUMNS])
            if key.startswith("#"):
                if not key[1:].isdigit():
                    return None
                found = conn.execute(query.where(records.c.seq == int(key[1:]))).mappings().all()
            else:
                found = conn.execute(query.where(records.c.id.startswith(key, autoescape=True)).limit(2)).mappings().all()
        if len(found) != 1:
            return None
        return dict(found[0])

    def count(self) -> int:
        with self.readable(), self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(records)).scalar_one())

    def close(self) -> None:
        self.engine.dispose()
