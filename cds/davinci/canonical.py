"""The canonical URL of a therapy's DTR Questionnaire, shared by CRD (the coverage-information
`questionnaire` sub-extension) and DTR (the Questionnaire's own `url`)."""

from __future__ import annotations

PREFIX = "hit-"


def questionnaire_id(therapy: str) -> str:
    """The Questionnaire's logical id: 'hit-' (home infusion therapy) and the therapy, lower-case."""
    return f"{PREFIX}{therapy.lower()}"


def questionnaire_url(base_url: str, therapy: str) -> str:
    """{public base url}/fhir/Questionnaire/hit-<therapy lower-case>; version it with the ruleset's
    declared version (`url|version`)."""
    return f"{base_url.rstrip('/')}/fhir/Questionnaire/{questionnaire_id(therapy)}"
