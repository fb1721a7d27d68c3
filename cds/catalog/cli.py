"""`cds criteria`: the catalog as Markdown, HTML or JSON, to stdout or a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .render import catalog, markdown_pages, write_html, write_json


def add_criteria_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    criteria = commands.add_parser("criteria", help="the criteria catalog: every ruleset and value set, for payers")
    criteria.add_argument("--format", choices=["md", "html", "json"], default="md")
    criteria.add_argument("--out", type=Path, metavar="DIR",
                          help="write one file per page (index, each therapy, terminology, valuesets/<id>); "
                               "without it Markdown prints the index only and JSON goes to stdout")
    criteria.set_defaults(func=_criteria)


def _criteria(args: argparse.Namespace) -> int:
    if args.format == "html":
        if args.out is None:
            print("cds: --format html writes several pages: give --out DIR", file=sys.stderr)
            return 2
        written = write_html(args.out)
        print(f"{len(written)} page(s) in {args.out}; open {args.out / 'index.html'}")
        return 0
    data = catalog()
    if args.format == "json":
        text = write_json(data)
        if args.out is None:
            sys.stdout.write(text + "\n")
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "catalog.json").write_text(text + "\n", encoding="utf-8")
            print(f"{args.out / 'catalog.json'}")
        return 0
    pages = markdown_pages(data)
    if args.out is None:
        # Every page is 1.5 MB (each value set's codes): too much for a terminal.
        sys.stdout.write(pages["index"])
        print(f"cds: the index only; give --out DIR for all {len(pages)} pages", file=sys.stderr)
        return 0
    for name, text in pages.items():
        path = args.out / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"{len(pages)} page(s) in {args.out}; start at {args.out / 'index.md'}")
    return 0
