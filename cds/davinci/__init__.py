"""Da Vinci CRD and DTR for the home infusion rulesets.

CRD, the coverage information the order hooks return as systemActions: coverage.py reads the
patient's Coverage resources, policy.py the payer policy (prior authorization per therapy, data
in rulesets/davinci/), crd.py builds the ext-coverage-information extension and the
systemAction, canonical.py names each therapy's DTR Questionnaire.

DTR: each therapy's Questionnaire generated from its ruleset (questionnaire.py, items.py), the
`$questionnaire-package` operation (operation.py, package.py), and completed
QuestionnaireResponses (store.py) read back as record entries in the next assessment of their
order (answers.py). The FHIR endpoints are in routes.py; what an answer records is data
(rulesets/questionnaires/).

PAS: `Claim/$submit` decides each item from the same assessment (pas.py, pas_request.py, x12.py);
every request is kept (pas_store.py) and decided again by DTR answers or updates (pas_pended.py),
Subscriptions hear of pended requests decided (pas_subscription.py), `Claim/$inquire` finds kept
requests (pas_inquire.py); their endpoints are in pas_routes.py.
"""
