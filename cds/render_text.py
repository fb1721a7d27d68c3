"""Assessments for a person to read in a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from .listing import listed
from .models import PatientAssessment

MARKS = {"met": "[x]", "not-met": "[ ]", "unknown": "[?]", "not-applicable": "[-]"}


def render_text(result: PatientAssessment) -> str:
    lines = [f"{result.patient}  (as of {result.as_of.isoformat()})"]
    for assessment in result.assessments:
        lines += ["", f"{assessment.therapy}  {assessment.title}",
                  f"  status: {assessment.status.upper()}  (rules {result.rulesets[assessment.therapy]})",
                  "  criteria:"]
        for criterion in assessment.criteria:
            lines.append(f"    {MARKS[criterion.result]} {criterion.id}: {criterion.result} - {criterion.reason}")
            if criterion.evidence:
                lines.append(f"        evidence: {listed(criterion.evidence)}")
        if assessment.findings:
            lines.append("  safety findings:")
            lines += [f"    ! {f.severity}: {f.id}: {f.text}" + (f" {f.reason}" if f.reason else "")
                      + (f" ({listed(f.evidence)})" if f.evidence else "")
                      for f in assessment.findings]
        if assessment.documentation:
            lines.append("  documentation needed:")
            lines += [f"    - {d.text}" for d in assessment.documentation]
        if assessment.alternatives:
            lines.append("  alternatives:")
            lines += [f"    {a.rank}. {a.text}" + (" (recommended)" if a.recommended else "") + f" - {a.reason}"
                      for a in assessment.alternatives]
    if result.warnings:
        lines += ["", "warnings:"] + [f"  {w}" for w in result.warnings]
    return "\n".join(lines)


def render_table(results: Sequence[PatientAssessment]) -> str:
    rows = [("patient", "therapy", "status", "top alternative")]
    for result in results:
        for assessment in result.assessments:
            top = assessment.alternatives[0].id if assessment.alternatives else "-"
            rows.append((result.patient, assessment.therapy, assessment.status, top))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
