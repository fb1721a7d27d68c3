"""One StructureDefinition checker for the Da Vinci packs the tests hold responses to: CRD 2.0.1,
DTR 2.0.1 and PAS 2.2.1 (../shared/reference/davinci/*-json, read at test time, never copied).

A resource is checked against a profile's snapshot (its differential when it has none) as far as
the profiles used need: cardinality, fixed and pattern values, choice types, required bindings to
the package's ValueSets (expanded from the package's ValueSet and CodeSystem resources), slices
(discriminators value, pattern and type) and the profiles an element's type names (extensions,
Bundle entries), when the pack holds them. What the packs cannot settle is left unchecked rather
than guessed: a ValueSet not in the package, or one that includes a whole code system whose
content is not public (X12), checks the system only. Each must-support element met is recorded,
so that a test can compare what its responses showed with the test kit's must-support lists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

SHARED = Path(os.environ.get("CDS_SHARED", Path(__file__).resolve().parents[3] / "shared"))
DAVINCI = SHARED / "reference" / "davinci"
PACKS = (DAVINCI / "crd-2.0.1-json", DAVINCI / "dtr-2.0.1-json", DAVINCI / "pas" / "pas-2.2.1-json")


def _canonical(url: str) -> str:
    return url.split("|", 1)[0]


@dataclass
class Node:
    """An element of a profile and what is constrained below it, by child name and by slice name."""

    element: dict[str, Any] | None = None
    children: dict[str, Node] = field(default_factory=dict)
    slices: dict[str, Node] = field(default_factory=dict)


@dataclass(frozen=True)
class Codes:
    """A ValueSet expanded from the package: its (system, code) pairs and the systems it includes whole."""

    pairs: frozenset[tuple[str, str]]
    systems: frozenset[str]

    def has(self, system: Any, code: Any) -> bool:
        return (system, code) in self.pairs or system in self.systems

    def has_code(self, code: Any) -> bool:
        return bool(self.systems) or any(c == code for _, c in self.pairs)


class Pack:
    """The conformance resources of the packs, by canonical URL."""

    def __init__(self, folders: tuple[Path, ...]) -> None:
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        for folder in folders:
            for path in sorted(folder.glob("*.json")):
                resource = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(resource, dict) and isinstance(resource.get("url"), str):
                    self.resources[(resource.get("resourceType", ""), resource["url"])] = resource

    def definition(self, url: str) -> dict[str, Any] | None:
        return self.resources.get(("StructureDefinition", _canonical(url)))

    @lru_cache(maxsize=None)  # noqa: B019 - one Pack per process (pack() below)
    def tree(self, url: str) -> Node | None:
        sd = self.definition(url)
        if sd is None:
            return None
        elements = (sd.get("snapshot") or sd["differential"])["element"]
        root = Node()
        for element in elements:
            node = root
            for segment in element["id"].split(".")[1:]:
                name, _, slice_name = segment.partition(":")
                node = node.children.setdefault(name, Node())
                if slice_name:
                    node = node.slices.setdefault(slice_name, Node())
            node.element = element
        return root

    @lru_cache(maxsize=None)  # noqa: B019
    def codes(self, url: str) -> Codes | None:
        """The ValueSet's codes; None when the package does not hold it."""
        vs = self.resources.get(("ValueSet", _canonical(url)))
        if vs is None:
            return None
        pairs: set[tuple[str, str]] = set()
        systems: set[str] = set()
        for include in vs.get("compose", {}).get("include", []):
            for nested in include.get("valueSet", []):
                found = self.codes(nested)
                if found is not None:
                    pairs |= found.pairs
                    systems |= found.systems
            system = include.get("system")
            if system is None:
                continue
            if include.get("concept"):
                pairs |= {(system, c["code"]) for c in include["concept"]}
                continue
            cs = self.resources.get(("CodeSystem", system))
            if cs is not None and not include.get("filter") and cs.get("content") == "complete":
                pairs |= {(system, code) for code in _concepts(cs.get("concept", []))}
            else:
                # A whole code system the package does not hold (X12, HCPCS ...) or a filter:
                # the system is all that can be checked.
                systems.add(system)
        return Codes(frozenset(pairs), frozenset(systems))


def _concepts(concepts: list[dict[str, Any]]) -> list[str]:
    return [code for c in concepts for code in [c["code"], *_concepts(c.get("concept", []))]]


