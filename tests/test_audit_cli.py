"""`cds evaluate --audit` and `cds audit show`: what a user of the command line sees."""

from __future__ import annotations

import json
from pathlib import Path

from cds.audit import AuditTrail

from .audit_support import AS_OF, bundles, cds, sqlite_url


def test_evaluate_with_audit_prints_the_same_and_records_each_patient(tmp_path: Path) -> None:
    folder = bundles(tmp_path, 3)
    plain = cds("evaluate", str(folder), "--as-of", AS_OF.isoformat())
    url = sqlite_url(tmp_path)
    audited = cds("evaluate", str(folder), "--as-of", AS_OF.isoformat(), "--audit", "--audit-url", url)
    assert audited.returncode == 0, audited.stderr
    assert audited.stdout == plain.stdout
    assert f"3 audit record(s) appended to {url}" in audited.stderr
    with AuditTrail.open(url) as trail:
        records = list(trail.records())
    assert [r.patient for r in records] == ["Patient/synth-000000", "Patient/synth-000001", "Patient/synth-000002"]
    assert all(r.source.kind == "cli" and r.claim is None for r in records)
    printed = [json.loads(line) for line in plain.stdout.splitlines()]
    assert [r.assessment for r in records] == printed


def test_evaluate_without_audit_writes_no_trail(tmp_path: Path) -> None:
    done = cds("evaluate", str(bundles(tmp_path, 1)), "--as-of", AS_OF.isoformat(), cwd=tmp_path)
    assert done.returncode == 0 and not (tmp_path / "cds-audit.sqlite").exists()


def test_bad_input_with_audit_records_nothing(tmp_path: Path) -> None:
    folder = bundles(tmp_path, 2)
    (folder / "bad.json").write_text("[1,")
    url = sqlite_url(tmp_path)
    done = cds("evaluate", str(folder), "--audit", "--audit-url", url)
    assert done.returncode == 2 and "bad.json: not valid JSON" in done.stderr
    with AuditTrail.open(url) as trail:
        assert len(trail) == 0


def test_show_prints_the_whole_record(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    cds("evaluate", str(bundles(tmp_path, 1)), "--as-of", AS_OF.isoformat(), "--audit", "--audit-url", url)
    with AuditTrail.open(url) as trail:
        record = trail.get("#1")
    assert record is not None
    done = cds("audit", "show", record.id, "--audit-url", url)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["id"] == record.id and shown["hash"] == record.hash and shown["prev_hash"] == "0" * 64
    assert shown["source"] == {"kind": "cli", "hook": None, "hookInstance": None, "run": None}
    assert shown["assessment"]["patient"] == "Patient/synth-000000"
    assert set(shown["facts"]) >= {"patient", "conditions", "medications", "courses"}
    missing = cds("audit", "show", "no-such-id", "--audit-url", url)
    assert missing.returncode == 2 and "no single record 'no-such-id'" in missing.stderr
