"""The rules engine: rulesets compiled into durable-rules, run one evaluation at a time."""

from .host import EngineError
from .run import CriterionOutcome, Engine, Matches, Outcome, Shards

__all__ = ["CriterionOutcome", "Engine", "EngineError", "Matches", "Outcome", "Shards"]
