"""The hash chain: how a record is sealed, and how a trail is checked.

Each stored row carries the hash of the row before it and its own hash over every other
column, exactly as stored (JSON columns are hashed as their stored text). Changing any byte of
a row breaks its own hash; removing or inserting a row breaks the next row's link. Rewriting a
row *and* every hash after it is not detectable from the trail alone: keep the head hash that
`verify` prints somewhere else and pass it back (`--head`) to catch that too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from .canonical import canonical, sha256
from .models import AuditRecord, Entry

GENESIS = "0" * 64
JSON_COLUMNS = ("source", "rulesets", "assessment", "facts", "claim")
COLUMNS = ("seq", "id", "time", "source", "patient", "input_hash", "as_of", "rulesets",
           "assessment", "facts", "claim", "unit_key", "item_key", "prev_hash", "hash")

Row = Mapping[str, Any]


def row_hash(row: Row) -> str:
    return sha256(canonical({k: row[k] for k in COLUMNS if k != "hash"}))


def seal(entry: Entry, *, seq: int, record_id: str, time: str, prev_hash: str) -> dict[str, Any]:
    """The row to store for an entry at position seq after a record whose hash is prev_hash."""
    data = entry.model_dump(mode="json", by_alias=True)
    row: dict[str, Any] = {
        "seq": seq, "id": record_id, "time": time, "patient": entry.patient,
        "input_hash": entry.input_hash, "as_of": entry.as_of.isoformat(),
        "unit_key": entry.unit_key, "item_key": entry.item_key, "prev_hash": prev_hash,
    }
    for column in JSON_COLUMNS:
        value = data[column]
        row[column] = None if value is None else canonical(value).decode()
    row["hash"] = row_hash(row)
    return row


def to_record(row: Row) -> AuditRecord:
    data = {k: row[k] for k in COLUMNS}
    for column in JSON_COLUMNS:
        if data[column] is not None:
            data[column] = orjson.loads(data[column])
    return AuditRecord.model_validate(data)


def _shape(row: Row) -> str | None:
    """What is wrong with a row's column types, or None: the number is an integer, every other
    column text (or empty). A BLOB, a number where text was written, cannot be what was sealed."""
    if type(row["seq"]) is not int:
        return f"its number is {_kind(row['seq'])}, not an integer"
    for column in COLUMNS[1:]:
        value = row[column]
        if value is not None and not isinstance(value, str):
            return f"column {column} holds {_kind(value)}, not text"
    return None


def _kind(value: object) -> str:
    return "binary data (a BLOB)" if isinstance(value, (bytes, bytearray, memoryview)) else f"a {type(value).__name__}"


def read_record(row: Row) -> AuditRecord:
    """The record a sealed row holds, with everything the commands read of it checked: its
    assessment and facts as the models they are read as, and a claim line's therapy among the
    assessed ones. ValueError (pydantic's included) when any of it is malformed."""
    record = to_record(row)
    assessment = record.patient_assessment()
    record.patient_facts()
    if record.claim is not None and record.claim.code not in {a.therapy for a in assessment.assessments}:
        raise ValueError(f"its claim line's therapy {record.claim.code[:20]!r} is not among its assessments")
    return record


def _unreadable(row: Row) -> tuple[AuditRecord | None, str | None]:
    try:
        return read_record(row), None
    except (ValueError, TypeError) as exc:   # orjson's and pydantic's errors are ValueErrors
        return None, f"unreadable: {_first_line(exc)}"


def _first_line(exc: Exception) -> str:
    lines = str(exc).splitlines()
    if isinstance(exc, ValidationError) and len(lines) > 1:
        # "1 validation error for X" alone does not say what: the field and the reason do.
        # The reason without pydantic's "[type=..., input_value=...]": the stored value is not echoed.
        reason = lines[2].split(" [type=", 1)[0].strip()[:120] if len(lines) > 2 else ""
        return f"{lines[0]}: {lines[1].strip()[:120]}" + (f" ({reason})" if reason else "")
    return lines[0] if lines else type(exc).__name__


@dataclass(frozen=True)
class Break:
    """The first place where the trail is not what was written."""

    seq: int
    id: str
    problem: str

    def __str__(self) -> str:
        return f"record #{self.seq} ({self.id}): {self.problem}"


@dataclass(frozen=True)
class Verification:
    records: int
    head: str
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(rows: Iterable[Row], expected_head: str | None = None) -> Verification:
    """Walk the rows in seq order; stop at the first broken or altered one."""
    previous, count = GENESIS, 0
    for row in rows:
        count += 1
        seq, record_id = int(row["seq"]), str(row["id"])
        problem = _problem(row, count, previous)
        if problem:
            return Verification(count - 1, previous, Break(seq, record_id, problem))
        previous = str(row["hash"])
    if expected_head is not None and expected_head != previous:
        where = Break(count, "-", f"the trail ends at head {previous[:16]}..., expected {expected_head[:16]}...: "
                                   "records were removed from the end or the trail was rewritten")
        return Verification(count, previous, where)
    return Verification(count, previous, None)


def _problem(row: Row, position: int, previous: str) -> str | None:
    if (shape := _shape(row)) is not None:
        return shape
    if int(row["seq"]) != position:
        return f"expected record #{position} here: {abs(int(row['seq']) - position)} record(s) missing or inserted"
    if row["prev_hash"] != previous:
        return "link broken: its previous-record hash does not match the record before it"
    if row_hash(row) != row["hash"]:
        return "content altered: its hash does not match what it holds"
    return _unreadable(row)[1]


@dataclass(frozen=True)
class Checked:
    """One record as read back, verified on its own: the record, or why it fails."""

    seq: int
    id: str
    record: AuditRecord | None
    problem: str | None

    @property
    def failure(self) -> str | None:
        """'record #N fails verification: ...' (what every audit command prints), or None."""
        return None if self.problem is None else f"record #{self.seq} fails verification: {self.problem}"


def check_row(row: Row, previous: str) -> Checked:
    """Verify one row against the hash of the row stored before it (GENESIS for the first)."""
    seq, record_id = int(row["seq"]), str(row["id"])
    if (shape := _shape(row)) is not None:
        return Checked(seq, record_id, None, shape)
    if row["prev_hash"] != previous:
        return Checked(seq, record_id, None, "link broken: its previous-record hash does not match the record before it")
    if row_hash(row) != row["hash"]:
        return Checked(seq, record_id, None, "content altered: its hash does not match what it holds")
    record, problem = _unreadable(row)
    return Checked(seq, record_id, record, problem)


def check_rows(rows: Iterable[Row]) -> Iterator[Checked]:
    """Every row in seq order, each verified; a bad row is reported and the walk goes on.

    Each link is checked against the hash the previous row *stores*, so one altered row
    fails alone and the intact rows after it still verify.
    """
    previous = GENESIS
    for row in rows:
        yield check_row(row, previous)
        previous = str(row["hash"])
