"""The rules engine: rulesets compiled into durable-rules, run one evaluation at a time."""

from .host import EngineError
from .run import CompiledRuleset, CriterionOutcome, Outcome

__all__ = ["CompiledRuleset", "CriterionOutcome", "EngineError", "Outcome"]
