"""Da Vinci CRD: the coverage information the order hooks return as systemActions.

coverage.py reads the patient's Coverage resources, policy.py the payer policy (prior
authorization per therapy, data in rulesets/davinci/), crd.py builds the ext-coverage-information
extension and the systemAction, canonical.py names each therapy's DTR Questionnaire.
"""
