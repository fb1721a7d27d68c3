"""Where a term is parsed, and the checks every term's parser shares (messages name file and line)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..compare import OPERATORS
from ..ruleset import Ruleset, RulesetError
from ..terminology import Terminology, ValueSets
from ..texts import normal
from .nodes import Compare, Derived


@dataclass
class Scope:
    """What a condition may refer to where it stands."""

    ruleset: Ruleset
    terminology: Terminology
    valuesets: ValueSets
    criteria: list[str]       # criteria whose results may be read
    status: bool              # whether {status: ...} may be read
    where: str                # for error messages
    derived: dict[str, Derived] = field(default_factory=dict)

    def error(self, message: str) -> RulesetError:
        return RulesetError(f"{self.where}: {message}")

    def derive(self, kind: str, spec: dict[str, Any]) -> str:
        """The key of the derived fact a term reads: equal specs share one fact."""
        key = kind + ":" + hashlib.sha256(repr(sorted(spec.items())).encode()).hexdigest()[:12]
        self.derived.setdefault(key, Derived(key, kind, spec))
        return key


def as_list(value: Any, scope: Scope, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise scope.error(f"{key}: expects a list")
    return value


def names(spec: dict[str, Any], key: str, allowed: set[str], scope: Scope, term: str) -> list[str]:
    """A name or a list of names, each one of `allowed`."""
    value = spec[key]
    values = value if isinstance(value, list) else [value]
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        shown = sorted(allowed) if len(allowed) <= 30 else f"{len(allowed)} names"
        raise scope.error(f"{term}.{key}: unknown {unknown or 'empty list'}; allowed {shown}")
    return [str(v) for v in values]


def check_keys(spec: Any, allowed: set[str], scope: Scope, term: str, required: set[str] = set()) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise scope.error(f"{term}: expects a mapping")
    unknown = set(spec) - allowed
    if unknown:
        raise scope.error(f"{term}: unknown key(s) {sorted(unknown)}; allowed {sorted(allowed)}")
    missing = required - set(spec)
    if missing:
        raise scope.error(f"{term}: needs {', '.join(sorted(missing))}")
    return spec


def whole(spec: dict[str, Any], key: str, scope: Scope, term: str) -> int:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise scope.error(f"{term}.{key}: a whole number >= 0, got {value!r}")
    return value


def only_true(spec: dict[str, Any], key: str, scope: Scope, term: str) -> bool:
    if spec[key] is not True:
        raise scope.error(f"{term}.{key}: only true")
    return True


def compare(value: Any, scope: Scope, term: str, extra: set[str] = set()) -> tuple[Compare, dict[str, Any]]:
    """A comparison (`{lt: 16}`, `{ge: 2, le: 3}`) or `unknown`, and the extra keys it carries."""
    if value == "unknown":
        return Compare(unknown=True), {}
    if not isinstance(value, dict):
        raise scope.error(f"{term}: a comparison such as {{lt: 16}} or 'unknown'")
    check_keys(value, set(OPERATORS) | extra, scope, term)
    bounds = []
    for op in OPERATORS:
        if op in value:
            number = value[op]
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise scope.error(f"{term}.{op}: a number, got {number!r}")
            bounds.append((op, float(number)))
    if not bounds:
        raise scope.error(f"{term}: needs one of {', '.join(OPERATORS)}")
    return Compare(tuple(bounds)), {k: value[k] for k in extra if k in value}


def valuesets(spec: dict[str, Any], key: str, scope: Scope, term: str) -> list[str]:
    return names(spec, key, set(scope.valuesets.by_id), scope, term)


def known_sets(ids: list[str], scope: Scope, term: str) -> list[str]:
    return names({"sets": ids}, "sets", set(scope.valuesets.by_id), scope, term)


def drug_classes(spec: dict[str, Any], key: str, scope: Scope, term: str) -> list[str]:
    return names(spec, key, set(scope.terminology.drug_classes), scope, term)


def phrases(value: Any, scope: Scope, term: str) -> list[str]:
    """Phrases matched as words in free text (cds/texts.py): a non-empty list of strings with words."""
    values = value if isinstance(value, list) else [value]
    bad = [v for v in values if not isinstance(v, str) or not normal(v)]
    if bad or not values:
        raise scope.error(f"{term}: a list of phrases (text with letters or digits), got {bad or 'an empty list'}")
    return [str(v) for v in values]


def unit(extra: dict[str, Any], scope: Scope, term: str) -> str:
    """The unit values are compared in (UCUM), one `terminology.yaml` knows."""
    found = extra.get("unit")
    if found is None:
        raise scope.error(f"{term}: needs the unit the values are compared in (UCUM)")
    if not scope.terminology.units.knows(found):
        raise scope.error(f"{term}.unit: unknown unit {found!r}; known: {', '.join(scope.terminology.units.known)}")
    return str(found)
