"""The test cases (fixtures/cases/*.yaml) offered on /review as fixture patients, built on demand."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from .. import cases
from ..knowledge import Knowledge

# The repository's cases; an installed package without them offers none.
DEFAULT_FOLDER = cases.DEFAULT_FOLDER


@dataclass(frozen=True)
class Fixture:
    case: cases.Case
    # The route codes the case builder writes (the rulesets' terminology).
    routes: dict[str, str]

    @property
    def name(self) -> str:
        """The case name: "<ruleset>.<criterion>/<label>"."""
        return self.case.name

    @property
    def description(self) -> str:
        return self.case.description

    @property
    def as_of(self) -> dt.date:
        return self.case.as_of

    @property
    def group(self) -> str:
        """The ruleset the case is about (its case file)."""
        return self.case.ruleset

    @property
    def label(self) -> str:
        return f"{self.name}: {self.description}"

    def text(self) -> str:
        """The case's record as FHIR R4 Bundle JSON, built now so the page shows what the builder makes."""
        return json.dumps(cases.build(self.case, self.routes), indent=2)


def fixtures(knowledge: Knowledge, folder: Path | None = DEFAULT_FOLDER) -> dict[str, Fixture]:
    if folder is None or not folder.is_dir():
        return {}
    routes = cases.route_codes(knowledge.terminology.routes.snomed)
    return {name: Fixture(case, routes) for name, case in cases.load(folder=folder).items()}
