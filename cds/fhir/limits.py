"""Caps on the work one input may ask for, each a setting with a default.

durable-rules failed (MessageObservedException after 71 s and 2.8 GB) near 45,000 facts in
one session; the caps keep every evaluation well below that, and refuse early, before the
costly validation, with a message that names the cap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import InputError, Problem

MAX_RESOURCES_VAR = "CDS_MAX_RESOURCES"
MAX_FACTS_VAR = "CDS_MAX_FACTS"
MAX_BYTES_VAR = "CDS_MAX_BYTES"
DEFAULT_MAX_RESOURCES = 25_000
DEFAULT_MAX_FACTS = 30_000
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


class LimitError(InputError):
    """The input asks for more work than a cap allows (CLI exit 2, CDS Hooks 413)."""


@dataclass(frozen=True)
class Limits:
    # Resources of one patient (one evaluation).
    max_resources: int = DEFAULT_MAX_RESOURCES
    # Facts asserted into one ruleset's session in one evaluation.
    max_facts: int = DEFAULT_MAX_FACTS
    # Bytes read from one input file.
    max_bytes: int = DEFAULT_MAX_BYTES


def limits() -> Limits:
    """The caps in force: $CDS_MAX_RESOURCES, $CDS_MAX_FACTS, $CDS_MAX_BYTES or the defaults."""
    return Limits(
        max_resources=_env_int(MAX_RESOURCES_VAR, DEFAULT_MAX_RESOURCES),
        max_facts=_env_int(MAX_FACTS_VAR, DEFAULT_MAX_FACTS),
        max_bytes=_env_int(MAX_BYTES_VAR, DEFAULT_MAX_BYTES),
    )


def over(source: str, what: str, count: int, cap: int, setting: str) -> LimitError:
    return LimitError([Problem(
        source=source,
        message=f"{count:,} {what}: over the cap of {cap:,} ({setting}); split the input or raise the cap",
    )])


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise InputError([Problem(source=name, message=f"must be a whole number, not {raw!r}")]) from None
    if value <= 0:
        raise InputError([Problem(source=name, message="must be positive")])
    return value
