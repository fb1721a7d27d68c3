"""Assessments for a person to read in a terminal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .listing import listed
from .models import PatientAssessment

GAP = 2
# ASCII: the terminal or the file the output goes to may not be UTF-8.
ELLIPSIS = "..."
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
    rows = [(result.patient, assessment.therapy, assessment.status,
             assessment.alternatives[0].id if assessment.alternatives else "-")
            for result in results for assessment in result.assessments]
    return columns(("patient", "therapy", "status", "top alternative"), rows)


def columns(header: Sequence[str], rows: Iterable[Sequence[str]], *, width: int | None = None,
            fit: int | None = None) -> str:
    return "\n".join(column_lines(header, rows, width=width, fit=fit))


def column_lines(header: Sequence[str], rows: Iterable[Sequence[str]], *, width: int | None = None,
                 fit: int | None = None) -> list[str]:
    """Aligned columns: the header, a rule, a line per row. With `width`, the column `fit` is
    shortened (at a word, with an ellipsis) so that no line is wider: a table that fits the
    terminal stays readable."""
    table = [list(header)] + [list(row) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    if width is not None and fit is not None:
        room = width - (sum(widths) - widths[fit]) - GAP * (len(header) - 1)
        widths[fit] = max(len(header[fit]), min(widths[fit], room))
        for row in table:
            row[fit] = shortened(row[fit], widths[fit])
    lines = [(" " * GAP).join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, (" " * GAP).join("-" * w for w in widths))
    return lines


def shortened(text: str, width: int) -> str:
    """The text cut to `width` characters at a word boundary, an ellipsis saying it was cut."""
    if len(text) <= width:
        return text
    cut = text[:width - len(ELLIPSIS)]
    if " " in cut and text[len(cut)] != " ":
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:(") + ELLIPSIS
