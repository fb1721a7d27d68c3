"""A damaged trail is named, never a traceback: every audit command answers a trail file that is
truncated, overwritten or not SQLite, or a table missing a column, with one line and exit 2, and a
record it can read but that is malformed (a BLOB in a column; content edited and re-hashed so the
chain holds) with the "record #N fails verification" it gives for any altered record."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cds.audit import AuditTrail
from cds.audit.chain import COLUMNS, GENESIS, row_hash
from cds.cli import main

from .audit_support import AS_OF, bundles, drop_triggers, raw_sql
from .test_audit_verification import _fill

RECORDS = 5


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trail of five records, written once; each test damages its own copy."""
    path = tmp_path_factory.mktemp("pristine") / "trail.sqlite"
    _fill(f"sqlite:///{path}", RECORDS)
    return path


@pytest.fixture
def trail(pristine: Path, tmp_path: Path) -> Path:
    path = tmp_path / "trail.sqlite"
    shutil.copy(pristine, path)
    return path


def _overwrite(path: Path) -> None:
    path.write_text("these are not the records you are looking for\n" * 50)


def _truncate(path: Path) -> None:
    # The header names more pages than the file now holds.
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3])


def _zero_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = bytes(100)
    path.write_bytes(bytes(data))


def _drop_column(path: Path) -> None:
    raw_sql(f"sqlite:///{path}", "ALTER TABLE audit_record DROP COLUMN facts")


FILE_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "overwritten with text": (_overwrite, "file is not a database"),
    "truncated": (_truncate, "malformed"),
    "header zeroed": (_zero_header, "file is not a database"),
    "a column dropped": (_drop_column, "facts"),
}

COMMANDS = {
    "verify": ["verify"],
    "show": ["show", "#3"],
    "replay": ["replay", "#3"],
    "report": ["report", "--out", "{tmp}/r.html", "--csv", "{tmp}/r.csv"],
}


def _cds(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _audit(capsys: pytest.CaptureFixture[str], command: str, path: Path, tmp: Path) -> tuple[int, str, str]:
    args = [a.format(tmp=tmp) for a in COMMANDS[command]]
    return _cds(capsys, "audit", *args, "--audit-url", f"sqlite:///{path}")


@pytest.mark.parametrize("command", [*COMMANDS, "run", "evaluate --audit"])
@pytest.mark.parametrize("damage", list(FILE_DAMAGE))
def test_a_damaged_trail_file_is_one_line_naming_it_and_exit_2(
        trail: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, command: str) -> None:
    damaged, reason = FILE_DAMAGE[damage]
    damaged(trail)
    if command == "run":
        code, out, err = _cds(capsys, "audit", "run", str(bundles(tmp_path, 1)), "--as-of", AS_OF.isoformat(),
                              "--workers", "0", "--no-progress", "--audit-url", f"sqlite:///{trail}")
    elif command == "evaluate --audit":
        code, out, err = _cds(capsys, "evaluate", str(bundles(tmp_path, 1)), "--as-of", AS_OF.isoformat(),
                              "--audit", "--audit-url", f"sqlite:///{trail}")
    else:
        code, out, err = _audit(capsys, command, trail, tmp_path)
    assert code == 2
    assert err.splitlines() == [f"cds: audit-url: cannot use the audit trail at sqlite:///{trail}: "
                                + err.split(": ", 3)[-1].rstrip()]
    assert reason in err
    if command != "evaluate --audit":
        assert out == ""


def _rehash(path: Path, edit: str) -> None:
    """Edit record #3 as an intruder who knows the scheme would, then re-seal it and every record
    after it so that the chain verifies."""
    url = f"sqlite:///{path}"
    drop_triggers(url)
    raw_sql(url, edit)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        previous = GENESIS
        for row in conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_record ORDER BY seq").fetchall():
            sealed = {**dict(row), "prev_hash": previous}
            sealed["hash"] = row_hash(sealed)
            conn.execute("UPDATE audit_record SET prev_hash = ?, hash = ? WHERE seq = ?",
                         (sealed["prev_hash"], sealed["hash"], row["seq"]))
            previous = sealed["hash"]
        conn.commit()
    finally:
        conn.close()


def _blob(column: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        drop_triggers(f"sqlite:///{path}")
        raw_sql(f"sqlite:///{path}", f"UPDATE audit_record SET {column} = X'00ff' WHERE seq = 3")
    return damage


RECORD_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    **{f"a BLOB in {column}": (_blob(column), f"column {column} holds binary data (a BLOB), not text")
       for column in COLUMNS[1:]},
    "an assessment that is JSON but not an assessment, re-hashed": (
        lambda p: _rehash(p, "UPDATE audit_record SET assessment = '{\"assessments\": 5}' WHERE seq = 3"),
        "unreadable: "),
    "a status no assessment has, re-hashed": (
        lambda p: _rehash(p, "UPDATE audit_record SET assessment = replace(assessment, '\"eligible\"', "
                             "'\"maybe\"') WHERE seq = 3"),
        "unreadable: "),
    "facts that are not facts, re-hashed": (
        lambda p: _rehash(p, "UPDATE audit_record SET facts = '{\"patient\": 5}' WHERE seq = 3"), "unreadable: "),
}
# Every command meets these; verify alone meets a BLOB in each of the other columns.
EVERY_COMMAND = ["a BLOB in assessment", "an assessment that is JSON but not an assessment, re-hashed",
                 "a status no assessment has, re-hashed", "facts that are not facts, re-hashed"]


@pytest.mark.parametrize(("damage", "command"), [(d, c) for d in RECORD_DAMAGE for c in COMMANDS
                                                  if d in EVERY_COMMAND or c == "verify"])
def test_a_malformed_record_fails_verification_in_every_command(
        trail: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, command: str) -> None:
    damaged, reason = RECORD_DAMAGE[damage]
    damaged(trail)
    code, out, err = _audit(capsys, command, trail, tmp_path)
    assert code == 1
    failure = next(line for line in (out + err).splitlines() if "fails verification" in line)
    assert failure.removeprefix("cds: ").startswith("record #3 fails verification: ")
    assert reason in failure
    if command == "replay":
        assert out == ""   # a malformed record is never replayed


def test_the_records_around_a_malformed_one_still_read(trail: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    RECORD_DAMAGE["facts that are not facts, re-hashed"][0](trail)
    assert _audit(capsys, "report", trail, tmp_path)[1].endswith(
        f"({RECORDS - 1} record(s), {RECORDS - 1} patient(s), 1 failing verification); csv: {tmp_path}/r.csv\n")
    code, out, _ = _cds(capsys, "audit", "replay", "#4", "--audit-url", f"sqlite:///{trail}")
    assert code == 0 and "no change" in out
    with AuditTrail.open(f"sqlite:///{trail}", create=False) as opened:
        assert len(opened) == RECORDS
