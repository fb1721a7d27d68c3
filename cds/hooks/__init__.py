"""CDS Hooks 2.0: discovery, patient-view / order-select / order-sign calls, feedback, cards,
and on the order hooks Da Vinci CRD coverage information as systemActions (coverage_info.py).

The endpoints (routes.py) are mounted on the service's app by cds/web/app.py.
"""
