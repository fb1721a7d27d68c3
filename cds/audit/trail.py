"""The audit trail: append sealed records, read them back, check the chain.

The service and the CLI use this API:

    trail = AuditTrail.open(url)              # sqlite:///PATH or postgresql://...
    trail.append(source=Source(kind="hook", hook="order-sign", hook_instance="..."),
                 input_hash=input_hash(resources), assessment=result, facts=facts)
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from ..facts import PatientFacts
from ..models import PatientAssessment
from .chain import GENESIS, Checked, Verification, check_row, check_rows, seal, to_record, verify
from .models import AuditRecord, ClaimLine, Entry, Source
from .store import DEFAULT_URL, Store

URL_VARIABLE = "CDS_AUDIT_URL"


def default_url() -> str:
    return os.environ.get(URL_VARIABLE) or DEFAULT_URL


class AuditTrail:
    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, url: str | None = None, *, create: bool = True) -> "AuditTrail":
        """Open the trail at url (default $CDS_AUDIT_URL or ./cds-audit.sqlite); create=False:
        StoreError when there is none (commands that only read)."""
        return cls(Store(url or default_url(), create=create))

    @property
    def url(self) -> str:
        return self.store.safe_url

    def append(
        self,
        *,
        source: Source,
        input_hash: str,
        assessment: PatientAssessment,
        facts: PatientFacts,
        claim: ClaimLine | None = None,
    ) -> AuditRecord:
        """Append one evaluation; returns the sealed record (its id goes on cards and logs)."""
        entry = Entry.of(source=source, input_hash=input_hash, assessment=assessment, facts=facts, claim=claim)
        return self.append_entries([entry])[0]

    def append_entries(self, entries: Sequence[Entry]) -> list[AuditRecord]:
        """Append entries in one transaction: all of them are written, or none."""
        with self.store.writing() as conn:
            rows = self._chain(conn, entries)
        return [to_record(r) for r in rows]

    def append_units(self, units: Sequence[tuple[str, Sequence[Entry]]]) -> set[str]:
        """Append batch units (unit_key, entries) in one transaction, skipping units already
        in the trail (another run may have written them meanwhile); returns the keys written."""
        with self.store.writing() as conn:
            present = self.store.existing_units(conn, [key for key, _ in units])
            fresh = [(key, entries) for key, entries in units if key not in present]
            self._chain(conn, [e for _, entries in fresh for e in entries])
        return {key for key, _ in fresh}

    def _chain(self, conn: Connection, entries: Sequence[Entry]) -> list[dict[str, Any]]:
        """Seal entries after the current head and insert them (inside a writing() transaction)."""
        seq, prev = self.store.head(conn)
        rows = []
        for entry in entries:
            seq += 1
            row = _seal(entry, seq, prev)
            rows.append(row)
            prev = row["hash"]
        self.store.insert(conn, rows)
        return rows

    def unit_keys(self) -> set[str]:
        return self.store.unit_keys()

    def records(self) -> Iterator[AuditRecord]:
        for row in self.store.rows():
            yield to_record(row)

    def get(self, key: str) -> AuditRecord | None:
        """A record by id (or a unique prefix of it) or by its number (#12)."""
        row = self.store.row(key)
        return to_record(row) if row is not None else None

    def checked_records(self) -> Iterator[Checked]:
        """Every record, each verified: what the audit commands read (a bad one does not stop them)."""
        return check_rows(self.store.rows())

    def checked(self, key: str) -> Checked | None:
        """One record (id, unique prefix or #N), verified against the record before it."""
        row = self.store.row(key)
        if row is None:
            return None
        before = self.store.row(f"#{int(row['seq']) - 1}") if int(row["seq"]) > 1 else None
        return check_row(row, str(before["hash"]) if before is not None else GENESIS)

    def verify(self, expected_head: str | None = None) -> Verification:
        return verify(self.store.rows(), expected_head)

    def __len__(self) -> int:
        return self.store.count()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "AuditTrail":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _seal(entry: Entry, seq: int, prev: str) -> dict[str, Any]:
    time = dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")
    return seal(entry, seq=seq, record_id=str(uuid.uuid4()), time=time, prev_hash=prev)
