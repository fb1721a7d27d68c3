"""`cds audit ...` and `cds evaluate --audit`: argument parsing and printing, nothing else."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import orjson

from ..evaluator import Evaluator
from ..fhir import InputError, Problem
from ..models import PatientAssessment
from .chain import Checked
from .inputs import read_units
from .models import Entry, Source
from .store import StoreError
from .trail import URL_VARIABLE, AuditTrail, default_url

EXIT_FAILED = 1
EXIT_INPUT = 2


def add_audit_options(parser: argparse.ArgumentParser) -> None:
    """--audit and --audit-url for `cds evaluate`."""
    parser.add_argument("--audit", action="store_true", help="append one audit record per patient to the trail")
    _url_option(parser)


def _url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audit-url", default=None, metavar="URL",
                        help=f"audit trail: sqlite:///PATH or postgresql://... (default ${URL_VARIABLE} "
                             "or sqlite:///cds-audit.sqlite)")


def add_audit_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = commands.add_parser("audit", help="the audit trail: batch audits, verify, show, replay, report")
    actions = audit.add_subparsers(required=True, metavar="ACTION")

    run = actions.add_parser("run", help="audit folders of bundles and Bulk Data NDJSON exports (with claims)")
    run.add_argument("paths", nargs="+", metavar="PATH")
    run.add_argument("--as-of", help="date to assess patients against (YYYY-MM-DD; default today); "
                                     "claim lines are assessed on their service dates")
    run.add_argument("--therapy", action="append", help="HCPCS code (repeatable; default all)")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                     help="local Dask worker processes (default: CPU count; 0: no Dask, this process)")
    run.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask cluster (tcp://host:8786)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    _url_option(run)
    run.set_defaults(func=_trail_errors(_run))

    verify = actions.add_parser("verify", help="check the hash chain; exit 0 only for an intact trail")
    verify.add_argument("--head", help="the head hash printed by an earlier verify: also catches a rewritten "
                                       "or shortened trail")
    _url_option(verify)
    verify.set_defaults(func=_trail_errors(_verify))

    show = actions.add_parser("show", help="print one record as JSON")
    show.add_argument("id", help="record id (or a unique prefix), or #N for the N-th record")
    _url_option(show)
    show.set_defaults(func=_trail_errors(_show))

    again = actions.add_parser("replay", help="re-run a record's facts with today's rulesets; print what changed "
                                              "(exit 1 when something did)")
    again.add_argument("id", help="record id (or a unique prefix), or #N")
    _url_option(again)
    again.set_defaults(func=_trail_errors(_replay))

    report = actions.add_parser("report", help="self-contained HTML report with charts, and CSV")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file (default report.html)")
    report.add_argument("--csv", type=Path, help="also write the report's rows as CSV")
    _url_option(report)
    report.set_defaults(func=_trail_errors(_report))


def _trail_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A trail that cannot be read as one (damaged file, missing column) is an input error: one
    line naming it, exit 2, whichever command met it and wherever."""
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        with _store_errors():
            return command(args)
    return run


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except StoreError as exc:
        raise InputError([Problem(source="audit-url", message=str(exc))]) from None


def evaluate_audited(args: argparse.Namespace) -> list[PatientAssessment]:
    """`cds evaluate --audit`: evaluate as usual, then append every result in one transaction."""
    as_of = _date(args.as_of)
    evaluator = Evaluator(args.knowledge())
    therapies = _therapies(args.therapy, list(evaluator.knowledge.rulesets))
    reading = read_units(args.paths)
    if reading.problems:
        raise InputError([Problem(source="input", message=p) for p in reading.problems])
    problems: list[Problem] = []
    records = []
    for unit in reading.units:
        try:
            records += [(unit, r) for r in evaluator.records(unit.entries, strict=True)]
        except InputError as exc:
            problems += [p.model_copy(update={"source": unit.label}) for p in exc.problems]
    if problems:
        raise InputError(problems)
    source = Source(kind="cli")
    results, entries = [], []
    for unit, record in records:
        evaluation = evaluator.assess(record, as_of, therapies=therapies)
        assert evaluation.result is not None  # the therapies named: always assessed
        results.append(evaluation.result)
        entries.append(Entry.of(source=source, input_hash=unit.input_hash, assessment=evaluation.result,
                                facts=evaluation.facts))
    with _open(args.audit_url) as trail, _store_errors():
        written = trail.append_entries(entries)
    print(f"cds: {len(written)} audit record(s) appended to {trail.url}", file=sys.stderr)
    return results


