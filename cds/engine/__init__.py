"""The rules engine: rulesets compiled into durable-rules, run one evaluation at a time."""

from .host import EngineError
from .run import CompiledRuleset, CriterionOutcome, Engine, Outcome

__all__ = ["CompiledRuleset", "CriterionOutcome", "Engine", "EngineError", "Outcome"]
