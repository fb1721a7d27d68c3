"""Clinical decision support for home infusion therapy (the HCPCS per-diem S-codes).

FHIR R4 in; a durable-rules engine checks indications and eligibility; assessments out.
"""

from .evaluate import evaluate, evaluate_all
from .fhir import InputError, Problem
from .models import (AlternativeResult, Assessment, CriterionResult, DocumentationItem,
                     FindingResult, PatientAssessment)
from .ruleset import RulesetError

__all__ = [
    "AlternativeResult",
    "Assessment",
    "CriterionResult",
    "DocumentationItem",
    "FindingResult",
    "InputError",
    "PatientAssessment",
    "Problem",
    "RulesetError",
    "evaluate",
    "evaluate_all",
]