def _run(args: argparse.Namespace) -> int:
    from .batch import BatchError, run_batch  # Dask and tqdm load only for a batch run

    with _open(args.audit_url) as trail:
        try:
            summary = run_batch(args.paths, trail, as_of=_date(args.as_of), therapies=args.therapy,
                                workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress)
        except BatchError as exc:
            print(f"cds: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print(f"{summary.audited_patients} patient(s) audited, {summary.records} record(s) written by this run "
          f"in {summary.seconds:.1f} s ({summary.rate:.1f} patients/s); {len(summary.problems)} problem(s); "
          f"trail {trail.url}")
    # Each reason a patient was not audited again is said apart: none of them is an error.
    if summary.skipped_patients:
        print(f"{summary.skipped_patients} patient(s) not audited again: already in the trail from an earlier run "
              "(same input, as-of date and rulesets)")
    if summary.repeated_patients:
        print(f"{summary.repeated_patients} patient(s) not audited twice: repeated in this input "
              "(a unit with the same content as one read before it)")
    if summary.raced_patients:
        print(f"{summary.raced_patients} patient(s) not written: another run wrote them to the trail meanwhile")
    return EXIT_INPUT if summary.problems else 0


def _verify(args: argparse.Namespace) -> int:
    with _open(args.audit_url, create=False) as trail:
        result = trail.verify(args.head)
        failures = [c.failure for c in trail.checked_records() if c.failure]
    for failure in failures:
        print(failure)
    if result.broken is not None:
        print(f"BROKEN: {result.broken}")
        print(f"{result.records} record(s) before it are intact.")
        return EXIT_FAILED
    if failures:
        # verify() stops at the first break; the per-record walk names every failing record.
        return EXIT_FAILED
    print(f"intact: {result.records} record(s), head {result.head}")
    return 0


def _record(args: argparse.Namespace) -> Checked | None:
    """The record the command names, verified, or None after saying there is no such single record."""
    with _open(args.audit_url, create=False) as trail:
        checked = trail.checked(args.id)
    if checked is None:
        print(f"cds: no single record {args.id!r} in {trail.url}", file=sys.stderr)
    elif checked.failure:
        print(f"cds: {checked.failure}", file=sys.stderr)
    return checked


def _show(args: argparse.Namespace) -> int:
    checked = _record(args)
    if checked is None:
        return EXIT_INPUT
    if checked.record is None:
        return EXIT_FAILED
    sys.stdout.write(orjson.dumps(checked.record.model_dump(mode="json", by_alias=True),
                                  option=orjson.OPT_INDENT_2).decode() + "\n")
    return EXIT_FAILED if checked.failure else 0


def _replay(args: argparse.Namespace) -> int:
    from .replay import replay

    checked = _record(args)
    if checked is None:
        return EXIT_INPUT
    record = checked.record
    if record is None:
        # What it holds is not what was written: replaying it would compare against forged data.
        return EXIT_FAILED
    result = replay(record, Evaluator(args.knowledge()))
    print(f"record #{record.seq} {record.id}: {record.patient} as of {record.as_of.isoformat()}"
          + (f", {record.claim.claim} line {record.claim.sequence}" if record.claim else ""))
    authorization = record.claim.authorization if record.claim else None
    if authorization is not None:
        print(f"prior authorization {authorization.request}: {authorization.decision}"
              + (f", after record {authorization.follows}" if authorization.follows else ""))
    for line in result.rules:
        print(f"rules changed: {line}")
    if not result.changes:
        print("no change: today's rulesets give the same assessment")
        return 0
    for line in result.changes:
        print(line)
    return EXIT_FAILED


def _report(args: argparse.Namespace) -> int:
    from .report import write_report  # matplotlib loads only for a report

    with _open(args.audit_url, create=False) as trail:
        summary = write_report(trail, args.out, args.csv)
    for failure in summary.failures:
        print(failure)
    print(f"report: {args.out} ({summary.records} record(s), {summary.patients} patient(s)"
          + (f", {len(summary.failures)} failing verification" if summary.failures else "") + ")"
          + (f"; csv: {args.csv}" if args.csv else ""))
    return EXIT_FAILED if summary.failures else 0


def _open(url: str | None, *, create: bool = True) -> AuditTrail:
    with _store_errors():
        return AuditTrail.open(url or default_url(), create=create)


def _date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError([Problem(source="as-of", message=f"not a date (YYYY-MM-DD): {value!r}")]) from exc


def _therapies(chosen: Sequence[str] | None, known: list[str]) -> list[str]:
    unknown = sorted(set(chosen or []) - set(known))
    if unknown:
        raise InputError([Problem(source="therapy", message=f"unknown therapy {', '.join(unknown)}; "
                                                            f"known: {', '.join(known)}")])
    return list(chosen) if chosen else known
