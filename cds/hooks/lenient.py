"""Keep what is valid of a resource that fails R4 validation.

EHRs send resources that break the R4 schema in places (the specification's own order-sign
example has an STU3 dose). Failing the call for that would withhold decision support; leaving
the whole order out would be worse (no card for it). So the offending elements are removed and
reported; a criterion that needed one of them then reads it as missing, i.e. `unknown`.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from ..fhir import Problem, RawEntry, memo
from ..fhir.registry import BY_NAME

# Each round removes every element pydantic named; nested errors surface one level at a time.
_ROUNDS = 8


def salvage(entry: RawEntry) -> tuple[RawEntry, list[Problem], Resource | None]:
    """The entry with invalid elements removed (unchanged when valid), what was removed, and
    its validated model (None for a type the rules do not read, or one beyond salvage)."""
    kind = entry.resource["resourceType"]
    registered = BY_NAME.get(kind)
    if registered is None:
        return entry, [], None
    model = registered.model
    # The same elements cds.fhir.validate checks: the others are never read, so never pruned.
    elements = registered.elements
    resource = entry.resource
    problems: list[Problem] = []
    validated: Resource | None = None
    for _ in range(_ROUNDS):
        try:
            validated = memo.validate(model, {k: v for k, v in resource.items() if k in elements})
        except ValidationError as exc:
            if resource is entry.resource:
                resource = copy.deepcopy(resource)
            removed = [path for error in exc.errors() if (path := _remove(resource, error["loc"]))]
            if not removed:
                # Nothing left to remove (a required element is missing): build_records will
                # leave the resource out with its own warning.
                break
            problems.extend(
                Problem(source=entry.source, entry=entry.entry, element=f"{kind}.{path}", severity="warning",
                        message="not valid FHIR R4: element ignored")
                for path in removed
            )
            continue
        break
    if resource is entry.resource:
        return entry, problems, validated
    return dataclasses.replace(entry, resource=resource), problems, validated


def _remove(resource: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
    """Delete the element at loc (or its deepest existing parent key); its dotted path."""
    if not loc:
        return None
    node: Any = resource
    parents: list[tuple[Any, Any]] = []
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            parents.append((node, part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            parents.append((node, part))
            node = node[part]
        else:
            break
    # Remove at the deepest object key: removing a list item would shift the indexes of others.
    for depth in range(len(parents) - 1, -1, -1):
        container, key = parents[depth]
        if isinstance(container, dict) and key != "resourceType":
            del container[key]
            return ".".join(str(p) for p in loc[: depth + 1])
    return None
