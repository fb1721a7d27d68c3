"""The audit trail on SQLite and on a real PostgreSQL server: records go in sealed, come back
as written, cannot be changed through the database, and any change made anyway is found."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from cds import knowledge
from cds.audit import AuditTrail, Source, StoreError, input_hash
from cds.audit.chain import GENESIS, Verification, row_hash
from cds.evaluate import read_input
from cds.evaluator import Evaluator
from cds.knowledge import default
from cds.facts import PatientFacts
from cds.fhir.record import build_records

from .audit_support import (AS_OF, ROOT, cds, drop_triggers, postgres_url, raw_sql, sqlite_url,  # noqa: F401
                            trail_url)
from .conftest import ICD, bundle, condition, medication_request, patient

pytestmark = pytest.mark.heavy

CLI = Source(kind="cli")


def _resources(pid: str = "p1") -> list[dict[str, Any]]:
    person = patient(pid, birth="1961-03-04")
    person["name"] = [{"family": "Doe", "given": ["Jane"]}]
    person["address"] = [{"line": ["12 Main Street"], "city": "Springfield"}]
    return [person, condition(f"{pid}-c", ICD, "G89.29", "Other chronic pain", pid=pid),
            medication_request(f"{pid}-m", "oxycodone hydrochloride 5 MG Oral Tablet", status="completed", pid=pid,
                               authoredOn="2026-01-05")]


def _append(trail: AuditTrail, pid: str = "p1") -> Any:
    resources = _resources(pid)
    record = build_records(read_input(bundle(*resources)))[0]
    evaluation = Evaluator(default()).assess(record, AS_OF)
    facts, assessment = evaluation.facts, evaluation.result
    return trail.append(source=CLI, input_hash=input_hash(resources), assessment=assessment, facts=facts)


def _verify(url: str) -> Verification:
    with AuditTrail.open(url) as trail:
        return trail.verify()


def _fill(url: str, count: int) -> list[Any]:
    with AuditTrail.open(url) as trail:
        return [_append(trail, f"p{n}") for n in range(count)]


def test_records_come_back_as_written(trail_url: str) -> None:
    with AuditTrail.open(trail_url) as trail:
        first = _append(trail, "p1")
        second = _append(trail, "p2")
        assert (first.seq, first.prev_hash) == (1, GENESIS)
        assert (second.seq, second.prev_hash) == (2, first.hash)
        again = trail.get(second.id)
        assert again == second
        assert trail.get("#1") == first
        assert trail.get(first.id[:8]) == first
        assert [r.id for r in trail.records()] == [first.id, second.id]
    assert again.patient == "Patient/p2"
    assert again.input_hash == input_hash(_resources("p2"))
    assert again.source == CLI
    assert set(again.rulesets) == set(knowledge.default().rulesets)
    assert again.patient_assessment().assessment("S9326").status == "eligible"
    # Enough to replay: the stored facts load back into the model the engine reads.
    assert again.patient_facts() == PatientFacts.model_validate(again.facts)


def test_records_hold_no_names_birth_dates_or_addresses(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    _fill(url, 1)
    stored = Path(url.removeprefix("sqlite:///")).read_bytes()
    raw_sql(url, "PRAGMA wal_checkpoint(FULL)")
    stored += Path(url.removeprefix("sqlite:///")).read_bytes()
    for private in (b"Jane", b"Doe", b"1961-03-04", b"Main Street", b"Springfield"):
        assert private not in stored
    with AuditTrail.open(url) as trail:
        record = trail.get("#1")
    assert record is not None and record.facts["patient"]["age_years"] == 65


def test_an_intact_trail_verifies_and_names_its_head(trail_url: str) -> None:
    records = _fill(trail_url, 3)
    with AuditTrail.open(trail_url) as trail:
        result = trail.verify()
        assert result.intact and result.records == 3 and result.head == records[-1].hash
        assert trail.verify(expected_head=records[-1].hash).intact
    done = cds("audit", "verify", "--audit-url", trail_url)
    assert done.returncode == 0, done.stderr
    assert f"intact: 3 record(s), head {records[-1].hash}" in done.stdout


def test_the_database_refuses_update_and_delete(trail_url: str) -> None:
    _fill(trail_url, 2)
    for statement in ("UPDATE audit_record SET patient = 'Patient/x' WHERE seq = 1",
                      "DELETE FROM audit_record WHERE seq = 2"):
        with pytest.raises(Exception, match="append-only"):
            raw_sql(trail_url, statement)
    with AuditTrail.open(trail_url) as trail:
        assert trail.verify().records == 2


def test_a_record_altered_in_the_database_is_found(trail_url: str) -> None:
    records = _fill(trail_url, 5)
    drop_triggers(trail_url)
    raw_sql(trail_url, "UPDATE audit_record SET assessment = replace(assessment, '\"eligible\"', '\"not-eligible\"') "
                       "WHERE seq = 3")
    with AuditTrail.open(trail_url) as trail:
        altered = trail.get("#3")
        assert altered is not None and altered.patient_assessment().assessment("S9326").status == "not-eligible"
        result = trail.verify()
    assert not result.intact and result.broken is not None
    assert (result.broken.seq, result.broken.id) == (3, records[2].id)
    assert "content altered" in result.broken.problem
    done = cds("audit", "verify", "--audit-url", trail_url)
    assert done.returncode == 1
    assert f"BROKEN: record #3 ({records[2].id}): content altered" in done.stdout


def test_a_resealed_record_still_breaks_the_next_link(trail_url: str) -> None:
    _fill(trail_url, 4)
    drop_triggers(trail_url)
    # An intruder who also rewrites the record's own hash is caught by the next record's link.
    raw_sql(trail_url, "UPDATE audit_record SET hash = CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END "
                       "|| substr(hash, 2) WHERE seq = 2")
    broken = _verify(trail_url).broken
    assert broken is not None and broken.seq == 2 and "content altered" in broken.problem
    with AuditTrail.open(trail_url) as trail:
        row = trail.store.row("#2")
    assert row is not None
    row["patient"] = "Patient/someone-else"
    drop_triggers(trail_url)  # opening the trail put them back
    raw_sql(trail_url, f"UPDATE audit_record SET patient = 'Patient/someone-else', hash = '{row_hash(row)}' WHERE seq = 2")
    broken = _verify(trail_url).broken
    assert broken is not None and broken.seq == 3 and "link broken" in broken.problem


def test_a_deleted_record_is_found(trail_url: str) -> None:
    _fill(trail_url, 4)
    drop_triggers(trail_url)
    raw_sql(trail_url, "DELETE FROM audit_record WHERE seq = 2")
    broken = _verify(trail_url).broken
    assert broken is not None and broken.seq == 3 and "missing" in broken.problem


def test_a_shortened_trail_is_found_with_the_head_kept_elsewhere(trail_url: str) -> None:
    records = _fill(trail_url, 3)
    drop_triggers(trail_url)
    raw_sql(trail_url, "DELETE FROM audit_record WHERE seq = 3")
    assert _verify(trail_url).intact
    done = cds("audit", "verify", "--audit-url", trail_url, "--head", records[-1].hash)
    assert done.returncode == 1
    assert "records were removed from the end" in done.stdout


def test_writers_in_two_processes_keep_one_chain(trail_url: str) -> None:
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.test_audit_trail import _fill
        _fill(sys.argv[1], 15)
    """)
    writers = [subprocess.Popen([sys.executable, "-c", script, trail_url]) for _ in range(2)]
    assert [w.wait() for w in writers] == [0, 0]
    with AuditTrail.open(trail_url) as trail:
        result = trail.verify()
        assert result.intact and result.records == 30
        assert [r.seq for r in trail.records()] == list(range(1, 31))


