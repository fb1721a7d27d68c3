"""Terminology: value sets, ICD-10-CM hierarchy, medication classes and routes."""

from .drugs import Coding, Drug, DrugClassifier, Terminology
from .valuesets import ValueSetError, ValueSets

__all__ = ["Coding", "Drug", "DrugClassifier", "Terminology", "ValueSetError", "ValueSets"]
