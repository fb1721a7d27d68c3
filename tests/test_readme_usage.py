"""The README's shell example is run as written (on a free port), and what it documents exists."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from cds import demo, knowledge
from cds.evaluator import Evaluator
from cds.cli import _parser, main

from .case_support import all_cases
from .readme_script import run_serve_example

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_curl_example_waits_for_the_server_and_prints_cards(tmp_path: Path) -> None:
    # The heading itself: prose elsewhere (the quick start's output) may name the section.
    section = README[README.index("\n### Example\n"):]
    script = re.search(r"```sh\n(.*?\nJSON\n)```", section, re.S).group(1)
    out = run_serve_example(script, tmp_path)
    assert '"cards":[{' in out.replace(" ", "")
    assert "S9326 continuous pain management infusion" in out


@pytest.mark.parametrize("documented", [
    "cds synth", "cds audit show", "--log-level", "CDS_RULESETS", "CDS_PG_DIR", "CDS_PG_PORT",
    "`apt-get`", "needs root", "--max-bytes", "CDS_MAX_RESOURCES", "CDS_MAX_FACTS", "CDS_MAX_BYTES",
])
def test_the_readme_documents(documented: str) -> None:
    assert documented in README


# The quick start shows what `make run` prints ------------------------------------------------


def _quick_start_output() -> list[str]:
    section = README[README.index("## Quick start"):README.index("## Install")]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", section, re.S | re.M)
    return next(text for language, text in blocks if not language).splitlines()


def test_the_quick_start_shows_the_commands_make_run_runs() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"\nrun: .*?\n((?:\t.*\n)+)", makefile).group(1)
    commands = [line.strip().replace("$(BIN)", ".venv/bin") for line in recipe.splitlines()]
    shown = _quick_start_output()
    assert [line for line in shown if line.startswith(".venv/bin/")] == commands
    assert not any("fixtures build" in c for c in commands), "make run stays fast: the full case set is opt-in"
    assert re.fullmatch(r"rulesets: ok, \d+ rulesets and \d+ value sets", shown[1])


def test_the_quick_start_shows_what_the_demo_prints() -> None:
    known = all_cases()
    printed = demo.render(demo.assess(demo.load(known=known), Evaluator(knowledge.default())), cds=".venv/bin/cds")
    shown = _quick_start_output()
    assert shown[shown.index(".venv/bin/cds demo") + 1:] == printed.splitlines(), \
        "the README's quick start is not what `make run` prints: paste `make run`'s output there"


# Every option the README (and docs/) gives a `cds` command is in that command's --help ------


DOCUMENTS = ("README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")))


def _readme_commands(document: str = "README.md") -> list[str]:
    """Each `cds ...` command line of a document: in shell blocks (with their indented or
    backslash continuation lines, without comments) and in inline code."""
    text = (ROOT / document).read_text(encoding="utf-8")
    found: list[str] = []
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    for block in blocks:
        joined = re.sub(r"\\\n|\n(?=[ \t]+\[)", " ", block)
        for line in joined.splitlines():
            found += [c.strip() for c in re.findall(r"(?:^|[\s/])cds (.*)", re.split(r"\s#", line)[0])]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for code in re.findall(r"`([^`]+)`", prose):
        found += re.findall(r"^(?:\S*/)?cds (.*)", " ".join(code.split()))
    return found


def _subcommand(words: list[str]) -> list[str]:
    parser, path = _parser(), []
    for word in words:
        choices = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if not choices or word not in choices:
            break
        parser, path = choices[word], [*path, word]
    return path


def _help(path: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([*path, "--help"])
    return capsys.readouterr().out


def test_the_readme_command_lines_are_found() -> None:
    commands = " | ".join(_readme_commands())
    for expected in ("evaluate PATH...", "serve [--host H]", "audit report --out", "criteria [--format",
                     "questionnaire THERAPY", "serve --payer-policy FILE", "audit show ID"):
        assert expected in commands


def _missing_options(command: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    path = _subcommand(command.split())
    assert path, f"`cds {command}`: no such command"
    text = _help(path, capsys)
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", command))
    missing = [o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)]
    # Choices written `--format md|html|json`: each is one the help offers.
    for option, choices in re.findall(r"(--[a-z][a-z0-9-]*) ([a-z0-9]+(?:\|[a-z0-9]+)+)", command):
        missing += [f"{option} {c}" for c in choices.split("|") if not re.search(rf"[{{,]{c}[,}}]", text)]
    return sorted(missing)


@pytest.mark.parametrize(("document", "command"),
                         [(d, c) for d in DOCUMENTS for c in sorted(set(_readme_commands(d)))])
def test_every_option_the_readme_uses_is_in_the_commands_help(
        document: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _missing_options(command, capsys) == []


def test_an_option_missing_from_the_help_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    assert _missing_options("serve --port 1 [--no-such-option]", capsys) == ["--no-such-option"]
    assert _missing_options("criteria --format md|pdf", capsys) == ["--format pdf"]


def test_cds_help_names_every_command_the_readme_uses(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help([], capsys)
    used = {_subcommand(command.split())[0] for d in DOCUMENTS for command in _readme_commands(d)}
    assert sorted(c for c in used if not re.search(rf"^\s+{c}\s", text, re.M)) == []
