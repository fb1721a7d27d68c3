"""The audit trail: every evaluation recorded, chained by hashes, replayable; batch audits of
bundles, Bulk Data exports and claims; reports.

For the service:

    from cds.audit import AuditTrail, Source, input_hash
    from cds.evaluator import Evaluator
    trail = AuditTrail.open()            # $CDS_AUDIT_URL, default sqlite:///cds-audit.sqlite
    evaluation = Evaluator(knowledge).assess(record, as_of, orders=orders)
    trail.append(source=Source(kind="hook", hook="order-sign", hook_instance=instance),
                 input_hash=input_hash(resources), assessment=evaluation.result, facts=evaluation.facts)
"""

from .canonical import input_hash
from .chain import Verification
from .models import AuditRecord, ClaimLine, Entry, Source
from .store import DEFAULT_URL, StoreError
from .trail import URL_VARIABLE, AuditTrail, default_url

__all__ = [
    "DEFAULT_URL",
    "URL_VARIABLE",
    "AuditRecord",
    "AuditTrail",
    "ClaimLine",
    "Entry",
    "Source",
    "StoreError",
    "Verification",
    "default_url",
    "input_hash",
]
