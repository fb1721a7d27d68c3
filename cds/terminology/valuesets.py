"""FHIR ValueSet files from rulesets/valuesets/, loaded once, answering "which sets hold this code"."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import orjson
from typing import Any

from pydantic import BaseModel

from ..fhir.registry import BY_NAME
from . import icd10cm

SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# HCPCS Level II as FHIR records name it: terminology.hl7.org's URI (both schemes are seen in
# the wild) and the CMS Blue Button URI that Da Vinci CRD examples use.
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
# The URI CMS claims data (Blue Button) codes claim lines with.
HCPCS_BLUE_BUTTON = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"
HCPCS_SYSTEMS = frozenset({
    HCPCS,
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    HCPCS_BLUE_BUTTON,
})


class ValueSetError(Exception):
    """A value set file that cannot be used; names the file and the problem."""


class ValueSetInfo(BaseModel):
    id: str
    url: str
    version: str | None
    title: str
    publisher: str | None
    purpose: str | None
    file: str
    # (system, code, display) of enumerated concepts, and (system, code) of is-a groups.
    concepts: list[tuple[str, str, str | None]]
    groups: list[tuple[str, str]]


# Distinct codes remembered; bounded so that a record of made-up codes cannot grow it for ever.
_MAX_ANSWERS = 100_000


class ValueSets:
    """Every value set of a folder, indexed by code for fast membership."""

    def __init__(self, infos: list[ValueSetInfo]) -> None:
        self.by_id = {info.id: info for info in infos}
        self._exact: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._groups: dict[str, set[str]] = defaultdict(set)
        self._display: dict[tuple[str, str], str] = {}
        for info in infos:
            for system, code, display in info.concepts:
                key = (_system(system), _normal(system, code))
                self._exact[key].add(info.id)
                if display:
                    self._display.setdefault(key, display)
            for system, code in info.groups:
                self._groups[icd10cm.normalise(code)].add(info.id)
        # A record repeats its codes (every entry of a diagnosis): each is looked up once.
        self._answers: dict[tuple[str, str], frozenset[str]] = {}

    @classmethod
    def load(cls, folder: Path) -> "ValueSets":
        return cls([_load_file(path) for path in sorted(folder.glob("*.json"))])

    def memberships(self, system: str | None, code: str | None) -> frozenset[str]:
        """Ids of the value sets that hold this code (ICD-10-CM groups cover descendants)."""
        if not system or not code:
            return frozenset()
        known = self._answers.get((system, code))
        if known is not None:
            return known
        found = set(self._exact.get((_system(system), _normal(system, code)), ()))
        if system == icd10cm.SYSTEM:
            for ancestor in icd10cm.lineage(code):
                found |= self._groups.get(ancestor, set())
                found |= self._exact.get((system, ancestor), set())
        if len(self._answers) >= _MAX_ANSWERS:
            self._answers.clear()
        answer = self._answers[(system, code)] = frozenset(found)
        return answer

    def screen(self, resource: dict[str, Any]) -> bool:
        """False only for a well-formed resource of a screened type (cds/fhir/registry.py:
        Condition, Observation) whose every code is in no value set and exists (so it can
        neither match a rule nor earn a warning); True for anything else."""
        kind = BY_NAME.get(resource.get("resourceType"))  # type: ignore[arg-type]
        if kind is None or not kind.screened:
            return True
        concept = resource.get("code")
        codings = concept.get("coding") if isinstance(concept, dict) else None
        if not isinstance(codings, list) or not codings:
            return True
        # An Observation's components are observations of their own codes (criteria README
        # "Components"): a panel is read when one of its components' codes is in a value set.
        components = resource.get("component")
        if components is not None:
            if not isinstance(components, list):
                return True
            for component in components:
                inner = component.get("code") if isinstance(component, dict) else None
                inner_codings = inner.get("coding") if isinstance(inner, dict) else None
                if not isinstance(inner_codings, list):
                    return True
                codings = [*codings, *inner_codings]
        for coding in codings:
            if not isinstance(coding, dict):
                return True
            system, code = coding.get("system"), coding.get("code")
            if not isinstance(system, str) or not isinstance(code, str):
                return True
            if self.memberships(system, code):
                return True
            if system == icd10cm.SYSTEM and not icd10cm.exists(code):
                return True
        return False

    def display(self, system: str, code: str) -> str | None:
        """Our own display for a code, e.g. the RxNorm clinical drug name."""
        return self._display.get((_system(system), _normal(system, code)))

    def require(self, ids: list[str], where: str) -> None:
        missing = [i for i in ids if i not in self.by_id]
        if missing:
            raise ValueSetError(f"{where}: unknown value set(s) {', '.join(missing)}")


def _system(system: str) -> str:
    """One name per code system: HCPCS is written with or without https, or as the Blue Button
    URI (criteria README "Procedure"); a value set and a record naming it differently still meet.
    CPT, SNOMED CT and ICD-10-PCS (http://www.cms.gov/Medicare/Coding/ICD10) have one name."""
    return HCPCS if system in HCPCS_SYSTEMS else system


def _normal(system: str, code: str) -> str:
    return icd10cm.normalise(code) if system == icd10cm.SYSTEM else code.strip()


def _load_file(path: Path) -> ValueSetInfo:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ValueSetError(f"{path}: not valid JSON: {exc}") from exc
    if data.get("resourceType") != "ValueSet" or not data.get("id"):
        raise ValueSetError(f"{path}: not a FHIR ValueSet with an id")
    if data["id"] != path.stem:
        raise ValueSetError(f"{path}: id {data['id']!r} does not match the file name")
    if not (data.get("purpose") or data.get("publisher")):
        raise ValueSetError(f"{path}: names no source (publisher/purpose)")
    concepts: list[tuple[str, str, str | None]] = []
    groups: list[tuple[str, str]] = []
    for index, include in enumerate(data.get("compose", {}).get("include", [])):
        system = include.get("system", "")
        for concept in include.get("concept", []):
            _check_code(path, index, system, concept["code"])
            concepts.append((system, concept["code"], concept.get("display")))
        for flt in include.get("filter", []):
            if system != icd10cm.SYSTEM or flt.get("op") != "is-a":
                raise ValueSetError(f"{path}: include[{index}]: only ICD-10-CM is-a filters are supported")
            _check_code(path, index, system, flt["value"])
            groups.append((system, flt["value"]))
    return ValueSetInfo(
        id=data["id"], url=data.get("url", ""), version=data.get("version"),
        title=data.get("title") or data["id"], publisher=data.get("publisher"),
        purpose=data.get("purpose"), file=path.name, concepts=concepts, groups=groups,
    )


def _check_code(path: Path, index: int, system: str, code: str) -> None:
    if system == icd10cm.SYSTEM and not icd10cm.exists(code):
        raise ValueSetError(f"{path}: include[{index}]: {code} does not exist in ICD-10-CM")
