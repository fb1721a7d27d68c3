"""FHIR input: read documents, validate the resources the rules read, group by patient."""

from .errors import InputError, Problem, operation_outcome
from .read import RawEntry, expand_paths, read_document, read_file

__all__ = ["InputError", "Problem", "RawEntry", "expand_paths", "operation_outcome", "read_document", "read_file"]
