"""CMS-0057-F prior authorization figures (issue #23 item 5): `cds pas metrics` and the page in
`cds audit report`, from the decisions the audit trail holds."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from cds.audit import AuditTrail
from cds.audit.pa_metrics import Service, figures
from cds.audit.report import write_report
from cds.cli import main

from .readme_script import ROOT

T0 = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)


def _service(therapy: str, first: str, last: str, hours: float | None, day: int = 2) -> Service:
    requested = T0.replace(day=day)
    decided = None if hours is None else requested + dt.timedelta(hours=hours)
    return Service(therapy=therapy, requested=requested, decided=decided, first=first, last=last)


SERVICES = [
    _service("S9348", "pended", "approved", 30),     # approved after a pend, 30 h later
    _service("S9348", "approved", "approved", 0),
    _service("S9348", "denied", "denied", 0),
    _service("S9348", "pended", "pended", None),      # still pended: no decision time
    _service("S9494", "approved", "approved", 0, day=20),
    _service("S9348", "pended", "cancelled", None),   # cancelled while pended: no decision
]


def test_counts_percents_and_times_per_therapy_and_for_all() -> None:
    s9348, s9494, everything = figures(SERVICES)
    assert (s9348.therapy, s9494.therapy, everything.therapy) == ("S9348", "S9494", "all")
    assert (s9348.requests, s9348.approved, s9348.denied, s9348.pended, s9348.cancelled,
            s9348.approved_after_pend) == (5, 2, 1, 1, 1, 1)
    assert s9348.percent(s9348.approved) == 40.0 and s9348.percent(s9348.cancelled) == 20.0
    # Three decided services: 0, 0 and 30 hours; the median 0, the 90th percentile (nearest rank) 30.
    assert (s9348.decided, s9348.median_hours, s9348.p90_hours) == (3, 0, 30)
    assert (everything.requests, everything.approved, everything.decided) == (6, 3, 4)


def test_the_period_counts_the_requests_made_in_it() -> None:
    [only, everything] = figures(SERVICES, start=dt.date(2026, 11, 10), end=dt.date(2026, 11, 30))
    assert only.therapy == "S9494" and everything.requests == 1


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The README's example as written: `cds synth`, every patient's draft order submitted as a
    PAS request, then `cds pas metrics` (its table checked here; the trail is the corpus)."""
    folder = tmp_path_factory.mktemp("pas-metrics")
    url = f"sqlite:///{folder / 'audit.sqlite'}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n### Pended requests, updates, Subscriptions and inquiries\n"):]
    script = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    assert "cds synth" in script and "cds pas metrics" in script
    run = subprocess.run(["bash", "-ec", script.replace("/tmp/synth", str(folder / "synth"))], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "CDS_AUDIT_URL": url})
    assert run.returncode == 0, run.stderr
    assert "\n| therapy | requests | approved |" in run.stdout and "\n| all |" in run.stdout
    return url


def test_metrics_of_a_synthetic_corpus(corpus: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["pas", "metrics", "--format", "json", "--audit-url", corpus]) == 0
    rows = json.loads(capsys.readouterr().out)
    *therapies, everything = rows
    assert everything["therapy"] == "all" and therapies
    with AuditTrail.open(corpus) as trail:
        assert everything["requests"] == len(trail) == sum(r["requests"] for r in therapies)
    assert everything["approved"] + everything["denied"] + everything["pended"] == everything["requests"]
    # Decided at once: no time passes between a request and its decision.
    assert everything["median_hours"] == 0
    assert main(["pas", "metrics", "--audit-url", corpus]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| therapy | requests | approved |") and "| all |" in table
    assert main(["pas", "metrics", "--format", "csv", "--to", "2000-01-01", "--audit-url", corpus]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("all,0,0,0.0")


def test_the_audit_report_has_a_prior_authorization_page(corpus: str, tmp_path: Path) -> None:
    with AuditTrail.open(corpus) as trail:
        summary = write_report(trail, tmp_path / "report.html", None)
    assert summary.prior_authorization[-1].therapy == "all"
    html = (tmp_path / "report.html").read_text()
    assert "Prior authorization (CMS-0057-F)" in html and "approved after a pend" in html


def test_metrics_of_a_missing_trail_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pas", "metrics", "--audit-url", f"sqlite:///{tmp_path / 'none.sqlite'}"]) == 2
    assert "no audit trail" in capsys.readouterr().err
