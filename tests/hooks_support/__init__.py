"""Helpers for the CDS Hooks tests: patients and requests, the card checker, a FHIR stub."""
