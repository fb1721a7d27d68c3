"""Validate a resource's elements against its R4B model, reusing complex values already validated.

Records repeat complex values: every Condition of a patient has the same `clinicalStatus` and
`subject`, a diagnosis's coding recurs in each of its entries. fhir.resources costs about 20 us
per complex value (every datatype is a model with its own validators), so a 20,000-Condition
record spent most of a second there. pydantic takes a model instance for a model field without
validating it again, so each distinct value is validated once and its instance reused.

A value is reused only where the same model class is expected (the cache key is the class and
the value's canonical JSON), and instances are never modified after validation (facts only read
them). The cache is bounded by count and by bytes, and emptied when full; validation errors are
exactly pydantic's, as a cached value is valid and a new one is validated in place.
"""

from __future__ import annotations

import types
import typing
from functools import cache
from typing import Any

import orjson
from fhir.resources.R4B.resource import Resource
from fhir_core.fhirabstractmodel import FHIRAbstractModel

# Distinct values kept per process; a record with more distinct values than this still
# validates correctly, only without reuse once the cache has been emptied.
MAX_ENTRIES = 50_000
# Bytes of canonical JSON kept (each entry holds its key and a model of about the same size):
# 80 calls each with a different 3 MB text once grew the server by 1.4 GB, kept for good.
MAX_BYTES = 16 * 1024 * 1024
# Larger values are validated in place and not kept: a value that big is rarely repeated, and
# one of them would take a good part of the budget.
MAX_VALUE_BYTES = 16 * 1024

_Model = type[FHIRAbstractModel]
_validated: dict[tuple[_Model, bytes], FHIRAbstractModel] = {}
_bytes = 0


def size() -> tuple[int, int]:
    """Values kept, and the bytes of their canonical JSON."""
    return len(_validated), _bytes


def validate(model: type[Resource], data: dict[str, Any]) -> Resource:
    """`model.model_validate(data)`, with known complex values passed as their instances."""
    prepared, fresh = _prepare(model, data)
    result = model.model_validate(prepared)
    _remember(fresh, result)
    return result


# A value validated in place: where it sits in the result, and its cache key.
_Fresh = list[tuple[tuple[str | int, ...], tuple[_Model, bytes]]]


def _prepare(model: _Model, data: dict[str, Any], path: tuple[str | int, ...] = ()) -> tuple[dict[str, Any], _Fresh]:
    prepared: dict[str, Any] = {}
    fresh: _Fresh = []
    fields = _fields(model)
    for key, value in data.items():
        target = fields.get(key)
        if target is None:
            prepared[key] = value
            continue
        name, klass = target
        if isinstance(value, dict):
            prepared[key] = _value(klass, value, (*path, name), fresh)
        elif isinstance(value, list):
            prepared[key] = [_value(klass, item, (*path, name, n), fresh) if isinstance(item, dict) else item
                             for n, item in enumerate(value)]
        else:
            prepared[key] = value
    return prepared, fresh


def _value(klass: _Model, value: dict[str, Any], path: tuple[str | int, ...], fresh: _Fresh) -> Any:
    key = (klass, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    known = _validated.get(key)
    if known is not None:
        return known
    inner, nested = _prepare(klass, value, path)
    fresh.extend(nested)
    if len(key[1]) <= MAX_VALUE_BYTES:
        fresh.append((path, key))
    return inner


def _remember(fresh: _Fresh, result: FHIRAbstractModel) -> None:
    global _bytes
    adding = sum(len(key[1]) for _, key in fresh)
    if len(_validated) + len(fresh) > MAX_ENTRIES or _bytes + adding > MAX_BYTES:
        _validated.clear()
        _bytes = 0
    for path, key in fresh:
        node: Any = result
        for part in path:
            node = node[part] if isinstance(part, int) else getattr(node, part)
        if _bytes + len(key[1]) > MAX_BYTES:
            return   # one call's own values over the budget: the rest are not kept
        if isinstance(node, key[0]) and key not in _validated:
            _validated[key] = node
            _bytes += len(key[1])


@cache
def _fields(model: _Model) -> dict[str, tuple[str, _Model]]:
    """JSON key -> (field name, model class) of the fields whose values are FHIR complex types."""
    found: dict[str, tuple[str, _Model]] = {}
    for name, field in model.model_fields.items():
        klass = _complex(field.annotation)
        if klass is not None:
            found[field.alias or name] = (name, klass)
    return found


def _complex(annotation: Any) -> _Model | None:
    """The model class behind `XType`, `XType | None` or `List[XType] | None`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.List):  # noqa: UP006 - typing's List too
        for arg in typing.get_args(annotation):
            if (klass := _complex(arg)) is not None:
                return klass
        return None
    get_model = getattr(annotation, "get_model_klass", None)
    if get_model is None:
        return None
    klass = get_model()
    if not isinstance(klass, type) or not issubclass(klass, FHIRAbstractModel):
        return None
    # A contained resource's type is told by its own resourceType, not by the field: left to pydantic.
    return None if issubclass(klass, Resource) else klass
