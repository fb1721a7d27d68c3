"""Da Vinci DTR for the home infusion rulesets: each therapy's Questionnaire generated from its
ruleset, the `$questionnaire-package` operation, and completed QuestionnaireResponses read back
as record entries in the next assessment of their order.

The FHIR endpoints are in routes.py; what an answer records is data (rulesets/questionnaires/).
"""
