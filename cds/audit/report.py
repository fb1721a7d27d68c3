"""`cds audit report`: what the trail says, as a self-contained HTML page and as CSV.

One pass over the trail. Patient records give the status distribution, the unmet criteria
and the documentation gaps; claim-line records give the verdicts. Every table row links to
its record further down the page (id, hashes, rulesets, criteria), which `cds audit show`
prints in full.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel

from ..models import Assessment, Status
from . import charts
from .chain import Verification
from .models import VERDICTS, AuditRecord
from .pa_metrics import Figures, figures, services
from .chain import Checked
from .trail import AuditTrail

STATUSES = tuple(s.value for s in Status)
TOP = 12
CSV_COLUMNS = ("kind", "record_id", "record_seq", "time", "source", "patient", "as_of", "therapy", "status",
               "verdict", "claim", "claim_line", "service_date", "unmet_criteria", "unknown_criteria",
               "documentation", "warnings", "reasons")


class Row(BaseModel):
    """One line of the report: a patient's assessment for one therapy, or one claim line."""

    kind: str                   # "patient" or "claim-line"
    record_id: str
    record_seq: int
    time: str
    source: str
    patient: str
    as_of: dt.date
    therapy: str
    status: str
    verdict: str = ""
    claim: str = ""
    claim_line: str = ""
    service_date: str = ""
    unmet_criteria: list[str]
    unknown_criteria: list[str]
    documentation: list[str]
    warnings: list[str]
    reasons: list[str] = []

    def csv(self) -> list[str]:
        data = self.model_dump(mode="json")
        return ["; ".join(v) if isinstance(v, list) else str(v) for v in (data[c] for c in CSV_COLUMNS)]


class Summary(BaseModel):
    records: int
    patients: int
    status: dict[str, dict[str, int]]
    unmet: list[tuple[str, int]]
    gaps: list[tuple[str, int]]
    gap_kinds: dict[str, str]
    verdicts: dict[str, dict[str, int]]
    rulesets: list[str]
    # "record #N fails verification: ..." for each record left out of the figures.
    failures: list[str] = []
    # CMS-0057-F prior authorization figures (cds/audit/pa_metrics.py); empty without PA records.
    prior_authorization: list[Figures] = []


def rows_of(record: AuditRecord) -> list[Row]:
    result = record.patient_assessment()
    common: dict[str, Any] = dict(record_id=record.id, record_seq=record.seq, time=record.time,
                                  source=record.source.label(), patient=record.patient, as_of=record.as_of)
    if record.claim is not None:
        line = record.claim
        assessment = result.assessment(line.code)
        return [Row.model_validate({
            **common, **_details(assessment), "kind": "claim-line", "therapy": line.code,
            "status": assessment.status, "verdict": line.verdict, "claim": line.claim,
            "claim_line": str(line.sequence or ""), "service_date": line.service_date.isoformat(),
            "reasons": line.reasons,
        })]
    return [Row.model_validate({**common, **_details(a), "kind": "patient", "therapy": a.therapy, "status": a.status})
            for a in result.assessments]


def _details(assessment: Assessment) -> dict[str, list[str]]:
    return {
        "unmet_criteria": [c.id for c in assessment.criteria if c.required and c.result == "not-met"],
        "unknown_criteria": [c.id for c in assessment.criteria if c.required and c.result == "unknown"],
        "documentation": [d.id for d in assessment.documentation],
        "warnings": [f.id for f in assessment.findings if f.severity == "warning"],
    }


def summarise(rows: list[Row], records: int) -> Summary:
    status: dict[str, Counter[str]] = defaultdict(Counter)
    verdicts: dict[str, Counter[str]] = defaultdict(Counter)
    unmet: Counter[str] = Counter()
    gaps: Counter[str] = Counter()
    kinds: dict[str, str] = {}
    for row in rows:
        if row.kind == "claim-line":
            verdicts[row.therapy][row.verdict] += 1
            continue
        status[row.therapy][row.status] += 1
        unmet.update(row.unmet_criteria)
        # A gap: what the record lacks (unknown criteria) and, for a patient the rules would
        # support, the documents a payer will ask for.
        for criterion in row.unknown_criteria:
            gaps[criterion] += 1
            kinds[criterion] = "data missing from the record"
        if row.status in ("eligible", "needs-review"):
            for doc in row.documentation:
                gaps[doc] += 1
                kinds[doc] = "document to collect"
    return Summary(
        records=records, patients=len({r.patient for r in rows}),
        status={t: dict(c) for t, c in sorted(status.items())},
        unmet=unmet.most_common(TOP), gaps=gaps.most_common(TOP), gap_kinds=kinds,
        verdicts={t: dict(c) for t, c in sorted(verdicts.items())},
        rulesets=[],
    )


