"""Phrases of the rulesets found in free text (cds/texts.py): by whole words, in a row."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds.terminology import Terminology
from cds.texts import ResultMatcher, TextMatcher

PHRASES = ["pulmonary hypertension", "hypertension", "alpha 1", "alpha-1 antitrypsin", "RID"]


@pytest.mark.parametrize(("texts", "flags"), [
    (["Pulmonary hypertension, primary"], ["hypertension", "pulmonary_hypertension"]),
    (["\u03b11-antitrypsin deficiency"], ["alpha_1", "alpha_1_antitrypsin"]),
    (["ALPHA1 ANTITRYPSIN"], ["alpha_1", "alpha_1_antitrypsin"]),
    (["hypertensions", "pulmonary-hypertensive"], []),
    ([None, "", "method: RID"], ["rid"]),
    (["pulmonary", "hypertension"], ["hypertension"]),
    (["rapid"], []),
])
def test_phrases_match_whole_words_in_a_row(texts: list[str | None], flags: list[str]) -> None:
    assert TextMatcher(PHRASES).match(*texts) == flags


@pytest.mark.parametrize(("text", "found"), [
    ("2+", ["2_plus"]), ("Ketones: 3+ (large)", ["3_plus"]), ("2", []), ("2 mg/dL", []), ("1+", []),
    ("4 +", []),
])
def test_a_grade_written_with_plus_is_not_the_bare_number(text: str, found: list[str]) -> None:
    """A semi-quantitative result ("2+" ketones) reads as its grade, never as the number 2."""
    assert TextMatcher(["2+", "3+"]).match(text) == found


def test_no_phrases_match_nothing() -> None:
    matcher = TextMatcher()
    assert not matcher
    assert matcher.match("pulmonary hypertension") == []


def _results() -> ResultMatcher:
    words = Terminology.load(Path(__file__).parent.parent / "rulesets" / "terminology.yaml").result_words
    return ResultMatcher(["deficient", "poor metabolizer", "positive", "negative", "indeterminate"],
                         words.forms, words.interpretation)


@pytest.mark.parametrize(("texts", "codes", "flags"), [
    (["Complete DPD deficiency"], [], ["deficient"]),
    (["partial DPD deficiency"], [], ["deficient"]),
    (["DPYD *2A/*2A", "Poor metaboliser"], [], ["poor_metabolizer"]),
    (["HBsAg not detected"], [], ["negative"]),
    (["Non-reactive"], [], ["negative"]),
    (["Reactive"], [], ["positive"]),
    (["Detected"], [], ["positive"]),
    ([None], ["POS"], ["positive"]),
    ([None], ["IND"], ["indeterminate"]),
    (["Normal metabolizer (*1/*1)"], ["N"], []),
])
def test_results_are_read_in_their_word_forms_and_interpretation_codes(
        texts: list[str | None], codes: list[str], flags: list[str]) -> None:
    """criteria README "Results in words": deficiency reads as deficient, "not detected" as
    negative (never as positive), an interpretation code as its word."""
    assert _results().read(texts, codes) == flags


@pytest.mark.parametrize(("texts", "codes"), [
    (["Low"], ["L"]), (["HIGH"], ["H"]), (["Positive"], ["POS"]), (["Indeterminate"], ["IND"]),
    (["below low normal"], []), ([None, ""], []),
])
def test_an_interpretation_written_as_the_word_of_a_code_reads_as_that_code(
        texts: list[str | None], codes: list[str]) -> None:
    assert _results().codes(texts) == codes
