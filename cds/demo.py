"""The first run (`cds demo`, what `make run` shows): a few named patients, one screen.

fixtures/demo.yaml names test cases of fixtures/cases, each with a short story. Each case is
built into the FHIR Bundle `cds fixtures build` writes and assessed like any record
(cds.evaluate) for one therapy, as of the case's date. The table says what the package does at a
glance; the lines under it say where to go next. The demo is data: the cases stay the single
source of the records, and a demo entry naming a case that is gone is an error, not a blank row.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import cases
from .evaluator import Evaluator
from .fhir import read_document
from .models import Assessment, Status
from .render_text import column_lines, shortened
from .yamlfile import safe_load

DEFAULT_FILE = cases.DEFAULT_FOLDER.parent / "demo.yaml"
STORY_MAX = 28
# One screen: the table and what follows it fit 120 columns and about 45 lines.
WIDTH = 120
HEADER = ("patient story", "therapy", "main reason", "top alternative", "billing")
INDENT = "  "
STATUSES = tuple(s.value for s in Status)
REASON = HEADER.index("main reason")
# Long alternative ids are cut so that the reasons keep room.
ALTERNATIVE_MAX = 24
# `{cds}` is how to call the command from where it ran (see `command()`).
NEXT_STEPS = (
    ("your own FHIR files", "{cds} evaluate PATH... --format text   (Bundles, resources, NDJSON, folders)"),
    ("every test case", "{cds} fixtures build && {cds} evaluate build/fixtures --format table"),
    ("the CDS Hooks service", "{cds} serve --as-of 2026-11-22, then the curl example of README.md's CDS Hooks section"),
    ("its review page", "http://127.0.0.1:8080/review (while the service runs)"),
    ("the criteria catalog", "{cds} criteria --format html --out build/criteria"),
    ("an audit report", "{cds} evaluate PATH... --audit, then {cds} audit report --out report.html"),
)


class DemoPatient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    case: str                   # a case name of fixtures/cases
    story: str = Field(min_length=1, max_length=STORY_MAX)
    therapy: str | None = None  # default: the ruleset of the case's file


class DemoFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patients: list[DemoPatient] = Field(min_length=1)


@dataclass(frozen=True)
class Chosen:
    story: str
    therapy: str
    case: cases.Case


def load(path: Path = DEFAULT_FILE, known: dict[str, cases.Case] | None = None) -> list[Chosen]:
    """The demo's patients with their cases; CaseError names the file and the entry at fault."""
    if not path.is_file():
        raise cases.CaseError(f"no demo file: {path} is absent (the demo runs from a checkout)")
    try:
        demo = DemoFile.model_validate(safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as error:
        raise cases.CaseError(f"{path.name}: not YAML: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise cases.CaseError(f"{path.name}: {where}: {first['msg']}") from None
    known = cases.load() if known is None else known
    chosen = []
    for n, patient in enumerate(demo.patients, 1):
        case = known.get(patient.case)
        if case is None:
            raise cases.CaseError(f"{path.name}: patient {n} names case {patient.case}, which no case file holds")
        therapy = patient.therapy or case.ruleset
        if therapy not in case.expect:
            raise cases.CaseError(f"{path.name}: patient {n}: case {patient.case} expects nothing for {therapy}")
        chosen.append(Chosen(story=patient.story, therapy=therapy, case=case))
    return chosen


def assess(chosen: list[Chosen], evaluator: Evaluator) -> list[tuple[Chosen, Assessment]]:
    routes = cases.route_codes(evaluator.knowledge.terminology.routes.snomed)
    assessed = []
    for c in chosen:
        [record] = evaluator.records(read_document(cases.build(c.case, routes), "input"))
        result = evaluator.assess(record, c.case.as_of, therapies=[c.therapy]).result
        assert result is not None  # the therapy named: always assessed
        assessed.append((c, result.assessment(c.therapy)))
    return assessed


def render(assessed: list[tuple[Chosen, Assessment]], cds: str = "cds") -> str:
    """The table, its rows under a heading per status (a status column would leave the reasons
    no room in 120 columns), then the next steps."""
    ordered = sorted(assessed, key=lambda pair: STATUSES.index(pair[1].status))
    rows = [(c.story, a.therapy, a.main_reason(),
             shortened(a.alternatives[0].id, ALTERNATIVE_MAX) if a.alternatives else "-", a.billing.code)
            for c, a in ordered]
    table = column_lines(HEADER, rows, width=WIDTH - len(INDENT), fit=REASON)
    counts = Counter(a.status for _, a in ordered)
    lines = [f"{len(rows)} test patients (fixtures/demo.yaml), each assessed for one home infusion therapy "
             "as of its case's date:", "", *(INDENT + line for line in table[:2])]
    status = None
    for (_, assessment), line in zip(ordered, table[2:]):
        if assessment.status != status:
            status = assessment.status
            lines.append(f"{status} ({counts[status]})")
        lines.append(INDENT + line)
    named = {"cds": cds}
    steps = [(what.format(**named), how.format(**named)) for what, how in NEXT_STEPS]
    width = max(len(what) for what, _ in steps)
    lines += ["", "Where to go next:", *(f"{INDENT}{what.ljust(width)}{INDENT}{how}" for what, how in steps)]
    return "\n".join(lines)


def command() -> str:
    """How to call `cds` from here: `cds` when the shell finds this one, else its path (`.venv/bin/cds`)."""
    own = Path(sys.executable).with_name("cds")
    found = shutil.which("cds")
    if not own.is_file() or (found is not None and Path(found).resolve() == own.resolve()):
        return "cds"
    try:
        return str(own.relative_to(Path.cwd()))
    except ValueError:
        return str(own)
