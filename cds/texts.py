"""Phrases of the rulesets found in free text (a code's display or text, a value, a method).

A condition term may name phrases (`condition: {text: [...]}`, `observation: {text: [...],
value_text: ..., method_text: ...}`, rulesets/README.md). Every phrase of every ruleset is known
at load; each Condition and Observation is matched once when its fact is built (cds/facts.py),
and the fact carries the flags of the phrases found, which the rules then test. So the cost is
one scan per resource, never one per rule.

Matching is by words, case-insensitive: text and phrase are lowercased, "α" read as "alpha",
letters and digits split apart ("alpha1" = "alpha 1" = "alpha-1"), and every other character is
a word break; a phrase matches when its words occur in a row in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_BOUNDARY = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")
_BREAK = re.compile(r"[^a-z0-9]+")


def normal(text: str) -> str:
    """The words of a text, lowercased, single-spaced."""
    lowered = _BOUNDARY.sub(" ", text.lower().replace("α", "alpha"))
    return " ".join(_BREAK.split(lowered)).strip()


def phrase_flag(phrase: str) -> str:
    """The name a phrase goes by in facts and rules ("pulmonary_hypertension")."""
    return normal(phrase).replace(" ", "_")


class TextMatcher:
    """The phrases of the rulesets, matched against texts."""

    # Records repeat the same displays many times (vital signs, a diagnosis on every encounter):
    # each distinct text is matched once, up to this many texts.
    CACHE = 20_000

    def __init__(self, phrases: Iterable[str] = ()) -> None:
        # Phrase words -> flag. A text is then looked up by its runs of up to `_longest` words,
        # not scanned once per phrase: a record holds thousands of texts, the rulesets ~100 phrases.
        self._flags = {tuple(normal(p).split()): phrase_flag(p) for p in phrases if normal(p)}
        self._longest = max((len(words) for words in self._flags), default=0)
        self._seen: dict[str, frozenset[str]] = {}

    def __bool__(self) -> bool:
        return bool(self._flags)

    def match(self, *texts: str | None) -> list[str]:
        """Flags of the phrases found in any of the texts, sorted."""
        if not self._flags:
            return []
        found: set[str] = set()
        for text in texts:
            if text:
                found |= self._one(text)
        return sorted(found)

    def _one(self, text: str) -> frozenset[str]:
        known = self._seen.get(text)
        if known is None:
            words = normal(text).split()
            known = frozenset(
                flag
                for start in range(len(words))
                for end in range(start + 1, min(start + self._longest, len(words)) + 1)
                if (flag := self._flags.get(tuple(words[start:end]))) is not None
            )
            if len(self._seen) < self.CACHE:
                self._seen[text] = known
        return known