class RecordView(BaseModel):
    """What the report shows of a record (the facts stay in the trail: `cds audit show`)."""

    id: str
    seq: int
    time: str
    source: str
    patient: str
    as_of: dt.date
    input_hash: str
    prev_hash: str
    hash: str
    rulesets: dict[str, str]
    claim: str
    criteria: list[tuple[str, str]]           # (id, result); the reasons are in the record


def collect(trail: AuditTrail) -> tuple[list[Row], list[RecordView], Summary]:
    rows: list[Row] = []
    views: list[RecordView] = []
    failures: list[Checked] = []
    intact: list[AuditRecord] = []
    for checked in trail.checked_records():
        record = checked.record
        if record is None or checked.failure:
            # An altered record is reported, never counted: the figures come from intact ones.
            failures.append(checked)
            continue
        rows += rows_of(record)
        intact.append(record)
        result = record.patient_assessment()
        claim = record.claim
        views.append(RecordView(
            id=record.id, seq=record.seq, time=record.time, source=record.source.label(), patient=record.patient,
            as_of=record.as_of, input_hash=record.input_hash, prev_hash=record.prev_hash, hash=record.hash,
            rulesets=record.rulesets,
            claim=f"{claim.claim} line {claim.sequence}: {claim.verdict}" if claim else "",
            criteria=[(c.id, c.result) for a in result.assessments for c in a.criteria],
        ))
    summary = summarise(rows, len(views))
    summary.rulesets = sorted({f"{t} {v}" for view in views for t, v in view.rulesets.items()})
    summary.failures = [c.failure for c in failures if c.failure]
    found = services(intact)
    summary.prior_authorization = figures(found) if found else []
    return rows, views, summary


def write_csv(rows: list[Row], failures: Sequence[str] = ()) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(row.csv() for row in rows)
    for failure in failures:
        seq = failure.removeprefix("record #").split(" ", 1)[0]
        line = {c: "" for c in CSV_COLUMNS} | {"kind": "fails-verification", "record_seq": seq, "reasons": failure}
        writer.writerow(line[c] for c in CSV_COLUMNS)
    return buffer.getvalue()


def render_html(trail: AuditTrail, rows: list[Row], records: list[RecordView], summary: Summary,
                verification: Verification) -> str:
    figures = {
        "status": charts.stacked_bars("Status per therapy", summary.status, STATUSES, "patients")
        if summary.status else None,
        "unmet": charts.ranked_bars("Most frequently unmet criteria", summary.unmet, "patients")
        if summary.unmet else None,
        "gaps": charts.ranked_bars("Documentation gaps", summary.gaps, "patients", kinds=summary.gap_kinds,
                                   kind_colors={"data missing from the record": "#78909c",
                                                "document to collect": "#f9a825"})
        if summary.gaps else None,
        "verdicts": charts.stacked_bars("Claim verdicts per therapy", summary.verdicts, VERDICTS, "claim lines")
        if summary.verdicts else None,
    }
    environment = Environment(loader=PackageLoader("cds.audit", "templates"),
                              autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("report.html.j2").render(
        trail=trail.url, summary=summary, figures=figures, verification=verification,
        patient_rows=[r for r in rows if r.kind == "patient"],
        claim_rows=[r for r in rows if r.kind == "claim-line"],
        records=records, generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(trail: AuditTrail, html: Path | None, csv_path: Path | None) -> Summary:
    rows, records, summary = collect(trail)
    if html is not None:
        html.write_text(render_html(trail, rows, records, summary, trail.verify()), encoding="utf-8")
    if csv_path is not None:
        csv_path.write_text(write_csv(rows, summary.failures), encoding="utf-8")
    return summary
