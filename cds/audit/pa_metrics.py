"""Prior authorization figures from the audit trail, as CMS-0057-F asks payers to publish them
(and the PAS IG's metrics page suggests: submissions, pends and their resolution, time to a
final result): per therapy and for all, how many requested services were approved, denied,
are still pended, and were approved after a pend, and the median and 90th percentile time from
the request to its decision.

The unit is one requested service: an item of a request (authorization number and item
sequence), followed through every decision recorded for it. Its request time is its first
record's; its decision the first record that approves or denies it; its outcome its latest
record's. Approved is A1 or A6 (authorized as modified). A service the submitter cancelled is
counted as cancelled (the IG's metrics page counts cancels), never as a decision: a pend
cancelled has no time to a decision. Percentiles are nearest-rank.
Records that fail verification are left out, as everywhere in the audit reports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import defaultdict
from collections.abc import Iterable
from statistics import median
from typing import Literal

from pydantic import BaseModel

from .authorization import DECIDED, MEANING
from .models import AuditRecord
from .trail import AuditTrail

ALL = "all"
# The counted outcomes, in the order the tables show them.
KINDS = ("approved", "denied", "pended", "cancelled", "approved_after_pend")
Format = Literal["md", "json", "csv"]
COLUMNS = ("therapy", "requests", "approved", "approved_pct", "denied", "denied_pct", "pended", "pended_pct",
           "cancelled", "cancelled_pct", "approved_after_pend", "approved_after_pend_pct", "decided", "median_hours", "p90_hours")


class Service(BaseModel):
    """One requested service and what became of it."""

    therapy: str
    requested: dt.datetime
    decided: dt.datetime | None
    first: str        # the first record's meaning: approved, denied, pended
    last: str         # the latest's (also cancelled)


class Figures(BaseModel):
    therapy: str
    requests: int
    approved: int
    denied: int
    pended: int
    cancelled: int
    approved_after_pend: int
    decided: int                  # services with a decision (the times' count)
    median_hours: float | None
    p90_hours: float | None

    def percent(self, count: int) -> float:
        return round(100 * count / self.requests, 1) if self.requests else 0.0

    def row(self) -> dict[str, object]:
        data: dict[str, object] = self.model_dump()
        for name in KINDS:
            data[f"{name}_pct"] = self.percent(getattr(self, name))
        return {c: data[c] for c in COLUMNS}


def services(records: Iterable[AuditRecord]) -> list[Service]:
    """The requested services of the trail's prior authorization records, in record order."""
    chains: dict[tuple[str, int | None], list[AuditRecord]] = defaultdict(list)
    for record in records:
        if record.claim is not None and record.claim.authorization is not None:
            chains[(record.claim.authorization.request, record.claim.sequence)].append(record)
    found = []
    for chain in chains.values():
        meanings = [MEANING[r.claim.authorization.decision] for r in chain]  # type: ignore[union-attr]
        decided = next((r for r, m in zip(chain, meanings) if m in DECIDED), None)
        found.append(Service(therapy=chain[-1].claim.code, requested=_time(chain[0]),  # type: ignore[union-attr]
                             decided=_time(decided) if decided is not None else None,
                             first=meanings[0], last=meanings[-1]))
    return found


def _time(record: AuditRecord) -> dt.datetime:
    return dt.datetime.fromisoformat(record.time)


def figures(found: list[Service], start: dt.date | None = None, end: dt.date | None = None) -> list[Figures]:
    """Per therapy, then for all: the services requested between start and end (inclusive)."""
    chosen = [s for s in found if (start is None or s.requested.date() >= start)
              and (end is None or s.requested.date() <= end)]
    by_therapy: dict[str, list[Service]] = defaultdict(list)
    for service in chosen:
        by_therapy[service.therapy].append(service)
    return [_figures(t, by_therapy[t]) for t in sorted(by_therapy)] + [_figures(ALL, chosen)]


def _figures(therapy: str, found: list[Service]) -> Figures:
    hours = sorted((s.decided - s.requested).total_seconds() / 3600 for s in found if s.decided is not None)
    return Figures(
        therapy=therapy, requests=len(found),
        approved=sum(s.last == "approved" for s in found), denied=sum(s.last == "denied" for s in found),
        pended=sum(s.last == "pended" for s in found), cancelled=sum(s.last == "cancelled" for s in found),
        approved_after_pend=sum(s.first == "pended" and s.last == "approved" for s in found),
        decided=len(hours),
        median_hours=round(median(hours), 6) if hours else None,
        p90_hours=round(hours[math.ceil(0.9 * len(hours)) - 1], 6) if hours else None)


def trail_figures(trail: AuditTrail, start: dt.date | None = None, end: dt.date | None = None
                  ) -> tuple[list[Figures], list[str]]:
    """The figures of the trail's intact records, and the failures of the others."""
    records, failures = [], []
    for checked in trail.checked_records():
        if checked.record is None or checked.failure:
            failures.append(checked.failure or f"record #{checked.seq} is unreadable")
            continue
        records.append(checked.record)
    return figures(services(records), start, end), failures


def render(rows: list[Figures], fmt: Format) -> str:
    if fmt == "json":
        import orjson

        return orjson.dumps([r.row() for r in rows], option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(r.row() for r in rows)
        return buffer.getvalue()
    lines = ["| therapy | requests | approved | denied | pended | cancelled | approved after a pend | median h | p90 h |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        counts = [f"{getattr(r, n)} ({r.percent(getattr(r, n))} %)" for n in KINDS]
        times = ["-" if h is None else f"{h:g}" for h in (r.median_hours, r.p90_hours)]
        lines.append(f"| {r.therapy} | {r.requests} | " + " | ".join(counts + times) + " |")
    return "\n".join(lines) + "\n"
