"""Input problems as data: each names the file, the entry and the element."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

Severity = Literal["error", "warning"]


class Problem(BaseModel):
    """One thing wrong with the input, located as precisely as we can."""

    source: str
    entry: int | None = None
    element: str | None = None
    message: str
    severity: Severity = "error"

    def location(self) -> str:
        parts = [self.source]
        if self.entry is not None:
            parts.append(f"entry {self.entry}")
        if self.element:
            parts.append(self.element)
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"

    def to_issue(self) -> dict[str, Any]:
        """A FHIR OperationOutcome.issue for this problem."""
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": "invalid" if self.severity == "error" else "informational",
            "diagnostics": str(self),
        }
        expression = self.fhirpath()
        if expression:
            issue["expression"] = [expression]
        return issue

    def fhirpath(self) -> str | None:
        if self.element is None:
            return None
        if self.entry is None:
            return self.element
        # Inside a Bundle the path goes through the resource, not its type:
        # Bundle.entry[0].resource.birthDate, never ...resource.Patient.birthDate.
        head, _, rest = self.element.partition(".")
        path = rest if head[:1].isupper() and rest else self.element
        return f"Bundle.entry[{self.entry}].resource.{path}"


class InputError(Exception):
    """Every problem found in one input; raised instead of the first one alone."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def to_operation_outcome(self) -> dict[str, Any]:
        return operation_outcome(self.problems)


def operation_outcome(problems: list[Problem]) -> dict[str, Any]:
    """A FHIR R4 OperationOutcome listing the problems."""
    return {"resourceType": "OperationOutcome", "issue": [p.to_issue() for p in problems]}
