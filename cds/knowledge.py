"""Everything the engine knows, loaded and compiled once per process from rulesets/."""

from __future__ import annotations

import atexit
import datetime as dt
import gc
import os
from contextlib import ExitStack
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .adjuncts import load_adjuncts
from .conditions import REGISTRY, ParsedRuleset, parse_ruleset, phrases, terms
from .facts import PatientFacts, build_facts
from .fhir.record import PatientRecord
from .fhir.registry import BY_NAME
from .engine import Shards, host
from .ruleset import Adjunct, Ruleset, RulesetError, load_ruleset
from .terminology import DrugClassifier, Terminology, ValueSetError, ValueSets
from .texts import ResultMatcher, TextMatcher

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


@dataclass(eq=False)
class Knowledge:
    folder: Path
    terminology: Terminology
    valuesets: ValueSets
    classifier: DrugClassifier
    rulesets: dict[str, Ruleset]
    parsed: dict[str, ParsedRuleset]

    # The resource types the rules read (cds/fhir/registry.py): Patient, Condition and
    # MedicationRequest always; Observation and Procedure when a rule reads them.
    reads: frozenset[str] = frozenset()
    # Every phrase the rulesets look for in free text (condition and observation text terms).
    texts: TextMatcher = TextMatcher()
    # The phrases results are read for (`value_text`), with the word forms of terminology.yaml.
    results: ResultMatcher = ResultMatcher()
    # Orders that serve another page's order (rulesets/routing.yaml, cds/adjuncts.py).
    adjuncts: list[Adjunct] = field(default_factory=list)
    # The rules of each set of therapies evaluated (all, or a --therapy choice), compiled together.
    _engines: dict[tuple[str, ...], Shards] = field(default_factory=dict, repr=False)

    def engine(self, therapies: Iterable[str] | None = None) -> Shards:
        """The rules of these therapies (default: all) as one engine (in shards: cds/engine/run.py),
        compiled once per set."""
        chosen = set(self.rulesets) if therapies is None else set(therapies)
        key = tuple(t for t in self.rulesets if t in chosen)
        with host.lock:
            if key not in self._engines:
                self._engines[key] = Shards([(self.rulesets[t], self.parsed[t]) for t in key])
            return self._engines[key]

    def screen(self, resource: dict[str, Any]) -> bool:
        """False for a resource no rule can read: a type no ruleset reads, or (Condition,
        Observation) one whose codes are in no value set. It is neither validated nor kept."""
        registered = BY_NAME.get(resource.get("resourceType"))  # type: ignore[arg-type]
        if registered is None:
            return True
        if registered.name not in self.reads and registered.record_list is not None:
            return False
        return self.valuesets.screen(resource) or self._named(resource)

    def _named(self, resource: dict[str, Any]) -> bool:
        """Whether a Condition's or Observation's code names a phrase a rule looks for."""
        concept = resource.get("code")
        if not self.texts or not isinstance(concept, dict):
            return False
        codings = concept.get("coding") if isinstance(concept.get("coding"), list) else []
        found = [concept.get("text"), *(c.get("display") for c in codings if isinstance(c, dict))]
        return bool(self.texts.match(*(t for t in found if isinstance(t, str))))

    def facts(self, record: PatientRecord, as_of: dt.date, order_refs: set[str] | None = None) -> PatientFacts:
        """Every fact of one patient for these rulesets, once for all therapies (cds/facts.py):
        the one place facts are built from a record, so no caller forgets a piece of knowledge."""
        return build_facts(record, as_of, list(self.rulesets.values()), self.classifier, self.valuesets,
                           order_refs, self.texts, self.results, self.adjuncts)

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
    weights = terminology.dose_per_kg.weight if terminology.dose_per_kg else []
    if unknown_weights := [v for v in weights if v not in valuesets.by_id]:
        raise RulesetError(f"{folder / 'terminology.yaml'}: dose_per_kg.weight: unknown value sets {unknown_weights}")
    rulesets: dict[str, Ruleset] = {}
    for path in sorted(folder.glob("S*.yaml")):
        ruleset = load_ruleset(path)
        if ruleset.therapy != path.stem:
            raise RulesetError(f"{path}: therapy {ruleset.therapy} does not match the file name")
        unknown = {n for c in ruleset.courses for n in [c.drug_class, *c.not_drug_classes]} - set(terminology.drug_classes)
        if unknown:
            raise RulesetError(f"{path}: unknown drug classes {sorted(unknown)}")
        check_routing(ruleset, terminology, valuesets)
        rulesets[ruleset.therapy] = ruleset
    if not rulesets:
        raise RulesetError(f"{folder}: no ruleset files (S*.yaml)")
    parsed = {t: parse_ruleset(r, terminology, valuesets) for t, r in rulesets.items()}
    for therapy, ruleset_parsed in parsed.items():
        for clause in ruleset_parsed.clauses:
            unknown = sorted({r for t in terms(clause.node) for r in REGISTRY[t.kind].rulesets_named(t.spec)}
                             - set(rulesets))
            if unknown:
                raise RulesetError(f"{clause.where}: routed_to names no ruleset: {', '.join(unknown)}")
    texts = TextMatcher([*(p for r in parsed.values() for clause in r.clauses for p in phrases(clause.node)),
                         *(p for r in rulesets.values() for claim in r.routing.claims if claim.record_procedures
                           for entry in claim.record_procedures.any for p in entry.not_followed_by),
                         *(p for r in rulesets.values() for claim in r.routing.claims
                           for one in [claim, *claim.unless] for p in one.dosage_text),
                         *terminology.timing.continuous, *terminology.timing.infusion,
                         *terminology.timing.meal_words])
    words = terminology.result_words
    results = ResultMatcher([p for r in parsed.values() for clause in r.clauses for t in terms(clause.node)
                             for p in REGISTRY[t.kind].result_words(t.spec)],
                            words.forms, words.interpretation)
    knowledge = Knowledge(folder, terminology, valuesets, classifier, rulesets, parsed,
                          reads=frozenset(read_types(parsed.values())), texts=texts, results=results,
                          adjuncts=load_adjuncts(folder, terminology, rulesets.values()))
    knowledge.engine()  # every therapy's rules compiled at load, not in the first evaluation
    # The knowledge lives as long as the process: its objects (about 250,000 with every page's
    # ruleset) leave the collector's generations, which each full collection would otherwise walk
    # again; measured, the rules stage of an evaluation took twice as long with them tracked.
    gc.freeze()
    return knowledge


