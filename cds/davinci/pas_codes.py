"""The payer data of a PAS response (rulesets/davinci/pas.yaml, cited there): the attachment
request code of a pended item's CommunicationRequests, the X12 reject reason of a business
error and what an example request's item carries. A deployment's own rulesets folder carries its own file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..yamlfile import safe_load

FILE = Path("davinci") / "pas.yaml"


class Coding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    system: str
    code: str
    display: str | None = None

    def fhir(self) -> dict[str, str]:
        return self.model_dump(exclude_none=True)


class ExampleItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    request_type: Coding = Field(alias="requestType")
    certification_type: Coding = Field(alias="certificationType")
    category: Coding
    location: Coding


class PasCodes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    sources: dict[str, str]
    questionnaire_attachment: str = Field(alias="questionnaire-attachment")
    reject_reason: Coding = Field(alias="reject-reason")
    example_item: ExampleItem = Field(alias="example-item")


@lru_cache(maxsize=4)
def pas_codes(rulesets_folder: Path) -> PasCodes:
    return PasCodes.model_validate(safe_load((rulesets_folder / FILE).read_text(encoding="utf-8")))
