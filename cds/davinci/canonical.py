"""The canonical URL of a therapy's DTR Questionnaire: one function, shared by the CRD
coverage information (its `questionnaire` element) and the DTR service that serves it.

Form: `{public base URL}/fhir/Questionnaire/hit-{therapy, lower case}|{ruleset version}`, the
version being the ruleset's declared `version` (a Questionnaire changes when its ruleset does).
"""

from __future__ import annotations

from ..ruleset import Ruleset

PREFIX = "hit-"


def questionnaire_id(therapy: str) -> str:
    """The Questionnaire's resource id: `hit-` and the therapy id in lower case."""
    return PREFIX + therapy.lower()


def questionnaire_url(base_url: str, therapy: str) -> str:
    """The canonical URL without version."""
    return f"{base_url.rstrip('/')}/fhir/Questionnaire/{questionnaire_id(therapy)}"


def questionnaire_canonical(base_url: str, ruleset: Ruleset) -> str:
    """The versioned canonical: `url|version`."""
    return f"{questionnaire_url(base_url, ruleset.therapy)}|{ruleset.version}"
