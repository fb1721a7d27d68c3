"""What every endpoint of the web service shares, below CDS Hooks, Da Vinci and the review
pages: errors as OperationOutcomes (errors.py), reading JSON bodies (body.py), their OpenAPI
schemas (openapi.py), settings (settings.py), client authentication (security.py, access.py),
card feedback (feedback.py) and card ids (overrides.py). cds/web/app.py composes the endpoints.
"""
