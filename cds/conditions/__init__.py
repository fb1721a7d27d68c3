"""The condition language of the rulesets: one class per term kind (kinds/), in one registry.

Each kind holds its typed spec, its parsing and load errors (file and line), its durable-rules
pattern, the fact it derives from the record (if any), its words in the catalog and its row in
the reference table of rulesets/README.md (generated: tools/term_table.py).
"""

from . import kinds  # noqa: F401  (registers every kind)
from .kind import BY_KEY, REGISTRY, Reference, Spec, TermKind, kind_of
from .nodes import All, Any_, Compare, Derived, Node, Not, Term, terms
from .parse import DATA_TERMS, TERMS, Clause, ParsedRuleset, order_criteria, parse, parse_ruleset, phrases
from .scope import Scope
from .words import Words

# Every kind a parsed term may have (keys, and kinds reached through another key).
KINDS = frozenset(REGISTRY)

__all__ = ["BY_KEY", "DATA_TERMS", "KINDS", "REGISTRY", "TERMS", "All", "Any_", "Clause", "Compare", "Derived",
           "Node", "Not", "ParsedRuleset", "Reference", "Scope", "Spec", "Term", "TermKind", "Words", "kind_of",
           "order_criteria", "parse", "parse_ruleset", "phrases", "terms"]
