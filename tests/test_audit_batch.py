"""`cds audit run`: bundles and Bulk Data exports, on 2 Dask worker processes or in this one,
with the same records either way; bad files reported one by one; resumable after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from cds.audit import AuditTrail
from cds.audit.batch import BatchSummary, run_batch

from .audit_support import AS_OF, ROOT, bundles, cds, export, patients, sqlite_url

pytestmark = pytest.mark.heavy


def _run(paths: list[Path], url: str, workers: int, **options: Any) -> BatchSummary:
    with AuditTrail.open(url) as trail:
        return run_batch(paths, trail, as_of=AS_OF, workers=workers, progress=False, problem=lambda _: None,
                         **options)


def _outcomes(url: str) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """What each record says, keyed by what it is about (ids and times differ between runs)."""
    with AuditTrail.open(url) as trail:
        assert trail.verify().intact
        out = {}
        for r in trail.records():
            claim = f"{r.claim.claim}#{r.claim.sequence}" if r.claim else ""
            key = (r.patient, r.as_of.isoformat(), claim)
            assert key not in out, f"two records for {key}"
            out[key] = (r.input_hash, r.rulesets, r.assessment, r.facts,
                        r.claim.model_dump() if r.claim else None, r.source.kind)
        return out


def _expected_records(count: int, start: int = 0) -> int:
    """One record per patient and one per claim line billed S9326/S9363."""
    claims = sum(1 for resources in patients(count, start=start) for r in resources
                 if r["resourceType"] in ("Claim", "ExplanationOfBenefit"))
    return count + claims


def test_two_dask_workers_give_exactly_the_sequential_records(tmp_path: Path) -> None:
    inputs = [export(tmp_path, 30), bundles(tmp_path, 12, start=100)]
    alone, parallel = sqlite_url(tmp_path / "a"), sqlite_url(tmp_path / "b")
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = _run(inputs, alone, workers=0)
    second = _run(inputs, parallel, workers=2)
    assert first.problems == second.problems == []
    assert first.audited_patients == second.audited_patients == 42
    expected = _outcomes(alone)
    assert len(expected) == _expected_records(30) + _expected_records(12, start=100) == first.records
    assert _outcomes(parallel) == expected
    statuses = Counter(a["status"] for v in expected.values() for a in v[2]["assessments"])
    assert set(statuses) == {"eligible", "needs-review", "insufficient-information", "not-eligible"}


def test_an_existing_dask_cluster_can_run_the_batch(tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    folder = export(tmp_path, 9)
    reference = sqlite_url(tmp_path)
    _run([folder], reference, workers=0)
    (tmp_path / "c").mkdir()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        _run([folder], sqlite_url(tmp_path / "c"), workers=0, scheduler=cluster.scheduler_address)
    assert _outcomes(sqlite_url(tmp_path / "c")) == _outcomes(reference)


class _ReadBeforeTheOtherRunWrote(AuditTrail):
    """A trail as a run sees it when another run writes the same units between its read and its write."""

    def unit_keys(self) -> set[str]:
        return set()


def test_a_run_that_lost_the_race_reports_that_it_wrote_nothing(tmp_path: Path) -> None:
    folder, url = bundles(tmp_path, 4), sqlite_url(tmp_path)
    first = _run([folder], url, workers=0)
    with _ReadBeforeTheOtherRunWrote.open(url) as trail:
        second = run_batch([folder], trail, as_of=AS_OF, workers=0, progress=False, problem=lambda _: None)
    assert (first.audited_patients, first.records > 0) == (4, True)
    assert (second.audited_patients, second.records, second.raced_patients, second.skipped_patients) == (0, 0, 4, 0)
    with AuditTrail.open(url) as trail:
        assert len(trail) == first.records


def test_a_unit_repeated_in_one_input_is_reported_as_a_repeat(tmp_path: Path) -> None:
    folder, url = bundles(tmp_path, 2), sqlite_url(tmp_path)
    first = sorted(folder.glob("*.json"))[0]
    (folder / "copy-of-the-first.json").write_bytes(first.read_bytes())
    done = cds("audit", "run", str(folder), "--as-of", AS_OF.isoformat(), "--workers", "0", "--audit-url", url,
               "--no-progress")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 patient(s) audited, ")
    assert "1 patient(s) not audited twice: repeated in this input" in done.stdout
    assert "already in the trail" not in done.stdout


def test_a_second_run_skips_what_is_already_audited(tmp_path: Path) -> None:
    folder, url = export(tmp_path, 10), sqlite_url(tmp_path)
    first = _run([folder], url, workers=0)
    again = _run([folder], url, workers=0)
    assert (again.audited_patients, again.skipped_patients, again.records) == (0, 10, 0)
    with AuditTrail.open(url) as trail:
        assert len(trail) == first.records
    # Another as-of date is another audit.
    with AuditTrail.open(url) as trail:
        later = run_batch([folder], trail, as_of=AS_OF.replace(day=23), workers=0, progress=False)
    assert later.audited_patients == 10


def test_one_malformed_file_is_reported_and_the_rest_audited(tmp_path: Path) -> None:
    folder = bundles(tmp_path, 6)
    (folder / "broken.json").write_text('{"resourceType": "Bundle", "entry": [')
    invalid = orjson.loads((folder / "synth-000002.json").read_bytes())
    assert invalid["entry"][1]["resource"]["resourceType"] == "Condition"
    invalid["entry"][1]["resource"]["clinicalStatus"] = "active"     # must be a CodeableConcept
    (folder / "synth-000002.json").write_bytes(orjson.dumps(invalid))
    url = sqlite_url(tmp_path)
    done = cds("audit", "run", str(folder), "--as-of", AS_OF.isoformat(), "--workers", "0",
               "--audit-url", url, "--no-progress")
    assert done.returncode == 2, done.stderr
    problems = [line for line in done.stderr.splitlines() if line.startswith("cds: ")]
    assert len(problems) == 2, done.stderr
    assert "broken.json: not valid JSON" in problems[0]
    assert "synth-000002.json" in problems[1] and "Condition.clinicalStatus" in problems[1]
    assert "5 patient(s) audited" in done.stdout and "2 problem(s)" in done.stdout
    audited = {key[0] for key in _outcomes(url)}
    assert audited == {f"Patient/synth-00000{n}" for n in (0, 1, 3, 4, 5)}


def test_an_unreadable_ndjson_line_holds_back_only_its_own_export(tmp_path: Path) -> None:
    good, bad = export(tmp_path, 4, "good"), export(tmp_path, 4, "bad", start=50)
    with (bad / "Condition.ndjson").open("ab") as handle:
        handle.write(b'{"resourceType": "Condition", "id": \n')
    url = sqlite_url(tmp_path)
    problems: list[str] = []
    with AuditTrail.open(url) as trail:
        summary = run_batch([good, bad], trail, as_of=AS_OF, workers=0, progress=False, problem=problems.append)
    assert summary.problems == problems
    assert any("Condition.ndjson" in p and "line is not JSON" in p for p in problems)
    assert any(p.startswith(f"{bad}: export not audited") for p in problems)
    assert {key[0] for key in _outcomes(url)} == {f"Patient/synth-00000{n}" for n in range(4)}


def test_progress_shows_patients_rate_and_time_left(tmp_path: Path) -> None:
    done = cds("audit", "run", str(export(tmp_path, 5)), "--as-of", AS_OF.isoformat(), "--workers", "0",
               "--audit-url", sqlite_url(tmp_path))
    assert done.returncode == 0, done.stderr
    last = done.stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert "5/5" in last and "patient/s" in last and "<" in last, last
    assert "5 patient(s) audited, " in done.stdout and "already in the trail" not in done.stdout


def test_killed_mid_run_and_restarted_nothing_is_lost_or_written_twice(tmp_path: Path) -> None:
    # Enough patients that the run is still going when its first records are seen (chunks of 12,
    # six in flight: about 5 s of work left at the kill), few enough that the restart is quick.
    count = 300
    folder, url = export(tmp_path, count), sqlite_url(tmp_path)
    database = Path(url.removeprefix("sqlite:///"))
    command = [sys.executable, "-m", "cds.cli", "audit", "run", str(folder), "--as-of", AS_OF.isoformat(),
               "--workers", "2", "--audit-url", url, "--no-progress"]
    run = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        written = 0
        while written == 0 and run.poll() is None:
            time.sleep(0.02)
            if database.exists():
                with AuditTrail.open(url) as trail:
                    written = len(trail)
        assert run.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(run.pid, signal.SIGKILL)       # the driver and its Dask workers, mid-run
        run.wait()
    with AuditTrail.open(url) as trail:
        before = len(trail)
        assert trail.verify().intact
    expected = _expected_records(count)
    assert 0 < before < expected
    done = cds("audit", "run", str(folder), "--as-of", AS_OF.isoformat(), "--workers", "2", "--audit-url", url,
               "--no-progress")
    assert done.returncode == 0, done.stderr
    outcomes = _outcomes(url)                  # raises on any duplicate
    assert len(outcomes) == expected
    assert {key[0] for key in outcomes} == {f"Patient/synth-{n:06d}" for n in range(count)}
    with AuditTrail.open(url) as trail:
        item_keys = [r.item_key for r in trail.records()]
    assert len(item_keys) == len(set(item_keys)) == expected
    assert "already in the trail" in done.stdout and not done.stdout.startswith(f"{count} patient(s)")
