"""How a result is read as words, from terminology.yaml `result_words` (criteria README,
"Results in words"): the words an interpretation code stands for, and the word forms a result
is written in."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResultWords(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # HL7 v3 ObservationInterpretation code -> the word it reads as (POS -> positive).
    interpretation: dict[str, str] = {}
    # A word -> the forms read as it (deficient: [deficiency]); a form may be several words.
    forms: dict[str, list[str]] = {}
    sources: list[str] = []
