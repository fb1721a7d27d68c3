"""The audit trail: every evaluation recorded, chained by hashes, replayable; batch audits of
bundles, Bulk Data exports and claims; reports.

For the service:

    from cds.audit import AuditTrail, Source, assess_record, input_hash
    trail = AuditTrail.open()            # $CDS_AUDIT_URL, default sqlite:///cds-audit.sqlite
    facts, result = assess_record(record, as_of, therapies, order_refs)
    trail.append(source=Source(kind="hook", hook="order-sign", hook_instance=instance),
                 input_hash=input_hash(resources), assessment=result, facts=facts)
"""

from .canonical import input_hash
from .chain import Verification
from .models import AuditRecord, ClaimLine, Entry, Source
from .store import DEFAULT_URL, StoreError
from .trail import URL_VARIABLE, AuditTrail, default_url
from ..evaluate import assess_record

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
    "assess_record",
    "default_url",
    "input_hash",
]
