"""Every audit command verifies what it reads: an altered record is named, as data, and the
intact records are still shown, replayed and reported; a trail that is not there is an error."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from cds.audit import AuditTrail, Source, input_hash
from cds.evaluate import read_input
from cds.evaluator import Evaluator
from cds.knowledge import default
from cds.fhir.record import build_records

from .audit_support import AS_OF, cds, drop_triggers, raw_sql, sqlite_url
from .conftest import ICD, bundle, condition, medication_request, patient

ALTERATIONS = {
    "flipped status": "UPDATE audit_record SET assessment = replace(assessment, '\"eligible\"', '\"not-eligible\"') "
                      "WHERE seq = 3",
    "unreadable JSON": "UPDATE audit_record SET assessment = '{\"assessments\": [' WHERE seq = 3",
}


def _fill(url: str, count: int) -> list[Any]:
    with AuditTrail.open(url) as trail:
        written = []
        for n in range(count):
            resources = [patient(f"p{n}", birth="1961-03-04"),
                         condition(f"c{n}", ICD, "G89.29", "Other chronic pain", pid=f"p{n}"),
                         medication_request(f"m{n}", "oxycodone hydrochloride 5 MG Oral Tablet", status="completed",
                                            pid=f"p{n}", authoredOn="2026-01-05")]
            record = build_records(read_input(bundle(*resources)))[0]
            evaluation = Evaluator(default()).assess(record, AS_OF)
            facts, assessment = evaluation.facts, evaluation.result
            written.append(trail.append(source=Source(kind="cli"), input_hash=input_hash(resources),
                                        assessment=assessment, facts=facts))
        return written


@pytest.fixture(params=list(ALTERATIONS), ids=list(ALTERATIONS))
def altered(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = sqlite_url(tmp_path)
    _fill(url, 5)
    drop_triggers(url)
    raw_sql(url, ALTERATIONS[request.param])
    return url


FAILS = "record #3 fails verification: content altered"


@pytest.mark.parametrize(("args", "code", "out"), [
    (["verify"], 1, "stdout"),
    (["show", "#3"], 1, "stderr"),
    (["replay", "#3"], 1, "stderr"),
    (["report"], 1, "stdout"),
])
def test_an_altered_record_fails_verification_in_every_command(altered: str, tmp_path: Path, args: list[str],
                                                                code: int, out: str) -> None:
    if args == ["report"]:
        args = ["report", "--out", str(tmp_path / "r.html"), "--csv", str(tmp_path / "r.csv")]
    done = cds("audit", *args, "--audit-url", altered)
    assert done.returncode == code, done.stderr
    assert FAILS in getattr(done, out)
    assert "Traceback" not in done.stderr
    if args[0] == "replay":
        assert done.stdout == ""  # a forged record is never replayed as if it were what was written


@pytest.mark.parametrize("key", ["#2", "#4", "#5"])
def test_the_intact_records_around_it_still_show_and_replay(altered: str, key: str) -> None:
    for command in ("show", "replay"):
        done = cds("audit", command, key, "--audit-url", altered)
        assert done.returncode == 0, done.stderr
        assert "fails verification" not in done.stdout + done.stderr


def test_the_report_lists_the_failing_record_and_counts_the_intact_ones(altered: str, tmp_path: Path) -> None:
    done = cds("audit", "report", "--out", str(tmp_path / "r.html"), "--csv", str(tmp_path / "r.csv"),
               "--audit-url", altered)
    assert "(4 record(s), 4 patient(s), 1 failing verification)" in done.stdout
    html = (tmp_path / "r.html").read_text()
    assert FAILS in html
    rows = list(csv.DictReader((tmp_path / "r.csv").read_text().splitlines()))
    failing = [r for r in rows if r["kind"] == "fails-verification"]
    assert [(r["record_seq"], r["reasons"][:len(FAILS)]) for r in failing] == [("3", FAILS)]
    assert {r["patient"] for r in rows if r["kind"] == "patient"} == {"Patient/p0", "Patient/p1", "Patient/p3",
                                                                      "Patient/p4"}


@pytest.mark.parametrize("args", [["verify"], ["show", "#1"], ["replay", "#1"], ["report", "--out", "r.html"]])
def test_a_trail_that_is_not_there_is_an_error_and_is_not_created(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "misspelt.sqlite"
    done = cds("audit", *args, "--audit-url", f"sqlite:///{missing}", cwd=tmp_path)
    assert done.returncode == 2
    assert f"no audit trail at sqlite:///{missing}" in done.stderr
    assert not missing.exists()
