"""Canonical URLs and profiles of the Da Vinci DTR 2.0.1 artifacts this service emits
(../shared/reference/davinci/dtr-2.0.1-json, the version the Inferno DTR kit validates)."""

from __future__ import annotations

DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition"
STD_QUESTIONNAIRE = f"{DTR}/dtr-std-questionnaire"
QUESTIONNAIRE_RESPONSE = f"{DTR}/dtr-questionnaireresponse"
PACKAGE_BUNDLE = f"{DTR}/DTR-QPackageBundle"
OUTPUT_PARAMETERS = f"{DTR}/dtr-qpackage-output-parameters"
QR_CONTEXT = f"{DTR}/qr-context"
INTENDED_USE = f"{DTR}/intendedUse"
INFORMATION_ORIGIN = f"{DTR}/information-origin"
OPERATION = "http://hl7.org/fhir/us/davinci-dtr/OperationDefinition/questionnaire-package"
# 2.0.1 output profile: parameter names fixed by pattern (2.2.0 renamed them packagebundle/outcome).
PACKAGE_PARAMETER = "PackageBundle"
OUTCOME_PARAMETER = "operationOutcome"
# CRD 2.0.1 DocReason (bound to intendedUse), codes of CRD's temp CodeSystem: the documentation
# goes with the prior authorization, or (no prior authorization needed) with the claim.
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
INTENDED_USES = {"withpa": "Include in prior authorization", "withclaim": "Include with claim"}
UNIT_OPTION = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption"
UCUM = "http://unitsofmeasure.org"
# Where the draft QuestionnaireResponse names the CRD coverage-assertion-id it was built from.
ASSERTION_SYSTEM = "urn:home-infusion-cds:coverage-assertion-id"