@lru_cache(maxsize=1)
def pack() -> Pack | None:
    """The packs; None when ../shared is absent (a user's clone): nothing is checked then."""
    if not all(folder.is_dir() for folder in PACKS):
        return None
    return Pack(PACKS)


def name_is_extension(path: str) -> bool:
    return path.rsplit(".", 1)[-1].split(":")[0] in ("extension", "modifierExtension")


def _type_key(code: str) -> str:
    return code[0].upper() + code[1:]


def _matches(value: Any, pattern: Any) -> bool:
    """FHIR pattern[x]: every element of the pattern is present in the value, lists by containment."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_matches(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_matches(v, p) for v in value) for p in pattern)
    return bool(value == pattern)


class Checker:
    """Checks resources against profiles of the packs; `problems` lists what failed, `seen` the ids
    of the must-support elements that had a value."""

    def __init__(self, found: Pack) -> None:
        self.pack = found
        self.problems: list[str] = []
        self.seen: set[str] = set()
        self._done: set[tuple[int, str]] = set()

    def resource(self, resource: Any, profile: str, where: str = "") -> None:
        # A resource may name its profile and be typed by it too (a Bundle entry): checked once.
        if (id(resource), _canonical(profile)) in self._done:
            return
        self._done.add((id(resource), _canonical(profile)))
        root = self.pack.tree(profile)
        sd = self.pack.definition(profile)
        if root is None or sd is None:
            self.problems.append(f"{where or profile}: the packs hold no profile {profile}")
            return
        if sd["kind"] == "resource" and (not isinstance(resource, dict) or resource.get("resourceType") != sd["type"]):
            self.problems.append(f"{where or sd['type']}: not a {sd['type']}")
            return
        self._content(root, resource, where or sd["type"])

    def _values(self, parent: dict[str, Any], name: str, node: Node, path: str) -> list[tuple[str, Any]]:
        if name.endswith("[x]"):
            stem = name[:-3]
            keys = [k for k in parent if k.startswith(stem) and k[len(stem):][:1].isupper()]
            allowed = {stem + _type_key(t["code"]) for t in (node.element or {}).get("type", [])}
            for key in keys:
                if allowed and key not in allowed:
                    self.problems.append(f"{path}.{key}: not one of the types {sorted(allowed)}")
            keys = keys[:1] if len(keys) > 1 and self._problem(f"{path}.{name}: more than one type given") else keys
            return [(f"{path}.{k}", parent[k]) for k in keys]
        value = parent.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return [(f"{path}.{name}[{n}]", v) for n, v in enumerate(value)]
        return [(f"{path}.{name}", value)]

    def _problem(self, message: str) -> bool:
        self.problems.append(message)
        return True

    def _cardinality(self, element: dict[str, Any] | None, count: int, path: str) -> None:
        if element is None:
            return
        low, high = element.get("min", 0), element.get("max", "*")
        if count < low:
            self.problems.append(f"{path}: {count} given, at least {low} required ({element['id']})")
        if high != "*" and count > int(high):
            self.problems.append(f"{path}: {count} given, at most {high} allowed ({element['id']})")

    def _element(self, node: Node, values: list[tuple[str, Any]], path: str) -> None:
        self._cardinality(node.element, len(values), path)
        if node.slices:
            claimed: set[int] = set()
            for name, part in node.slices.items():
                mine = [(n, pv) for n, pv in enumerate(values) if self._in_slice(node, part, *pv)]
                claimed |= {n for n, _ in mine}
                self._cardinality(part.element, len(mine), f"{path}:{name}")
                for _, (where, value) in mine:
                    self._content(part, value, where)
            rules = ((node.element or {}).get("slicing") or {}).get("rules", "open")
            if rules == "closed" and len(claimed) < len(values):
                self.problems.append(f"{path}: an element in no slice of a closed slicing")
            for n, (where, value) in enumerate(values):
                # A sub-extension named by a relative URL exists only as a slice of its extension.
                url = value.get("url") if isinstance(value, dict) and name_is_extension(path) else None
                if n not in claimed and isinstance(url, str) and ":" not in url:
                    self.problems.append(f"{where}: {url!r} is no sub-extension of this extension")
        for where, value in values:
            self._content(node, value, where)

    def _content(self, node: Node, value: Any, path: str) -> None:
        element = node.element or {}
        if element.get("mustSupport"):
            self.seen.add(element["id"])
        for key, expected in element.items():
            if key.startswith("fixed") and value != expected:
                self.problems.append(f"{path}: must be {expected!r} ({element['id']})")
            elif key.startswith("pattern") and not _matches(value, expected):
                self.problems.append(f"{path}: must match {expected!r} ({element['id']})")
        binding = element.get("binding") or {}
        if binding.get("strength") == "required" and "valueSet" in binding:
            self._binding(value, binding["valueSet"], path)
        if not isinstance(value, dict):
            return
        for kind in element.get("type", []):
            self._one_of([p for p in kind.get("profile", []) if self.pack.definition(p) is not None], value, path)
        declared = (value.get("meta") or {}).get("profile") if "resourceType" in value else None
        for profile in declared if isinstance(declared, list) else []:
            if isinstance(profile, str) and self.pack.definition(profile) is not None:
                self.resource(value, profile, path)
        for name, child in node.children.items():
            self._element(child, self._values(value, name, child, path), f"{path}.{name}")

    def _one_of(self, profiles: list[str], value: Any, path: str) -> None:
        """A type naming several profiles: the value conforms to one of them (FHIR's rule)."""
        if len(profiles) <= 1:
            for profile in profiles:
                self.resource(value, profile, path)
            return
        tried = []
        for profile in profiles:
            trial = Checker(self.pack)
            trial.resource(value, profile, path)
            if not trial.problems:
                self.seen |= trial.seen
                return
            tried.append(trial)
        self.problems.append(f"{path}: conforms to none of {profiles}")
        self.problems += tried[0].problems

    def _binding(self, value: Any, url: str, path: str) -> None:
        codes = self.pack.codes(url)
        if codes is None:
            return  # a ValueSet of the base specification or another package: not in the packs
        if isinstance(value, str):
            ok = codes.has_code(value)
        elif isinstance(value, dict) and "coding" in value:
            ok = any(isinstance(c, dict) and codes.has(c.get("system"), c.get("code")) for c in value["coding"])
        elif isinstance(value, dict):
            ok = codes.has(value.get("system"), value.get("code"))
        else:
            ok = False
        if not ok:
            self.problems.append(f"{path}: {value!r} is not in the required value set {url}")

    def _in_slice(self, sliced: Node, part: Node, path: str, value: Any) -> bool:
        slicing = (sliced.element or {}).get("slicing") or {}
        discriminators = slicing.get("discriminator", [])
        return bool(discriminators) and all(self._discriminates(d, part, path, value) for d in discriminators)

    def _discriminates(self, discriminator: dict[str, str], part: Node, path: str, value: Any) -> bool:
        kind, where = discriminator["type"], discriminator["path"]
        if kind == "type" and where == "$this" and part.element is not None and part.element["path"].endswith("[x]"):
            # A choice type sliced by type (servicedDate, servicedPeriod): the JSON key tells it.
            stem = part.element["path"].rsplit(".", 1)[-1][:-3]
            return path.rsplit(".", 1)[-1] in {stem + _type_key(t["code"]) for t in part.element.get("type", [])}
        actual = value
        target: Node | None = part
        for step in ([] if where == "$this" else where.split(".")):
            actual = actual.get(step) if isinstance(actual, dict) else None
            target = target.children.get(step) if target is not None else None
        element = (target.element if target is not None else None) or {}
        if kind == "type":
            types = {t["code"] for t in element.get("type", [])}
            return isinstance(actual, dict) and actual.get("resourceType") in types
        if kind in ("value", "pattern"):
            expected = next((v for k, v in element.items() if k.startswith(("fixed", "pattern"))), None)
            if expected is None and where == "url":
                # An extension slice names its extension by the profile of its type.
                profiles = [p for t in (part.element or {}).get("type", []) for p in t.get("profile", [])]
                expected = _canonical(profiles[0]) if profiles else None
            return expected is not None and _matches(actual, expected)
        return False


def problems(resource: Any, profile: str, seen: set[str] | None = None) -> list[str]:
    """What keeps the resource from conforming to the profile ([] when ../shared is absent)."""
    found = pack()
    if found is None:
        return []
    checker = Checker(found)
    checker.resource(resource, profile)
    if seen is not None:
        seen |= checker.seen
    return checker.problems


def check(resource: Any, profile: str, seen: set[str] | None = None) -> None:
    """Fails with every problem of the resource against the profile."""
    found = problems(resource, profile, seen)
    assert not found, f"not a conformant {profile.rsplit('/', 1)[-1]}:\n" + "\n".join(found)
