"""Phrases of the rulesets found in free text (cds/texts.py): by whole words, in a row."""

from __future__ import annotations

import pytest

from cds.texts import TextMatcher

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


def test_no_phrases_match_nothing() -> None:
    matcher = TextMatcher()
    assert not matcher
    assert matcher.match("pulmonary hypertension") == []
