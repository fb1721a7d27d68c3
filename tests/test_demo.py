"""The first run (`cds demo`, `make run`): named test patients, every therapy and every outcome, on
one screen, then where to go next; the demo file stays in step with the case files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cds import cases, demo, knowledge
from cds.cli import main
from cds.evaluator import Evaluator
from cds.models import Assessment, Status
from cds.render_text import shortened

from .case_support import all_cases

# `make run` echoes its two commands and prints the rulesets check's line above the demo.
MAKE_LINES = 3
SCREEN_LINES = 45


@pytest.fixture(scope="module")
def known() -> dict[str, cases.Case]:
    return all_cases()


@pytest.fixture(scope="module")
def assessed(known: dict[str, cases.Case]) -> list[tuple[demo.Chosen, Assessment]]:
    return demo.assess(demo.load(known=known), Evaluator(knowledge.default()))


def test_the_demo_shows_every_therapy_and_every_outcome(known: dict[str, cases.Case]) -> None:
    chosen = demo.load(known=known)
    assert {c.therapy for c in chosen} == set(knowledge.default().rulesets)
    assert {c.case.expect[c.therapy]["status"] for c in chosen} == {s.value for s in Status}
    assert len({c.story for c in chosen}) == len(chosen), "each patient has its own story"


def test_each_row_is_what_its_case_expects(assessed: list[tuple[demo.Chosen, Assessment]]) -> None:
    for chosen, assessment in assessed:
        expected = chosen.case.expect[chosen.therapy]
        assert (assessment.status, assessment.billing.code) == (expected["status"], expected["billing"]), chosen.story
        assert [a.id for a in assessment.alternatives][:1] == expected["alternatives"][:1], chosen.story


def test_the_demo_fits_one_screen_and_says_where_to_go_next(
        assessed: list[tuple[demo.Chosen, Assessment]], known: dict[str, cases.Case]) -> None:
    text = demo.render(assessed, cds=".venv/bin/cds")
    lines = text.splitlines()
    assert len(lines) + MAKE_LINES <= SCREEN_LINES
    assert max(len(line) for line in lines) <= demo.WIDTH
    for chosen, assessment in assessed:
        row = next(line for line in lines if line.strip().startswith(chosen.story))
        assert assessment.therapy in row and assessment.billing.code in row
    for status in (s.value for s in Status):
        assert any(line.startswith(f"{status} (") for line in lines)
    for step in (".venv/bin/cds evaluate PATH...", ".venv/bin/cds serve", "curl example of README.md",
                 "http://127.0.0.1:8080/review", ".venv/bin/cds criteria --format html",
                 ".venv/bin/cds audit report", "every test case",
                 ".venv/bin/cds evaluate build/fixtures"):
        assert step in text


def test_each_reason_is_shown_whole_or_cut_at_a_word(assessed: list[tuple[demo.Chosen, Assessment]]) -> None:
    lines = demo.render(assessed).splitlines()
    header = next(line for line in lines if "main reason" in line)
    start, end = header.index("main reason"), header.index("top alternative")
    for chosen, assessment in assessed:
        row = next(line for line in lines if line.strip().startswith(chosen.story))
        shown, reason = row[start:end].strip(), assessment.main_reason()
        assert shown == reason or (shown.endswith("...") and reason.startswith(shown[:-3])
                                   and reason[len(shown) - 3] in " ,;:(."), chosen.story


@pytest.mark.parametrize(("text", "width", "shown"), [
    ("Age 3 years: under 4.", 30, "Age 3 years: under 4."),
    ("Cancer-related pain on record: Neoplasm related pain.", 30, "Cancer-related pain on..."),
    ("heart-failure-specialist-referral", 24, "heart-failure-special..."),
])
def test_shortened_cuts_at_a_word_with_an_ellipsis(text: str, width: int, shown: str) -> None:
    assert shortened(text, width) == shown
    assert len(shortened(text, width)) <= width


@pytest.mark.parametrize(("entry", "message"), [
    ("{case: S9326.indication/gone-away, story: Gone}", "names case S9326.indication/gone-away, which no case"),
    ("{case: S9326.indication/cancer-related-pain, story: Pain, therapy: S9494}",
     "case S9326.indication/cancer-related-pain expects nothing for S9494"),
    ("{case: S9326.indication/cancer-related-pain, story: " + "x" * 29 + "}", "patients.0.story"),
    ("{case: S9326.indication/cancer-related-pain, story: Pain, colour: red}", "patients.0.colour"),
])
def test_a_demo_entry_that_is_not_a_case_is_an_error_naming_it(
        tmp_path: Path, known: dict[str, cases.Case], entry: str, message: str) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(f"patients:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(cases.CaseError, match=re.escape(message)):
        demo.load(path, known=known)


def test_cds_demo_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Cancer pain, IV opioid pump  S9326" in out
    assert "Where to go next:" in out


def test_without_a_checkout_the_demo_says_so(tmp_path: Path) -> None:
    with pytest.raises(cases.CaseError, match="no demo file: .* is absent"):
        demo.load(tmp_path / "demo.yaml", known={})
