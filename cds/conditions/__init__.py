"""The condition language of the rulesets: one class per term kind (kinds/), in one registry.

Each kind holds its typed spec, its parsing and load errors (file and line), its durable-rules
pattern, the fact it derives from the record (if any) and its words in the catalog;
the rows of the reference table of rulesets/README.md are data (rulesets/terms.yaml; the table is
written by tools/term_table.py).
"""

from . import kinds  # noqa: F401  (registers every kind)
from .kind import BY_KEY, REGISTRY, Spec, TermKind
from .nodes import All, Any_, Compare, Derived, Node, Not, Term, terms
from .reference import Reference, load_reference
from .parse import DATA_TERMS, TERMS, Clause, ParsedRuleset, order_criteria, parse, parse_ruleset, phrases
from .scope import Scope
from .words import Words

__all__ = ["BY_KEY", "DATA_TERMS", "REGISTRY", "TERMS", "All", "Any_", "Clause", "Compare", "Derived",
           "Node", "Not", "ParsedRuleset", "Reference", "Scope", "Spec", "Term", "TermKind", "Words",
           "load_reference", "order_criteria", "parse", "parse_ruleset", "phrases", "terms"]
