"""Canonical JSON and its sha256: the same data always gives the same bytes and hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def canonical(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the form every hash in the trail is taken over."""
    return orjson.dumps(value, option=_OPTIONS)


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def input_hash(resources: Iterable[dict[str, Any]]) -> str:
    """The hash of one input, independent of how it was packaged (Bundle, NDJSON, order).

    The service hashes the resources it evaluated (prefetch and draft orders); batch and CLI
    hash the resources of one patient that the rules and the claim audit read.
    """
    parts = sorted(canonical(r) for r in resources)
    return sha256(b"\n".join(parts))
