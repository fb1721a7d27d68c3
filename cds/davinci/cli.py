"""`cds questionnaire THERAPY`: the therapy's DTR Questionnaire as FHIR JSON (optionally the
ValueSets it uses, as a collection Bundle). `cds pas submit BUNDLE.json`: a PAS Request Bundle
decided offline; `cds pas example THERAPY`: a request made from one of the therapy's test cases."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import orjson

from .. import cases
from ..audit import AuditTrail
from ..knowledge import Knowledge
from ..service.errors import HookError
from .pas import submit
from .pas_example import example_case, example_request
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
    submit_command = sub.add_parser("submit", help="decide a PAS Request Bundle; print the PAS Response Bundle")
    submit_command.add_argument("bundle", metavar="BUNDLE.json", type=Path, help="a PAS Request Bundle (JSON)")
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
    example.set_defaults(func=_pas_example)


def _pas_submit(args: argparse.Namespace) -> int:
    try:
        body = orjson.loads(args.bundle.read_bytes())
    except OSError as exc:
        print(f"cds: {args.bundle}: cannot be read ({exc.strerror or exc})", file=sys.stderr)
        return 2
    except orjson.JSONDecodeError:
        print(f"cds: {args.bundle}: not JSON", file=sys.stderr)
        return 2
    with AuditTrail.open(args.audit_url) as trail:
        try:
            response = submit(body, args.knowledge(), trail, args.base_url, args.as_of or dt.date.today(),
                              via="cli")
        except HookError as exc:
            for problem in exc.problems:
                print(f"cds: {problem}", file=sys.stderr)
            return 2
    sys.stdout.write(orjson.dumps(response, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


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
    sys.stdout.write(orjson.dumps(example_request(case, knowledge, args.code), option=orjson.OPT_INDENT_2).decode()
                     + "\n")
    return 0
