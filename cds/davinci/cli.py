"""`cds questionnaire THERAPY`: the therapy's DTR Questionnaire as FHIR JSON (optionally the
ValueSets it uses, as a collection Bundle)."""

from __future__ import annotations

import argparse
import sys

import orjson

from .. import knowledge as _knowledge
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


def _questionnaire(args: argparse.Namespace) -> int:
    knowledge = _knowledge.default()
    therapy = args.therapy.strip().upper()
    if therapy not in knowledge.rulesets:
        print(f"cds: no ruleset for therapy {args.therapy!r}; known: {', '.join(sorted(knowledge.rulesets))}",
              file=sys.stderr)
        return 2
    questionnaire = build_questionnaire(knowledge, therapy, args.base_url)
    out: object = questionnaire
    if args.with_valuesets:
        out = {"resourceType": "Bundle", "type": "collection",
               "entry": [{"resource": r} for r in [questionnaire, *build_valuesets(knowledge, therapy, args.base_url)]]}
    sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
