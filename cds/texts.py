"""Phrases of the rulesets found in free text (a code's display or text, a value, a method).

A condition term may name phrases (`condition: {text: [...]}`, `observation: {text: [...],
value_text: ..., method_text: ...}`, rulesets/README.md). Every phrase of every ruleset is known
at load; each Condition and Observation is matched once when its fact is built (cds/facts.py),
and the fact carries the flags of the phrases found, which the rules then test. So the cost is
one scan per resource, never one per rule.

Matching is by words, case-insensitive: text and phrase are lowercased, "α" read as "alpha",
letters and digits split apart ("alpha1" = "alpha 1" = "alpha-1"), a "+" after a digit is the
word "plus" (a semi-quantitative result, "2+", is not the number 2), and every other character is
a word break; a phrase matches when its words occur in a row in the text.

A result read as words (criteria README "Results in words": a genotype, a screening test) is
matched with word forms: "deficiency" reads as "deficient", "not detected" as "negative", in
the phrase and in the result alike (terminology.yaml `result_words`, `ResultMatcher`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_BOUNDARY = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")
_BREAK = re.compile(r"[^a-z0-9]+")
_GRADE = re.compile(r"(?<=[0-9])\+")


def normal(text: str) -> str:
    """The words of a text, lowercased, single-spaced."""
    lowered = _BOUNDARY.sub(" ", _GRADE.sub(" plus ", text.lower().replace("α", "alpha")))
    return " ".join(_BREAK.split(lowered)).strip()


def phrase_flag(phrase: str) -> str:
    """The name a phrase goes by in facts and rules ("pulmonary_hypertension")."""
    return normal(phrase).replace(" ", "_")


class TextMatcher:
    """The phrases of the rulesets, matched against texts."""

    # Records repeat the same displays many times (vital signs, a diagnosis on every encounter):
    # each distinct text is matched once, up to this many texts.
    CACHE = 20_000

    def __init__(self, phrases: Iterable[str] = (), forms: Mapping[str, Iterable[str]] | None = None) -> None:
        # Word form -> the word it reads as ("not detected" -> "negative"), longest forms first.
        self._forms = {tuple(normal(f).split()): tuple(normal(word).split())
                       for word, spelled in (forms or {}).items() for f in spelled if normal(f)}
        self._longest_form = max((len(words) for words in self._forms), default=0)
        # Phrase words -> flags (two phrases may read alike once forms are read). A text is then
        # looked up by its runs of up to `_longest` words, not scanned once per phrase: a record
        # holds thousands of texts, the rulesets ~100 phrases.
        self._flags: dict[tuple[str, ...], set[str]] = {}
        for phrase in phrases:
            if normal(phrase):
                self._flags.setdefault(self._words(phrase), set()).add(phrase_flag(phrase))
        self._longest = max((len(words) for words in self._flags), default=0)
        self._seen: dict[str, frozenset[str]] = {}

    def _words(self, text: str) -> tuple[str, ...]:
        """The text's words, each word form read as its word (the longest form first)."""
        words = normal(text).split()
        if not self._forms:
            return tuple(words)
        read: list[str] = []
        start = 0
        while start < len(words):
            for size in range(min(self._longest_form, len(words) - start), 0, -1):
                word = self._forms.get(tuple(words[start:start + size]))
                if word is not None:
                    read.extend(word)
                    start += size
                    break
            else:
                read.append(words[start])
                start += 1
        return tuple(read)

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
            words = self._words(text)
            known = frozenset(
                flag
                for start in range(len(words))
                for end in range(start + 1, min(start + self._longest, len(words)) + 1)
                for flag in self._flags.get(words[start:end], ())
            )
            if len(self._seen) < self.CACHE:
                self._seen[text] = known
        return known


class ResultMatcher(TextMatcher):
    """The phrases a result is read for (`value_text`), matched with word forms in the result's
    words: its value as text and its interpretation, whose HL7 v3 codes read as the words they
    stand for (POS as "positive")."""

    def __init__(self, phrases: Iterable[str] = (), forms: Mapping[str, Iterable[str]] | None = None,
                 codes: Mapping[str, str] | None = None) -> None:
        super().__init__(phrases, forms)
        self._codes = dict(codes or {})

    def codes(self, texts: Iterable[str | None]) -> list[str]:
        """The interpretation codes whose word a text is, whole ("Low" is L, "Positive" is POS):
        an interpretation written as text only."""
        words = {normal(word): code for code, word in self._codes.items()}
        return sorted({words[said] for text in texts if text and (said := normal(text)) in words})

    def read(self, texts: Iterable[str | None], codes: Iterable[str]) -> list[str]:
        """Flags of the phrases found in the texts or in the words of the interpretation codes."""
        return self.match(*texts, *(self._codes[c] for c in codes if c in self._codes))