def test_an_unusable_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="sqlite:///PATH or postgresql://"):
        AuditTrail.open("mysql://localhost/x")
    done = cds("audit", "verify", "--audit-url", "mysql://localhost/x")
    assert done.returncode == 2 and "use sqlite:///PATH or postgresql://" in done.stderr


def test_the_default_trail_is_a_sqlite_file_named_by_the_environment(tmp_path: Path) -> None:
    # verify only reads: it names the trail it looked for rather than creating it.
    done = cds("audit", "verify", cwd=tmp_path)
    assert done.returncode == 2 and "no audit trail at sqlite:///cds-audit.sqlite" in done.stderr
    other = tmp_path / "other.sqlite"
    done = cds("audit", "verify", cwd=tmp_path, env={"CDS_AUDIT_URL": f"sqlite:///{other}"})
    assert done.returncode == 2 and f"no audit trail at sqlite:///{other}" in done.stderr
    with AuditTrail.open(f"sqlite:///{other}"):
        pass  # a writer creates it
    assert cds("audit", "verify", cwd=tmp_path, env={"CDS_AUDIT_URL": f"sqlite:///{other}"}).returncode == 0


def test_a_service_role_that_may_only_insert_and_select_can_keep_the_trail(postgres_url: str) -> None:
    _fill(postgres_url, 1)                                   # the owner sets the trail up
    role = f"cds_service_{uuid.uuid4().hex[:8]}"
    raw_sql(postgres_url, f"CREATE ROLE {role} LOGIN", f"GRANT SELECT, INSERT ON audit_record TO {role}")
    server, _, database = postgres_url.rpartition("/")
    service_url = f"postgresql://{role}@{server.rpartition('@')[2]}/{database}"
    try:
        _fill(service_url, 2)
        with AuditTrail.open(service_url) as trail:
            assert trail.verify().intact and len(trail) == 3
        with pytest.raises(Exception, match="must be owner"):
            raw_sql(service_url, "DROP TRIGGER audit_record_no_change ON audit_record")
        with pytest.raises(Exception, match="permission denied"):
            raw_sql(service_url, "UPDATE audit_record SET patient = 'Patient/x'")
    finally:
        raw_sql(postgres_url, f"DROP OWNED BY {role}", f"DROP ROLE {role}")
