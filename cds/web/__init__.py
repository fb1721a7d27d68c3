"""The web service: the CDS Hooks endpoints, review pages and criteria catalog on one app
(what they share is in cds/service), and `cds serve`.

The web stack is imported on first use, so that `cds evaluate` does not pay for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AuthSettings", "Settings", "TrustedIssuer", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app
        return create_app
    if name in {"AuthSettings", "Settings", "TrustedIssuer"}:
        from ..service import settings
        return getattr(settings, name)
    raise AttributeError(name)
