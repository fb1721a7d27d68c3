"""ICD-10-CM codes: normalisation, existence and hierarchy (simple-icd-10-cm, April 2026)."""

from __future__ import annotations

import warnings
from functools import lru_cache

with warnings.catch_warnings():
    # simple_icd_10_cm imports pkg_resources, which warns on import.
    warnings.simplefilter("ignore")
    import simple_icd_10_cm as _icd

SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"


def normalise(code: str) -> str:
    """Upper case, with the dot where ICD-10-CM puts it (G893 -> G89.3)."""
    code = code.strip().upper()
    if "-" in code or "." in code or len(code) <= 3:
        return code
    return f"{code[:3]}.{code[3:]}"


def exists(code: str) -> bool:
    return bool(_icd.is_valid_item(normalise(code)))


@lru_cache(maxsize=65536)
def lineage(code: str) -> frozenset[str]:
    """The code and every group above it; empty when the code does not exist."""
    code = normalise(code)
    if not _icd.is_valid_item(code):
        return frozenset()
    return frozenset([code, *_icd.get_ancestors(code)])


def description(code: str) -> str | None:
    code = normalise(code)
    return _icd.get_description(code) if _icd.is_valid_item(code) else None
