"""The `cds` command line: thin over the library."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from . import cases, demo, knowledge
from .audit.cli import add_audit_commands, add_audit_options, evaluate_audited
from .catalog.cli import add_criteria_command
from .davinci.cli import add_pas_commands, add_questionnaire_command
from .evaluate import evaluate_all
from .evaluator import Evaluator
from .fhir import InputError
from .fhir.limits import MAX_BYTES_VAR
from .web.command import add_serve_parser
from .render_text import render_table, render_text
from .ruleset import RulesetError
from .synth import write

EXIT_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # The CLI chooses the rulesets (CDS_RULESETS, or those shipped) for every command below it,
    # loaded only by a command that needs them.
    args.knowledge = knowledge.default
    try:
        return int(args.func(args))
    except InputError as exc:
        for problem in exc.problems:
            print(f"cds: {problem}", file=sys.stderr)
        return EXIT_INPUT
    except RulesetError as exc:
        print(f"cds: ruleset error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except cases.CaseError as exc:
        print(f"cds: case error: {exc}", file=sys.stderr)
        return EXIT_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cds", description="Clinical decision support for home infusion therapy: FHIR R4 records in, "
                                "an assessment per therapy out. Start with `cds demo`; `cds COMMAND --help` "
                                "for each command.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    evaluate = commands.add_parser("evaluate", help="assess patients from FHIR files")
    evaluate.add_argument("paths", nargs="+", metavar="PATH",
                          help="FHIR Bundle, resource, JSON array or NDJSON file, or a folder of them")
    evaluate.add_argument("--as-of", help="date to assess against (YYYY-MM-DD; default today)")
    evaluate.add_argument("--therapy", action="append", help="HCPCS code (repeatable; default all)")
    evaluate.add_argument("--format", choices=["json", "text", "table"], default="json")
    evaluate.add_argument("--max-bytes", type=_positive, metavar="N",
                          help=f"bytes read at most per input file (default ${MAX_BYTES_VAR}, else 256 MiB)")
    add_audit_options(evaluate)
    evaluate.set_defaults(func=_evaluate)

    synth = commands.add_parser("synth", help="write synthetic FHIR patients (benchmarks, batch tests)")
    synth.add_argument("--patients", type=int, default=100)
    synth.add_argument("--size", type=int, default=50, help="resources per patient (10 to 2,000)")
    synth.add_argument("--seed", type=int, default=1)
    synth.add_argument("--format", choices=["bundle", "ndjson"], default="bundle")
    synth.add_argument("--out", required=True, help="folder to write into")
    synth.set_defaults(func=_synth)

    rulesets = commands.add_parser("rulesets", help="work with the rulesets")
    rulesets_commands = rulesets.add_subparsers(required=True, metavar="ACTION")
    check = rulesets_commands.add_parser("check", help="validate every ruleset and value set")
    check.add_argument("--quiet", action="store_true", help="one line for all of them (errors still in full)")
    check.set_defaults(func=_rulesets_check)

    fixtures = commands.add_parser("fixtures", help="work with the test cases (fixtures/cases)")
    fixtures_commands = fixtures.add_subparsers(required=True, metavar="ACTION")
    build = fixtures_commands.add_parser("build", help="write each case as a FHIR R4 Bundle to inspect or evaluate")
    build.add_argument("files", nargs="*", type=Path, metavar="CASE-FILE",
                       help="case files (default: every file of fixtures/cases)")
    build.add_argument("--out", type=Path, default=Path("build/fixtures"), help="folder to write into")
    build.set_defaults(func=_fixtures_build)
    show = fixtures_commands.add_parser("show", help="print cases as written without defaults (the full record)")
    show.add_argument("names", nargs="+", metavar="NAME", help="case names as in fixtures/cases (RULESET.SUBJECT/LABEL)")
    show.add_argument("--bundle", action="store_true", help="print the FHIR R4 Bundle built from each case instead")
    show.set_defaults(func=_fixtures_show)

    demo_command = commands.add_parser("demo", help="a few named test patients assessed, on one screen (make run)")
    demo_command.set_defaults(func=_demo)

    add_serve_parser(commands)
    add_criteria_command(commands)
    add_questionnaire_command(commands)
    add_pas_commands(commands)
    add_audit_commands(commands)
    return parser


def _positive(raw: str) -> int:
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {raw!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _evaluate(args: argparse.Namespace) -> int:
    if args.max_bytes is not None:
        # The cap is read where each file is read (and by batch workers): the environment carries it.
        os.environ[MAX_BYTES_VAR] = str(args.max_bytes)
    if args.audit:
        results = evaluate_audited(args)
    else:
        results = evaluate_all(args.paths, as_of=args.as_of, therapies=args.therapy)
    out = sys.stdout
    if args.format == "json":
        for result in results:
            out.write(orjson.dumps(result.to_json()).decode() + "\n")
    elif args.format == "text":
        out.write("\n\n".join(render_text(r) for r in results) + "\n")
    else:
        out.write(render_table(results) + "\n")
    return 0


def _synth(args: argparse.Namespace) -> int:
    counts = write(Path(args.out), args.patients, args.knowledge(), size=args.size, seed=args.seed, fmt=args.format)
    print(f"{args.patients} patients of {args.size} resources in {args.out}: "
          + ", ".join(f"{n} {scenario}" for scenario, n in counts.items()))
    return 0


def _fixtures_build(args: argparse.Namespace) -> int:
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        raise cases.CaseError(f"no such case file: {', '.join(missing)}")
    if not args.files and not cases.DEFAULT_FOLDER.is_dir():
        raise cases.CaseError(f"no case files: {cases.DEFAULT_FOLDER} is absent (give CASE-FILE paths)")
    loaded = cases.load(args.files or None)
    routes = cases.route_codes(args.knowledge().terminology.routes.snomed)
    written = cases.write(loaded.values(), args.out, routes)
    print(f"{len(written)} bundles in {args.out}")
    return 0


def _fixtures_show(args: argparse.Namespace) -> int:
    known = cases.load()
    missing = [name for name in args.names if name not in known]
    if missing:
        # The name given is not echoed back; the closest case names are.
        close = difflib.get_close_matches(missing[0], list(known), n=3, cutoff=0.5)
        raise cases.CaseError(f"{len(missing)} of the {len(args.names)} names given is no case of the case files"
                              + (f"; the closest: {', '.join(close)}" if close else ""))
    routes = cases.route_codes(knowledge.default().terminology.routes.snomed) if args.bundle else {}
    for name in args.names:
        case = known[name]
        if args.bundle:
            print(orjson.dumps(cases.build(case, routes), option=orjson.OPT_INDENT_2).decode())
        else:
            print(cases.show(case), end="")
    return 0


def _rulesets_check(args: argparse.Namespace) -> int:
    loaded = knowledge.load(knowledge.rulesets_folder())
    if args.quiet:
        print(f"rulesets: ok, {len(loaded.rulesets)} rulesets and {len(loaded.valuesets.by_id)} value sets")
        return 0
    for therapy, ruleset in loaded.rulesets.items():
        print(f"{ruleset.file}: ok, {therapy} {ruleset.full_version}, "
              f"{len(ruleset.criteria)} criteria, {len(ruleset.findings)} findings")
    print(f"valuesets: ok, {len(loaded.valuesets.by_id)} value sets")
    return 0


def _demo(args: argparse.Namespace) -> int:
    known = cases.load()
    chosen = demo.load(known=known)
    print(demo.render(demo.assess(chosen, Evaluator(args.knowledge())), cds=demo.command()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
