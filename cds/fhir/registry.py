"""The resource types the rules read: one registry for validation, grouping and prefetch.

Each type names its R4B model, the elements the facts read (only those are validated), the
list of a PatientRecord it goes into, and the CDS Hooks prefetch template that fetches it.
Nothing else in the package lists resource types.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest


@dataclass(frozen=True)
class ResourceType:
    name: str
    model: type[Resource]
    # The elements cds/facts.py and cds/fhir/record.py read (and those R4B requires).
    elements: frozenset[str]
    # The PatientRecord list it is grouped into (None: Patient and Medication, kept apart).
    record_list: str | None
    # The CDS Hooks prefetch key and template (only context.patientId is a token: the hook
    # library forbids draftOrders and selections as prefetch tokens).
    prefetch_key: str | None = None
    prefetch: str | None = None
    # Passed over unvalidated unless one of its codes is in a value set the rules read.
    screened: bool = False
    # The element naming the patient (Immunization names it `patient`, the others `subject`).
    subject: str = "subject"


REGISTRY: tuple[ResourceType, ...] = (
    ResourceType("Patient", Patient, frozenset({"resourceType", "id", "birthDate", "gender"}), None,
                 "patient", "Patient/{{context.patientId}}"),
    ResourceType("Condition", Condition,
                 frozenset({"resourceType", "id", "clinicalStatus", "verificationStatus", "code",
                            "subject", "onsetDateTime", "onsetPeriod", "onsetAge", "recordedDate"}),
                 "conditions", "conditions", "Condition?patient={{context.patientId}}", screened=True),
    ResourceType("MedicationRequest", MedicationRequest,
                 frozenset({"resourceType", "id", "status", "statusReason", "intent",
                            "medicationCodeableConcept", "medicationReference", "subject",
                            "authoredOn", "dosageInstruction", "dispenseRequest", "contained",
                            "groupIdentifier", "basedOn",
                            # Why it is ordered: a page may claim an order only for some reasons.
                            "reasonCode", "reasonReference"}),
                 "medication_requests", "medications", "MedicationRequest?patient={{context.patientId}}"),
    # ingredient.strength and amount: the strength and container (criteria README "Strength, volume and dose").
    ResourceType("Medication", Medication, frozenset({"resourceType", "id", "code", "ingredient", "amount"}), None),
    ResourceType("ServiceRequest", ServiceRequest,
                 frozenset({"resourceType", "id", "status", "intent", "code", "subject",
                            "authoredOn", "occurrenceDateTime", "occurrencePeriod", "quantityQuantity"}),
                 "service_requests"),
    ResourceType("Observation", Observation,
                 frozenset({"resourceType", "id", "status", "code", "subject", "effectiveDateTime",
                            "effectivePeriod", "issued", "valueQuantity", "valueCodeableConcept",
                            "interpretation", "referenceRange", "valueString", "method",
                            # Each component is an observation of its own code (criteria README).
                            "component",
                            # Read for their presence only: an Observation with no value is not used.
                            "valueBoolean", "valueInteger", "valueRange", "valueRatio", "valueSampledData",
                            "valueTime", "valueDateTime", "valuePeriod"}),
                 "observations", "observations", "Observation?patient={{context.patientId}}", screened=True),
    ResourceType("Procedure", Procedure,
                 frozenset({"resourceType", "id", "status", "code", "subject", "performedDateTime",
                            "performedPeriod"}),
                 "procedures", "procedures", "Procedure?patient={{context.patientId}}"),
    # Live vaccines (criteria README "Immunization"): read only when a rule reads them.
    ResourceType("Immunization", Immunization,
                 frozenset({"resourceType", "id", "status", "vaccineCode", "patient", "occurrenceDateTime",
                            "occurrenceString"}),
                 "immunizations", "immunizations", "Immunization?patient={{context.patientId}}",
                 subject="patient"),
)

BY_NAME: dict[str, ResourceType] = {t.name: t for t in REGISTRY}

