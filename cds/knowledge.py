"""Everything the engine knows, loaded and compiled once per process from rulesets/."""

from __future__ import annotations

import atexit
import os
from contextlib import ExitStack
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .conditions import parse_ruleset
from .engine import CompiledRuleset
from .ruleset import Ruleset, RulesetError, load_ruleset
from .terminology import DrugClassifier, Terminology, ValueSetError, ValueSets

# A deployment's own rulesets folder, instead of the ones shipped with the package.
ENV_VAR = "CDS_RULESETS"


def _shipped_rulesets() -> Path:
    """The rulesets shipped as package data (cds._rulesets: the repository's rulesets/ folder)."""
    # A real folder, as the loaders glob it: as_file hands back an installed package's own
    # folder unchanged (and, from Python 3.12, extracts a zipped one for the process's life).
    try:
        shipped = resources.files("cds._rulesets")
    except ModuleNotFoundError:  # a source tree put on sys.path by hand, not installed
        return Path(__file__).resolve().parent.parent / "rulesets"
    stack = ExitStack()
    atexit.register(stack.close)
    return stack.enter_context(resources.as_file(shipped))


DEFAULT_RULESETS = _shipped_rulesets()


@dataclass
class Knowledge:
    folder: Path
    terminology: Terminology
    valuesets: ValueSets
    classifier: DrugClassifier
    rulesets: dict[str, Ruleset]
    compiled: dict[str, CompiledRuleset]

    @property
    def versions(self) -> dict[str, str]:
        return {therapy: r.full_version for therapy, r in self.rulesets.items()}


def rulesets_folder() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_RULESETS)


def load(folder: Path) -> Knowledge:
    """Load and check every ruleset of a folder; raises RulesetError naming file and problem."""
    if not folder.is_dir():
        raise RulesetError(f"{folder}: no such rulesets folder (set {ENV_VAR} to a folder, or unset it)")
    try:
        valuesets = ValueSets.load(folder / "valuesets")
        terminology = Terminology.load(folder / "terminology.yaml")
        classifier = DrugClassifier(terminology, valuesets)
    except (ValueSetError, ValueError, OSError) as exc:
        raise RulesetError(str(exc)) from exc
    rulesets: dict[str, Ruleset] = {}
    for path in sorted(folder.glob("S*.yaml")):
        ruleset = load_ruleset(path)
        if ruleset.therapy != path.stem:
            raise RulesetError(f"{path}: therapy {ruleset.therapy} does not match the file name")
        unknown = {c.drug_class for c in ruleset.courses} - set(terminology.drug_classes)
        if unknown:
            raise RulesetError(f"{path}: unknown drug classes {sorted(unknown)}")
        check_routing(ruleset, terminology)
        rulesets[ruleset.therapy] = ruleset
    if not rulesets:
        raise RulesetError(f"{folder}: no ruleset files (S*.yaml)")
    parsed = {t: parse_ruleset(r, terminology, valuesets) for t, r in rulesets.items()}
    compiled = {t: CompiledRuleset(r, parsed[t]) for t, r in rulesets.items()}
    return Knowledge(folder, terminology, valuesets, classifier, rulesets, compiled)


def check_routing(ruleset: Ruleset, terminology: Terminology) -> None:
    """A routing block must claim something, with names the terminology knows."""
    where = f"{ruleset.file}: line {ruleset.routing.line}: routing"
    if not ruleset.routing.claims:
        raise RulesetError(f"{where}: claims nothing (no claims)")
    if ruleset.routing.criterion not in {c.id for c in ruleset.criteria}:
        raise RulesetError(f"{where}: criterion {ruleset.routing.criterion} is not a criterion of this ruleset")
    for number, claim in enumerate(ruleset.routing.claims, start=1):
        here = f"{ruleset.file}: line {claim.line}: routing claim {number}"
        if not (claim.classes or claim.ingredients):
            raise RulesetError(f"{here}: claims nothing: name drug classes or ingredients")
        problems = [f"unknown drug class {c}" for c in [*claim.classes, *claim.not_classes]
                    if c not in terminology.drug_classes]
        problems += [f"unknown ingredient or brand {n}" for n in claim.ingredients if n not in terminology.names()]
        problems += [f"unknown route {r}" for r in claim.routes if r not in terminology.routes.classes]
        if problems:
            raise RulesetError(f"{here}: {'; '.join(problems)}")


@lru_cache(maxsize=4)
def _cached(folder: str) -> Knowledge:
    return load(Path(folder))


def default() -> Knowledge:
    return _cached(str(rulesets_folder().resolve()))
