"""The reference table of the condition language (rulesets/README.md "Conditions"): its rows are
data (rulesets/terms.yaml: their worked examples name pages, value sets and codes), one list per
term kind of the registry, plus the connectives all, any and none."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, RootModel, ValidationError

from ..ruleset import RulesetError
from .kind import REGISTRY

CONNECTIVES = "connectives"


class Reference(BaseModel):
    """One row: how a term is written, when it holds, and worked examples (Markdown; each `{...}`
    code span in it is a condition tests/test_terms.py parses against the bundled rulesets)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    syntax: str
    holds: str
    example: str


class _Rows(RootModel[dict[str, list[Reference]]]):
    pass


def load_reference(path: Path) -> dict[str, list[Reference]]:
    """The rows by kind, in the registry's order, the connectives last; a kind without rows or
    rows for no kind is an error naming the file."""
    try:
        rows = _Rows.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).root
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise RulesetError(f"{path}: {exc}") from exc
    wanted = [*REGISTRY, CONNECTIVES]
    missing = [k for k in wanted if not rows.get(k)]
    unknown = sorted(set(rows) - set(wanted))
    if missing or unknown:
        raise RulesetError(f"{path}: term kinds without rows {missing}, rows for no term kind {unknown}")
    return {kind: rows[kind] for kind in wanted}
