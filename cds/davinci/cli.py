"""`cds questionnaire THERAPY`: the therapy's DTR Questionnaire as FHIR JSON (optionally the
ValueSets it uses, as a collection Bundle). `cds pas submit BUNDLE.json`: a PAS Request Bundle
decided offline; `cds pas example THERAPY`: a request made from one of the therapy's test cases."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import orjson

from .. import cases
from ..audit import AuditTrail, StoreError
from ..audit.pa_metrics import render, trail_figures
from ..knowledge import Knowledge
from ..service.errors import HookError
from .pas import submit
from .pas_example import example_case, example_request, inquiry_for, record_request
from .questionnaire import build_questionnaire, build_valuesets

# What `cds serve` answers on by default: the canonical names the server that serves it.
DEFAULT_BASE = "http://localhost:8080"


def add_questionnaire_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    command = commands.add_parser("questionnaire", help="a therapy's Da Vinci DTR Questionnaire, as FHIR JSON")
    command.add_argument("therapy", metavar="THERAPY", help="HCPCS code of the therapy (e.g. as `cds criteria` lists)")
    command.add_argument("--base-url", default=DEFAULT_BASE, metavar="URL",
                         help=f"the service's public base URL, for the canonical (default {DEFAULT_BASE})")
    command.add_argument("--with-valuesets", action="store_true",
                         help="print a collection Bundle: the Questionnaire and the ValueSets it uses")
    command.set_defaults(func=_questionnaire)


def _therapy(args: argparse.Namespace, knowledge: Knowledge) -> str | None:
    """The THERAPY argument as a ruleset id; None (and a message naming the known ones) when unknown."""
    therapy = str(args.therapy).strip().upper()
    if therapy not in knowledge.rulesets:
        print(f"cds: no ruleset for therapy {args.therapy!r}; known: {', '.join(sorted(knowledge.rulesets))}",
              file=sys.stderr)
        return None
    return therapy


def _questionnaire(args: argparse.Namespace) -> int:
    knowledge = args.knowledge()
    therapy = _therapy(args, knowledge)
    if therapy is None:
        return 2
    questionnaire = build_questionnaire(knowledge, therapy, args.base_url)
    out: object = questionnaire
    if args.with_valuesets:
        out = {"resourceType": "Bundle", "type": "collection",
               "entry": [{"resource": r} for r in [questionnaire, *build_valuesets(knowledge, therapy, args.base_url)]]}
    sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def add_pas_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pas = commands.add_parser("pas", help="Da Vinci PAS prior authorization: decide a request offline, write examples")
    sub = pas.add_subparsers(required=True, metavar="COMMAND")
    submit_command = sub.add_parser("submit", help="decide PAS Request Bundles; print the PAS Response Bundles "
                                                   "(one per line when several)")
    submit_command.add_argument("bundles", metavar="BUNDLE.json", type=Path, nargs="+",
                                help="a PAS Request Bundle (JSON); with --from-record a patient's record Bundle")
    submit_command.add_argument("--from-record", action="store_true",
                                help="each BUNDLE is a patient's record (e.g. from `cds synth`): request its draft "
                                     "orders with the code the rules pick")
    submit_command.add_argument("--as-of", type=dt.date.fromisoformat, default=None, metavar="DATE",
                                help="date to decide against (YYYY-MM-DD; default today)")
    submit_command.add_argument("--base-url", default=DEFAULT_BASE, metavar="URL",
                                help=f"the service's public base URL, for the DTR questionnaire named (default {DEFAULT_BASE})")
    submit_command.add_argument("--audit-url", default=None, metavar="URL",
                                help="audit trail the decisions are recorded in (default $CDS_AUDIT_URL "
                                     "or sqlite:///cds-audit.sqlite)")
    submit_command.set_defaults(func=_pas_submit)
    example = sub.add_parser("example", help="print a PAS Request Bundle for one of a therapy's test cases")
    example.add_argument("therapy", metavar="THERAPY", help="HCPCS code of the therapy (e.g. as `cds criteria` lists)")
    example.add_argument("--case", default=None, metavar="NAME",
                         help="the test case (default: the therapy's first eligible case with an order)")
    example.add_argument("--code", default=None, metavar="HCPCS", help="the code asked (default the case's billing code)")
    example.add_argument("--inquiry", action="store_true",
                         help="print the PAS Inquiry Request Bundle (Claim/$inquire) about that request instead")
    example.set_defaults(func=_pas_example)
    metrics = sub.add_parser("metrics", help="CMS-0057-F prior authorization figures from the audit trail, "
                                             "per therapy and for all")
    metrics.add_argument("--from", dest="start", type=dt.date.fromisoformat, default=None, metavar="DATE",
                         help="first request day counted (YYYY-MM-DD; default: the trail's first)")
    metrics.add_argument("--to", dest="end", type=dt.date.fromisoformat, default=None, metavar="DATE",
                         help="last request day counted (YYYY-MM-DD; default: the trail's last)")
    metrics.add_argument("--format", choices=["md", "json", "csv"], default="md",
                         help="a Markdown table (default), JSON or CSV")
    metrics.add_argument("--audit-url", default=None, metavar="URL",
                         help="the audit trail (default $CDS_AUDIT_URL or sqlite:///cds-audit.sqlite)")
    metrics.set_defaults(func=_pas_metrics)


def _pas_submit(args: argparse.Namespace) -> int:
    knowledge, day, failed = args.knowledge(), args.as_of or dt.date.today(), False
    with AuditTrail.open(args.audit_url) as trail:
        for path in args.bundles:
            body = _read_json(path)
            if body is None:
                failed = True
                continue
            if args.from_record:
                body = record_request(body, knowledge, day)
                if body is None:
                    # A patient without an order is part of a corpus, not an error in it.
                    print(f"cds: {path}: no draft order that a therapy claims: nothing to request", file=sys.stderr)
                    continue
            try:
                response = submit(body, knowledge, trail, args.base_url, day, via="cli")
            except HookError as exc:
                for problem in exc.problems:
                    print(f"cds: {path}: {problem}", file=sys.stderr)
                failed = True
                continue
            option = orjson.OPT_INDENT_2 if len(args.bundles) == 1 else 0
            sys.stdout.write(orjson.dumps(response, option=option).decode() + "\n")
    return 2 if failed else 0


def _read_json(path: Path) -> Any:
    """The file's JSON, or None after saying why it cannot be read."""
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        print(f"cds: {path}: cannot be read ({exc.strerror or exc})", file=sys.stderr)
    except orjson.JSONDecodeError:
        print(f"cds: {path}: not JSON", file=sys.stderr)
    return None


def _pas_metrics(args: argparse.Namespace) -> int:
    try:
        with AuditTrail.open(args.audit_url, create=False) as trail:
            rows, failures = trail_figures(trail, args.start, args.end)
    except StoreError as exc:
        print(f"cds: {exc}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"cds: left out: {failure}", file=sys.stderr)
    sys.stdout.write(render(rows, args.format))
    return 1 if failures else 0


def _pas_example(args: argparse.Namespace) -> int:
    knowledge = args.knowledge()
    therapy = _therapy(args, knowledge)
    if therapy is None:
        return 2
    loaded = cases.load()
    case = loaded.get(args.case) if args.case else example_case(loaded, therapy)
    if case is None or case.ruleset != therapy:
        print(f"cds: no test case of {therapy} to make a request from (see fixtures/cases/{therapy}.yaml)",
              file=sys.stderr)
        return 2
    request = example_request(case, knowledge, args.code)
    out = inquiry_for(request) if args.inquiry else request
    sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
