"""`cds audit report`: a page that opens without a network, charts a person can read, tables
linked to the records, and counts that match the trail."""

from __future__ import annotations

import csv
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from cds.audit import AuditTrail
from cds.audit.batch import run_batch

from .audit_support import AS_OF, cds, export, sqlite_url


class _Page(HTMLParser):
    """Collects ids, links, external references and unclosed tags of a page."""

    VOID = {"meta", "br", "link", "img", "input", "hr", "path", "use", "rect", "stop"}

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.external: list[str] = []
        self.open: list[str] = []
        self.svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        for name in ("src", "href", "xlink:href"):
            if str(values.get(name) or "").startswith(("http:", "https:", "//")):
                self.external.append(str(values[name]))
        if tag == "script" or (tag == "link" and values.get("rel") == "stylesheet"):
            self.external.append(tag)
        if tag == "svg":
            self.svg += 1
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def _report(tmp_path: Path) -> tuple[str, str, list[dict[str, str]]]:
    url = sqlite_url(tmp_path)
    with AuditTrail.open(url) as trail:
        run_batch([export(tmp_path, 20)], trail, as_of=AS_OF, workers=0, progress=False)
    html, table = tmp_path / "report.html", tmp_path / "report.csv"
    done = cds("audit", "report", "--audit-url", url, "--out", str(html), "--csv", str(table))
    assert done.returncode == 0, done.stderr
    with table.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return url, html.read_text(encoding="utf-8"), rows


def test_the_report_opens_offline_with_its_charts(tmp_path: Path) -> None:
    _, html, _ = _report(tmp_path)
    page = _Page()
    page.feed(html)
    page.close()
    assert page.open == []
    assert page.external == []
    assert page.svg == 4
    for chart in ("status", "unmet", "gaps", "verdicts"):
        assert f'id="chart-{chart}"' in html
    assert "chain intact" in html
    # Every row links to a record on the same page.
    targets = [link[1:] for link in page.links if link.startswith("#")]
    assert targets and set(targets) <= page.ids


def test_counts_in_the_report_match_the_trail(tmp_path: Path) -> None:
    url, html, rows = _report(tmp_path)
    with AuditTrail.open(url) as trail:
        records = list(trail.records())
    status = Counter((a["therapy"], a["status"]) for r in records if r.claim is None
                     for a in r.assessment["assessments"])
    verdicts = Counter((r.claim.code, r.claim.verdict) for r in records if r.claim)
    assert Counter((r["therapy"], r["status"]) for r in rows if r["kind"] == "patient") == status
    assert Counter((r["therapy"], r["verdict"]) for r in rows if r["kind"] == "claim-line") == verdicts
    assert {r["record_id"] for r in rows} == {r.id for r in records}
    assert f"<b>{len(records)}</b>audit records" in html
    # The charts carry the counts as text: each stacked segment is labelled with its number.
    status_chart = html[html.index('id="chart-status"'):html.index('id="chart-unmet"')]
    labels = Counter(re.findall(r">(\d+)</text>", status_chart))
    for count in status.values():
        assert labels[str(count)] >= 1
    unmet = Counter(c for r in rows if r["kind"] == "patient" for c in r["unmet_criteria"].split("; ") if c)
    top, times = unmet.most_common(1)[0]
    unmet_chart = html[html.index('id="chart-unmet"'):html.index('id="chart-gaps"')]
    assert top in unmet_chart and f">{times}</text>" in unmet_chart


def test_an_empty_trail_still_gives_a_page(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    with AuditTrail.open(sqlite_url(tmp_path)):
        pass  # created empty: report only reads, it creates no trail
    done = cds("audit", "report", "--audit-url", sqlite_url(tmp_path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "nothing in the trail" in out.read_text()
