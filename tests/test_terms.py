"""The term registry (cds/conditions): every kind of condition term is one class with every part
and its rows of the reference table (rulesets/terms.yaml), the README's table is written from
them, their examples parse, and no module outside the registry keeps a table of term kinds."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from cds.catalog.words import describe
from cds.conditions import BY_KEY, REGISTRY, Scope, TermKind, load_reference, parse
from cds.engine.compile import dnf
from cds.knowledge import default
from cds.ruleset import RulesetError
from tools import term_table

PACKAGE = Path(__file__).resolve().parent.parent / "cds"
KNOWLEDGE = default()
KINDS = sorted(REGISTRY)
ROWS = load_reference(term_table.ROWS)


def _overrides(kind: TermKind, method: str) -> bool:
    return getattr(type(kind), method) is not getattr(TermKind, method)


@pytest.mark.parametrize("name", KINDS)
def test_every_term_kind_has_every_part(name: str) -> None:
    kind = REGISTRY[name]
    assert kind.kind == name
    assert issubclass(kind.spec, BaseModel), "a typed spec of the keys it takes"
    assert kind.fact, "the fact type its pattern matches"
    for part in ("parse", "pattern", "words"):
        assert _overrides(kind, part), f"{name} lacks {part}"
    # A kind matching derived facts computes them; no other kind does.
    assert _overrides(kind, "compute") == (kind.fact == "derived")
    assert ROWS[name], f"{name} has no row in the reference table (rulesets/terms.yaml)"
    for row in ROWS[name]:
        assert row.syntax and row.holds and _examples(row.example), f"{name}: a row needs syntax, text and examples"


def test_the_readme_term_table_is_the_registrys() -> None:
    text = term_table.README.read_text(encoding="utf-8")
    assert term_table.current(text) == text, "run python -m tools.term_table"
    assert term_table.main(["--check"]) == 0


def _examples(markdown: str) -> list[Any]:
    """The conditions a row's example cell writes: each `{...}` code span naming a term key."""
    found = []
    for span in re.findall(r"`(\{[^`]*\})`", markdown):
        loaded = yaml.safe_load(span)
        if isinstance(loaded, dict) and len(loaded) == 1 and (next(iter(loaded)) in BY_KEY
                                                               or next(iter(loaded)) in ("all", "any", "none")):
            found.append(loaded)
    return found


def _scopes() -> list[Scope]:
    return [Scope(ruleset, KNOWLEDGE.terminology, KNOWLEDGE.valuesets, [c.id for c in ruleset.criteria], True,
                  f"{ruleset.therapy}.yaml: line 1")
            for ruleset in KNOWLEDGE.rulesets.values()]


EXAMPLES = [(name, example) for name, rows in ROWS.items() for row in rows for example in _examples(row.example)]


def test_a_kind_without_rows_or_rows_for_no_kind_is_an_error(tmp_path: Path) -> None:
    rows = yaml.safe_load(term_table.ROWS.read_text(encoding="utf-8"))
    rows["pulse"] = rows.pop("immunization")
    broken = tmp_path / "terms.yaml"
    broken.write_text(yaml.safe_dump(rows), encoding="utf-8")
    with pytest.raises(RulesetError, match=r"without rows \['immunization'\], rows for no term kind \['pulse'\]"):
        load_reference(broken)


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EXAMPLES)])
def test_every_worked_example_parses_compiles_and_reads_in_words(name: str, example: Any) -> None:
    """An example names value sets, classes, courses and criteria of the bundled rulesets: it is
    parsed in the scope of the first ruleset that knows them all, compiled and said in words."""
    problems = []
    for scope in _scopes():
        try:
            node = parse(example, scope)
        except RulesetError as exc:
            problems.append(str(exc))
            continue
        assert dnf(node, scope.ruleset.therapy), "compiles to at least one rule"
        assert describe(node).text
        return
    pytest.fail(f"{example} parses in no bundled ruleset's scope: {problems[:3]}")


@pytest.mark.parametrize("key", sorted(k for k, kind in BY_KEY.items() if kind.spec.model_fields.keys() - {"root"}))
def test_an_unknown_key_or_a_wrong_type_is_a_load_error_naming_the_place(key: str) -> None:
    scope = _scopes()[0]
    with pytest.raises(RulesetError, match=rf"^S\d+\.yaml: line 1: {key}: unknown key\(s\) \['bogus'\]"):
        parse({key: {"bogus": 1}}, scope)
    kind = BY_KEY[key]
    field = next(iter(kind.spec.model_fields.values()))
    written = field.alias or next(iter(kind.spec.model_fields))
    with pytest.raises(RulesetError, match=rf"^S\d+\.yaml: line 1: {key}"):
        parse({key: {written: {"nested": object()}}}, scope)


# The names a term (or a derived spec) goes by where a module reads one.
_TERM_NAMES = {"t", "term", "node", "spec", "derived", "inner"}


def _term_kind_tables(path: Path) -> list[str]:
    """`term.kind == "<term kind>"`, `t.kind in (<term kinds>)` or a dict keyed by term kinds."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "kind"
                and isinstance(node.left.value, ast.Name) and node.left.value.id in _TERM_NAMES):
            literals = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant)]
            if any(value in REGISTRY for value in literals):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if sum(k in REGISTRY for k in keys) >= 3:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_module_outside_the_registry_keeps_a_table_of_term_kinds() -> None:
    outside = [p for p in sorted(PACKAGE.rglob("*.py")) if PACKAGE / "conditions" not in p.parents]
    assert [hit for path in outside for hit in _term_kind_tables(path)] == []