# Resource types read for every therapy; the others only when a rule reads them.
_ALWAYS = {"Patient", "Medication", "Condition", "MedicationRequest", "ServiceRequest"}


def read_types(parsed: Iterable[ParsedRuleset]) -> set[str]:
    types = set(_ALWAYS)
    for ruleset in parsed:
        for clause in ruleset.clauses:
            types |= {name for t in terms(clause.node) for name in REGISTRY[t.kind].types_read(t.spec)}
    return types


def check_routing(ruleset: Ruleset, terminology: Terminology, valuesets: ValueSets) -> None:
    """A routing block must claim something, with names the terminology and value sets know."""
    where = f"{ruleset.file}: line {ruleset.routing.line}: routing"
    if not ruleset.routing.claims and not ruleset.routing.services:
        raise RulesetError(f"{where}: claims nothing (no claims, no services)")
    unknown = [v for v in ruleset.routing.services if v not in valuesets.by_id]
    if unknown:
        raise RulesetError(f"{where}: services: unknown value set {', '.join(unknown)}")
    if ruleset.routing.criterion not in {c.id for c in ruleset.criteria}:
        raise RulesetError(f"{where}: criterion {ruleset.routing.criterion} is not a criterion of this ruleset")
    for number, claim in enumerate(ruleset.routing.claims, start=1):
        here = f"{ruleset.file}: line {claim.line}: routing claim {number}"
        if not (claim.classes or claim.ingredients):
            raise RulesetError(f"{here}: claims nothing: name drug classes or ingredients")
        problems = [f"unknown drug class {c}" for one in [claim, *claim.unless]
                    for c in [*one.classes, *one.not_classes, *one.only_classes] if c not in terminology.drug_classes]
        problems += [f"unknown ingredient or brand {n}" for one in [claim, *claim.unless]
                     for n in [*one.ingredients, *one.percent_at_most] if n not in terminology.names()]
        problems += [f"unknown route {r}" for one in [claim, *claim.unless] for r in one.routes
                     if r not in terminology.routes.classes]
        if claim.record_procedures is not None:
            problems += [f"unknown value set {v}" for p in claim.record_procedures.any for v in p.in_
                         if v not in valuesets.by_id]
        problems += [f"unknown value set {v}" for c in [*claim.context, *claim.not_context] for v in c.valuesets
                     if v not in valuesets.by_id]
        problems += ["a context names nothing" for c in [*claim.context, *claim.not_context]
                     if not (c.valuesets or c.no_reason)]
        if any(c.pregnancy for c in [*claim.context, *claim.not_context]) and terminology.pregnancy is None:
            problems.append("a pregnancy context needs terminology.yaml pregnancy")
        if problems:
            raise RulesetError(f"{here}: {'; '.join(problems)}")
        claim.bind_names(terminology.drug_classes)


@lru_cache(maxsize=4)
def _cached(folder: str) -> Knowledge:
    return load(Path(folder))


def cached(folder: Path) -> Knowledge:
    """A folder's rulesets, loaded and compiled once per process (durable-rules registers a
    ruleset name only once)."""
    return _cached(str(folder.resolve()))


def default() -> Knowledge:
    """The process's rulesets (CDS_RULESETS, or those shipped): for the top of a process only
    (the CLI, cds/web/app.py, cds.evaluate); below it a Knowledge is passed in."""
    return cached(rulesets_folder())
